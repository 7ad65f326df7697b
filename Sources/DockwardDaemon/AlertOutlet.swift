import DockwardCore
import DockwardJournal
import DockwardMetrics

/// Where entries finally land: journald in the daemon, a list in tests.
public protocol EntryWriter: AnyObject {
    func record(_ entry: JournalEntry)
    /// Tries again what could not be written (journald was away); called
    /// every poll and at stop.
    func retryPending()
}

extension JournalSink: EntryWriter {
    public func record(_ entry: JournalEntry) { write(entry) }
    public func retryPending() { retryQueued() }
}

/// The one way out for every entry dockward writes, alerts and its own
/// lifecycle entries alike: the writer (journald), the alert counter of the
/// metrics, and whatever acts on alerts later all hang here, so no entry can
/// leave by a side door. Called on the daemon's queue.
public final class AlertOutlet {
    private let writer: EntryWriter
    private let metrics: MetricsRegistry
    /// Alerts sent so far; the daemon saves its state file when this moves.
    private(set) var alertsSent = 0
    /// Hears every entry once it is written: containment (`actions:`).
    var listener: ((JournalEntry) -> Void)?

    public init(writer: EntryWriter, metrics: MetricsRegistry) {
        self.writer = writer
        self.metrics = metrics
    }

    func retryPending() { writer.retryPending() }

    func send(_ entry: JournalEntry) {
        writer.record(entry)
        if entry.kind.isAlert {
            alertsSent += 1
            metrics.recordAlert(kind: entry.kind)
        }
        if entry.kind.isAction, let action = entry.fields.first(where: { $0.name == "DOCKWARD_ACTION" })?.value {
            metrics.recordAction(action: action, result: String(entry.kind.rawValue.dropFirst("action-".count)))
        }
        listener?(entry)
    }
}
