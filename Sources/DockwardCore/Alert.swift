/// syslog priorities, as journald's `PRIORITY=` field takes them.
public enum Priority: Int, Comparable, Sendable, CaseIterable, Codable {
    case emerg = 0, alert, crit, err, warning, notice, info, debug

    /// A lower number is more severe; `<` means "less severe" so `max` picks the worst.
    public static func < (a: Priority, b: Priority) -> Bool { a.rawValue > b.rawValue }

    public var name: String {
        switch self {
        case .emerg: "emerg"
        case .alert: "alert"
        case .crit: "crit"
        case .err: "err"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public init?(name: String) {
        guard let p = Priority.allCases.first(where: { $0.name == name }) else { return nil }
        self = p
    }
}

/// Every kind of journal entry dockward writes. Each has a fixed 128-bit
/// `MESSAGE_ID` so operators can select it (`journalctl MESSAGE_ID=...`) and the
/// catalog can explain it. Never change an id once released.
public enum EntryKind: String, CaseIterable, Sendable {
    case pidsUnlimited = "pids-unlimited"
    case pidsHigh = "pids-high"
    case pidsExhausted = "pids-exhausted"
    case pidsForecast = "pids-forecast"
    case pidsRecovered = "pids-recovered"
    case hostPidsHigh = "host-pids-high"
    case hostPidsRecovered = "host-pids-recovered"
    case nodePidsPressure = "node-pids-pressure"
    case nodePidsRecovered = "node-pids-recovered"
    case socketMount = "socket-mount"
    case socketMountAllowed = "socket-mount-allowed"
    case socketMountUnresolved = "socket-mount-unresolved"
    case privileged = "privileged"
    case hostPID = "host-pid"
    case engineStateMount = "engine-state-mount"
    case blockDevice = "block-device"
    case hostControlAllowed = "host-control-allowed"
    case selfExempt = "self-exempt"
    case engineTCPExposed = "engine-tcp-exposed"
    case daemonStarted = "daemon-started"
    case daemonStopped = "daemon-stopped"
    case configReloaded = "config-reloaded"
    case configRejected = "config-rejected"
    case engineLost = "engine-lost"
    case engineConnected = "engine-connected"
    case engineBack = "engine-back"
    case journalReplayed = "journal-replayed"
    case alertmanagerLost = "alertmanager-lost"
    case alertmanagerBack = "alertmanager-back"
    case actionTaken = "action-taken"
    case actionFailed = "action-failed"
    case actionSkipped = "action-skipped"
    case actionDryRun = "action-dry-run"

    // Each kind's id, role, priority rule, alertname and advice: the kind
    // table, `EntryKind.facts` (EntryKinds.swift).
}

/// The container an entry is about, with the journal fields Docker's own
/// journald log driver uses, so `journalctl CONTAINER_NAME=web` shows a
/// container's logs and its alerts together.
public struct ContainerRef: Equatable, Sendable {
    public var id: ContainerID
    public var metadata: ContainerMetadata?
    public var cgroupPath: String?

    public init(id: ContainerID, metadata: ContainerMetadata? = nil, cgroupPath: String? = nil) {
        self.id = id
        self.metadata = metadata
        self.cgroupPath = cgroupPath
    }

    /// The name if the engine told a non-empty one, else the short id.
    public var displayName: String { id.displayName(name: metadata?.name) }
}

/// One journal entry to write: an alert or a lifecycle event.
public struct JournalEntry: Equatable, Sendable {
    public var kind: EntryKind
    public var priority: Priority
    /// One readable sentence with the numbers.
    public var message: String
    public var container: ContainerRef?
    /// Extra `NAME=value` fields (upper-case names), in order.
    public var fields: [(name: String, value: String)]

    public init(kind: EntryKind, priority: Priority, message: String, container: ContainerRef? = nil,
                fields: [(name: String, value: String)] = []) {
        self.kind = kind
        self.priority = priority
        self.message = message
        self.container = container
        self.fields = fields
    }

    public static func == (a: JournalEntry, b: JournalEntry) -> Bool {
        a.kind == b.kind && a.priority == b.priority && a.message == b.message && a.container == b.container
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// Every field of the entry, in the order it is written, except the
    /// transport's own (`SYSLOG_IDENTIFIER`). Values are raw; the sink escapes.
    public var allFields: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority.rawValue)),
            ("MESSAGE_ID", kind.messageID),
            (kind.journalTag, kind.rawValue),
        ]
        if let c = container {
            out.append(("CONTAINER_ID", c.id.short))
            out.append(("CONTAINER_ID_FULL", c.id.full))
            if let m = c.metadata {
                out.append(("CONTAINER_NAME", m.name))
                out.append(("IMAGE_NAME", m.image))
                if let pod = m.pod { out.append(contentsOf: pod.journalFields) }
            }
            if let p = c.cgroupPath { out.append(("CGROUP_PATH", p)) }
        }
        out.append(contentsOf: fields)
        return out
    }
}
