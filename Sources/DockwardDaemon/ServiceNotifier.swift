import DockwardJournal

/// The service manager's side of the daemon (sd_notify), as a seam: systemd
/// in the daemon, a recorder in tests.
public protocol ServiceNotifier: AnyObject, Sendable {
    /// Half of `WatchdogSec` when systemd's watchdog is on, else nil.
    var watchdogPingInterval: Int64? { get }
    func ready(status: String)
    func status(_ text: String)
    func watchdog()
    func reloading()
    func stopping()
}

extension SystemdNotifier: ServiceNotifier {}
