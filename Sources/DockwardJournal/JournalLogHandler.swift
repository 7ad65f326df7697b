import DockwardCore
import Logging

/// swift-log handler that writes the daemon's own operational messages
/// (layout found, engine connected, a vanished cgroup) to the journal with the
/// same identifier as alerts, so one `journalctl -t dockward` shows both.
/// Metadata becomes fields: `["container": "abc"]` -> `CONTAINER=abc` is not
/// done on purpose; operational lines keep metadata in the MESSAGE text so
/// they never collide with alert fields.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: JournalSink
    private let label: String

    public init(label: String, sink: JournalSink, level: Logger.Level = .info) {
        self.label = label
        self.sink = sink
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var text = "\(event.message)"
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let priority = JournalLogHandler.priority(event.level)
        sink.write(fields: [("MESSAGE", AlertText.sanitizedForMessage(text)),
                            ("PRIORITY", String(priority.rawValue)),
                            ("DOCKWARD_LOGGER", label)],
                   priority: priority, kind: nil)
    }

    static func priority(_ level: Logger.Level) -> Priority {
        switch level {
        case .trace, .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .err
        case .critical: .crit
        }
    }
}
