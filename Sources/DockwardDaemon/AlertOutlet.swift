import DockwardCore
import DockwardJournal
import DockwardMetrics

/// Where findings finally land: journald in the daemon, a recorder of typed
/// findings in tests.
public protocol FindingWriter: AnyObject, Sendable {
    /// `entry` is `finding.entry`, rendered once by the outlet.
    func write(_ finding: Finding, entry: JournalEntry)
    /// Tries again what could not be written (journald was away); called
    /// every poll and at stop. Returns the outage that just ended, if one did.
    func retryPending() -> JournalReplay?
}

extension JournalSink: FindingWriter {
    public func write(_ finding: Finding, entry: JournalEntry) { write(entry) }

    public func retryPending() -> JournalReplay? {
        retryQueued()
        return takeFinishedReplay()
    }
}

/// The one way out for everything dockward says, alerts and its own
/// lifecycle entries alike, as typed findings: the outlet renders each
/// entry once, and the writer (journald), the metrics and the consumers
/// (containment, the Alertmanager feed) each take the typed value with it;
/// each decides from the value (its kind, priority and facts), and none
/// reads a decision out of the words. Consumers only take note:
/// containment decides after the pass (`Containment.afterPass`), so
/// nothing is sent again from inside `send`. Called on the daemon's queue.
/// (The daemon's operational log lines are not findings: they go to the
/// same journal sink through swift-log.)
@DaemonActor
public final class AlertOutlet {
    private let writer: FindingWriter
    private let metrics: MetricsRegistry
    /// Entries other than the daemon's own events sent so far (alerts,
    /// recoveries, notices, actions: each may open or end an episode); the
    /// daemon saves its state file when this moves.
    private(set) var findingsSent = 0
    /// Hear every finding once it is written, with its entry: containment
    /// (`actions:`), the Alertmanager feed.
    private var consumers: [(Finding, JournalEntry) -> Void] = []

    public init(writer: FindingWriter, metrics: MetricsRegistry) {
        self.writer = writer
        self.metrics = metrics
    }

    func addConsumer(_ consumer: @escaping (Finding, JournalEntry) -> Void) { consumers.append(consumer) }

    /// Retries what journald missed, and says so once it took it all.
    func retryPending() {
        if let replay = writer.retryPending() { send(.lifecycle(.journalReplayed(replay))) }
    }

    func send(_ finding: Finding) {
        let entry = finding.entry
        writer.write(finding, entry: entry)
        let kind = finding.kind
        switch kind.role {
        case .alert: metrics.recordAlert(kind: kind)
        case .action:
            if case .action(let report) = finding {
                metrics.recordAction(action: report.action.name, result: report.result.rawValue)
            }
        case .allowed, .recovery, .event: break
        }
        if kind.role != .event { findingsSent += 1 }
        for consumer in consumers { consumer(finding, entry) }
    }
}
