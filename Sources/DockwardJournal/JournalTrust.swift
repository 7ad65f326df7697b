/// Which journal entries are dockward's own. Any local user can write an
/// entry with `SYSLOG_IDENTIFIER=dockward` and `DOCKWARD_ALERT=socket-mount`
/// (`logger --journald` as nobody does it), so the identifier proves
/// nothing. journald itself stamps the fields that begin with an underscore
/// from the sender's credentials and cgroup; a client cannot set them. An
/// entry is dockward's when journald says it came from the service
/// (`_SYSTEMD_UNIT=dockward.service`: only root can put a process into a
/// system unit, and the daemon never forks) or from root (`_UID=0`: the
/// daemon run by hand, or in tests; root could write anything anyway).
public enum JournalTrust {
    public static let serviceUnit = "dockward.service"

    /// Each pair alone vouches for an entry (ORed), on top of the identifier.
    public static let trustedWriters: [(field: String, value: String)] = [
        ("_SYSTEMD_UNIT", serviceUnit),
        ("_UID", "0"),
    ]

    /// The trusted fields an entry's writer is shown by.
    public static let writerFields = ["_UID", "_COMM", "_EXE", "_PID", "_SYSTEMD_UNIT", "_TRANSPORT", "_HOSTNAME"]

    /// True when journald's own fields say dockward wrote the entry.
    public static func isTrusted(_ fields: [String: String]) -> Bool {
        trustedWriters.contains { fields[$0.field] == $0.value }
    }

    /// The same match for journalctl, as the README, the catalog and the
    /// forwarder write it: `+` ORs the two sides.
    public static var journalctlMatch: String {
        trustedWriters.map { "SYSLOG_IDENTIFIER=\(JournalSink.identifier) \($0.field)=\($0.value)" }
            .joined(separator: " + ")
    }
}
