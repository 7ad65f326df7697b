import DockwardCore
import DockwardJournal
import DockwardMetrics

/// Where findings finally land: journald in the daemon, a recorder of typed
/// findings in tests. The writer is the one that renders: a `Finding`
/// becomes a journal entry only here.
public protocol FindingWriter: AnyObject, Sendable {
    func write(_ finding: Finding)
    /// Tries again what could not be written (journald was away); called
    /// every poll and at stop. Returns the outage that just ended, if one did.
    func retryPending() -> JournalReplay?
}

extension JournalSink: FindingWriter {
    public func write(_ finding: Finding) { write(finding.entry) }

    public func retryPending() -> JournalReplay? {
        retryQueued()
        return takeFinishedReplay()
    }
}

/// The one way out for everything dockward says, alerts and its own
/// lifecycle entries alike, as typed findings: the writer (journald), the
/// metrics and containment each take the value, and none reads a rendered
/// entry. Consumers only take note: containment decides after the pass
/// (`Containment.afterPass`), so nothing is sent again from inside `send`.
/// Called on the daemon's queue. (The daemon's operational log lines are
/// not findings: they go to the same journal sink through swift-log.)
@DaemonActor
public final class AlertOutlet {
    private let writer: FindingWriter
    private let metrics: MetricsRegistry
    /// Alerts sent so far; the daemon saves its state file when this moves.
    private(set) var alertsSent = 0
    /// Hear every finding once it is written: containment (`actions:`).
    private var consumers: [(Finding) -> Void] = []

    public init(writer: FindingWriter, metrics: MetricsRegistry) {
        self.writer = writer
        self.metrics = metrics
    }

    func addConsumer(_ consumer: @escaping (Finding) -> Void) { consumers.append(consumer) }

    /// Retries what journald missed, and says so once it took it all.
    func retryPending() {
        if let replay = writer.retryPending() { send(.lifecycle(.journalReplayed(replay))) }
    }

    func send(_ finding: Finding) {
        writer.write(finding)
        let kind = finding.kind
        if kind.isAlert {
            alertsSent += 1
            metrics.recordAlert(kind: kind)
        }
        if case .action(let report) = finding {
            metrics.recordAction(action: report.action.name, result: report.result.rawValue)
        }
        for consumer in consumers { consumer(finding) }
    }
}
