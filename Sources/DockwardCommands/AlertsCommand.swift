import ArgumentParser
import DockwardCore
import DockwardJournal
import DockwardSystem
#if canImport(Glibc)
import Glibc
#endif

/// `dockward alerts`: dockward's own alerts, read back from the journal
/// through libsystemd (never journalctl).
public struct Alerts: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Review dockward's alerts in the journal.",
        discussion: """
            Reads the entries dockward wrote that carry DOCKWARD_ALERT; with --all, also the daemon's \
            lifecycle entries (DOCKWARD_EVENT). An entry counts as dockward's only when journald's own \
            fields, which no client can set, say so: SYSLOG_IDENTIFIER=dockward together with \
            _SYSTEMD_UNIT=dockward.service or _UID=0. Any user can write an entry that merely claims \
            the identifier; those are never shown as alerts (--untrusted lists them, marked). Filters \
            are matched by libsystemd against the journal's indexes.

            Examples:
              dockward alerts --since 1h
              dockward alerts --container web --priority err
              dockward alerts --kind pids-exhausted --json
              dockward alerts --summary --since yesterday
              dockward alerts --follow
            """)

    @Option(name: [.customShort("S"), .long], help: ArgumentHelp(
        "Only entries since then: 1h, 30m, 2d, today, yesterday, '2026-11-29 10:00[:ss]' (local time) or ISO 8601.",
        valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only this container (name, short id or full id).", valueName: "name"))
    var container: String?

    @Option(help: ArgumentHelp("Only containers of pods in this Kubernetes namespace.", valueName: "namespace"))
    var namespace: String?

    @Option(help: ArgumentHelp("Only this Kubernetes pod's containers: pod, or namespace/pod.", valueName: "pod"))
    var pod: String?

    @Option(help: ArgumentHelp(
        "Only this kind: \(EntryKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: String?

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp(
        "This priority and more severe ones: emerg, alert, crit, err, warning, notice, info, debug, or 0-7.",
        valueName: "level"))
    var priority: String?

    @Flag(name: [.customShort("f"), .long], help: "Keep running and print new entries as they are written (Ctrl-C stops).")
    var follow = false

    @Flag(help: "One JSON object per line.")
    var json = false

    @Flag(help: "Counts per container and kind, worst priority first.")
    var summary = false

    @Flag(help: "Also show the daemon's lifecycle entries (start, stop, config reloads, engine outages).")
    var all = false

    @Flag(help: ArgumentHelp(
        "Also list entries that claim to be dockward's but that journald says another process wrote, marked UNTRUSTED with their writer (_UID, _COMM).",
        discussion: "Without it they are never shown; --summary always counts them on a line of their own."))
    var untrusted = false

    @Option(name: [.customShort("D"), .long], help: ArgumentHelp("Read the journal files in this directory (like journalctl -D).", valueName: "path"))
    var directory: String?

    public init() {}

    public func validate() throws {
        if let s = since {
            do { _ = try SinceParser.parse(s) } catch { throw ValidationError("\(error)") }
        }
        if let k = kind, EntryKind(rawValue: k) == nil {
            throw ValidationError("unknown --kind '\(k)'; valid kinds: "
                + EntryKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let p = priority, AlertFilter.parsePriority(p) == nil {
            throw ValidationError("unknown --priority '\(p)'; use emerg, alert, crit, err, warning, notice, info, debug, or 0-7")
        }
        if summary && follow {
            throw ValidationError("--summary and --follow cannot be combined")
        }
        if let c = container, c.isEmpty {
            throw ValidationError("--container needs a name or id")
        }
        if let n = namespace, n.isEmpty || n.contains("/") {
            throw ValidationError("--namespace needs a namespace's name")
        }
        if let p = pod {
            let parts = p.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts.contains(where: \.isEmpty) else {
                throw ValidationError("--pod needs a pod's name, or namespace/pod")
            }
            if parts.count == 2, let n = namespace, n != parts[0] {
                throw ValidationError("--pod \(p) names another namespace than --namespace \(n)")
            }
        }
    }

    /// `--pod namespace/pod` or `--pod pod`.
    var podParts: (namespace: String?, pod: String?) {
        guard let pod else { return (nil, nil) }
        guard let slash = pod.firstIndex(of: "/") else { return (nil, pod) }
        return (String(pod[..<slash]), String(pod[pod.index(after: slash)...]))
    }

    public func run() throws {
        // The summary always looks at forged entries too, to count them on a
        // line of their own; the other views read them only when asked.
        let filter = AlertFilter(
            since: try since.map { try SinceParser.parse($0) },
            container: container, namespace: namespace ?? podParts.namespace, pod: podParts.pod, kind: kind,
            priority: priority.flatMap(AlertFilter.parsePriority),
            includeEvents: all, includeUntrusted: untrusted || summary)
        let out = StdoutWriter()
        do {
            let reader = try JournalReader(directory: directory)
            if follow {
                try runFollow(reader, filter, out)
            } else if summary {
                try runSummary(reader, filter, out)
            } else {
                try runList(reader, filter, out)
            }
        } catch let error as JournalReaderError {
            out.flush()
            StdoutWriter.stderr("dockward: \(error)\n")
            throw ExitCode.failure
        }
        out.flush()
    }

    private func runList(_ reader: JournalReader, _ filter: AlertFilter, _ out: StdoutWriter) throws {
        let width = AlertOutput.messageWidth(terminalColumns: StdoutWriter.terminalColumns())
        var count = 0
        try reader.forEach(filter: filter) { record in
            if json {
                out.write(AlertOutput.json(record) + "\n")
            } else {
                if count == 0 { out.write(AlertOutput.tableHeader() + "\n") }
                out.write(AlertOutput.tableRow(record, messageWidth: width) + "\n")
            }
            count += 1
        }
        if count == 0 { reportEmpty(filter, out) }
    }

    private func runSummary(_ reader: JournalReader, _ filter: AlertFilter, _ out: StdoutWriter) throws {
        var summary = AlertSummary()
        try reader.forEach(filter: filter) { summary.add($0) }
        if json {
            for row in summary.rows { out.write(AlertOutput.summaryJSON(row) + "\n") }
            for (writer, count) in summary.untrusted.sorted(by: { $0.key < $1.key }) {
                out.write(AlertOutput.untrustedJSON(writer: writer, count: count) + "\n")
            }
            if summary.total == 0 { reportEmpty(filter, out) }
        } else {
            if summary.total == 0 {
                reportEmpty(filter, out)
            } else {
                out.write(AlertOutput.summaryHeader() + "\n")
                for row in summary.rows { out.write(AlertOutput.summaryRow(row) + "\n") }
                let rows = summary.rows.count
                out.write("\(summary.total) \(all ? "entries" : (summary.total == 1 ? "alert" : "alerts")) "
                    + "in \(rows) group\(rows == 1 ? "" : "s")\n")
            }
            if let line = AlertOutput.untrustedLine(summary) { out.write(line + "\n") }
        }
    }

    private func runFollow(_ reader: JournalReader, _ filter: AlertFilter, _ out: StdoutWriter) throws {
        AlertsStopSignal.install()
        let width = AlertOutput.messageWidth(terminalColumns: StdoutWriter.terminalColumns())
        if !json {
            out.write(AlertOutput.tableHeader() + "\n")
            out.flush()
        }
        try reader.follow(filter: filter, until: { AlertsStopSignal.requested || out.broken }) { record in
            out.write((json ? AlertOutput.json(record) : AlertOutput.tableRow(record, messageWidth: width)) + "\n")
            out.flush()
        }
    }

    /// Table and summary say so on stdout; JSON keeps stdout pure and says it on stderr.
    private func reportEmpty(_ filter: AlertFilter, _ out: StdoutWriter) {
        var criteria: [String] = []
        if let c = filter.container { criteria.append("container \(AlertOutput.cell(c))") }
        if let n = filter.namespace { criteria.append("namespace \(AlertOutput.cell(n))") }
        if let p = filter.pod { criteria.append("pod \(AlertOutput.cell(p))") }
        if let k = filter.kind { criteria.append("kind \(k)") }
        if let p = filter.priority { criteria.append("priority \(p.name) or more severe") }
        if let s = filter.since { criteria.append("since \(AlertOutput.localTime(s))") }
        let what = all ? "No alerts or events" : "No alerts"
        let text = criteria.isEmpty ? "\(what) in the journal.\n" : "\(what) match (\(criteria.joined(separator: ", "))).\n"
        if json { StdoutWriter.stderr(text) } else { out.write(text) }
    }
}

/// SIGINT and SIGTERM set a flag (no SA_RESTART, so `sd_journal_wait`
/// returns EINTR at once) and `follow` returns cleanly.
enum AlertsStopSignal {
    static var requested: Bool { alertsStopFlag != 0 }

    static func install() {
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = { _ in alertsStopFlag = 1 }
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = 0
        sigaction(SIGINT, &sa, nil)
        sigaction(SIGTERM, &sa, nil)
    }
}

/// Set by the SIGINT/SIGTERM handler, read by the follow loop: a
/// sig_atomic_t is the one type a signal handler may write, and no other
/// code writes it, so it needs no lock.
nonisolated(unsafe) private var alertsStopFlag: sig_atomic_t = 0

/// Buffered writes to fd 1 that survive EINTR and stop quietly on EPIPE.
final class StdoutWriter {
    private var buffer: [UInt8] = []
    private(set) var broken = false

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 64 * 1024 { flush() }
    }

    func flush() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard !broken else { return }
        if !FileDescriptorWriter.writeAll(1, buffer) { broken = true }
    }

    static func stderr(_ s: String) { FileDescriptorWriter.writeAll(2, s) }

    /// The terminal's width when stdout is one; nil otherwise.
    static func terminalColumns() -> Int? {
        guard isatty(1) == 1 else { return nil }
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        if let c = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), c > 0 { return c }
        return 80
    }
}
