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
    case socketMount = "socket-mount"
    case socketMountAllowed = "socket-mount-allowed"
    case socketMountUnresolved = "socket-mount-unresolved"
    case privileged = "privileged"
    case hostPID = "host-pid"
    case engineStateMount = "engine-state-mount"
    case blockDevice = "block-device"
    case hostControlAllowed = "host-control-allowed"
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

    public var messageID: String {
        switch self {
        case .pidsUnlimited: "239549ddbcd24315a1b43ff729527960"
        case .pidsHigh: "b9c69784d9334b3ea052903c4f496935"
        case .pidsExhausted: "9cbeffacd069472fb0b95e62b1ba4743"
        case .pidsForecast: "8938f87338d84e60a3454e0c6958a1ec"
        case .pidsRecovered: "c077d0b0306748c987b88698fd61b0f2"
        case .hostPidsHigh: "9e981232178a4c1fbc708da1dcb9585a"
        case .hostPidsRecovered: "3e2efc794a524648bac7e75f1f2965f1"
        case .socketMount: "c27bd08d95eb4ef99d7b04c64bb68468"
        case .socketMountAllowed: "2d8eaa6872db43f28eebfa4141f06fab"
        case .socketMountUnresolved: "5856052d274c42afaa29a77e595c8d42"
        case .privileged: "1d1f77f24dfc4e0987ba92c09c77ed6d"
        case .hostPID: "26a3cb077d644d63a064f1c830781e0e"
        case .engineStateMount: "3dc5910927984251a3d158ff62048ea9"
        case .blockDevice: "cd607ced6f204f13ae351ddb1293aa85"
        case .hostControlAllowed: "f2647ea6333a4f19be85d3b915ece6c1"
        case .engineTCPExposed: "bdc5053ff2f94fd68a452962e23a1387"
        case .daemonStarted: "2a072edc0a2448d9bcd6de7eb9134a4b"
        case .daemonStopped: "c6b8a0edd9d24cfd924894ae8362eab3"
        case .configReloaded: "68645a8bd89a4542bdc03af8728f3109"
        case .configRejected: "aa5cd40f5b2d4ebbb45b9954491947c2"
        case .engineLost: "f1a671def2e047adb6520636d728a9dd"
        case .engineConnected: "b6b96edba76f456fada8e8e998615994"
        case .engineBack: "4d9dd32cb9854ccebe0be6efd86131c6"
        case .journalReplayed: "e52b5bedb59a4630820d8c6f35c416f3"
        case .alertmanagerLost: "32fc8e99c1f44df1b8d9e41ee70fd7b3"
        case .alertmanagerBack: "cd641759674d4d78b66794f902fdd664"
        case .actionTaken: "e9b9578cce3544a5b02545e7310cd9db"
        case .actionFailed: "2f0b79948c5549f093212ade0ffa753c"
        case .actionSkipped: "563843aea54740e09456a9fa6872f980"
        case .actionDryRun: "516d0b9e206d4b6889ec35ea87863989"
        }
    }

    /// Alerts carry `DOCKWARD_ALERT=<kind>`; the daemon's own lifecycle entries
    /// carry `DOCKWARD_EVENT=<kind>` so alert queries never match them.
    public var isAlert: Bool {
        switch self {
        case .daemonStarted, .daemonStopped, .configReloaded, .configRejected, .engineLost, .engineConnected, .engineBack,
             .journalReplayed,
             .alertmanagerLost, .alertmanagerBack: false
        default: true
        }
    }

    /// The four results of an action (`actions:`), each its own entry.
    public var isAction: Bool {
        switch self {
        case .actionTaken, .actionFailed, .actionSkipped, .actionDryRun: true
        default: false
        }
    }
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
            (kind.isAlert ? "DOCKWARD_ALERT" : "DOCKWARD_EVENT", kind.rawValue),
        ]
        if let c = container {
            out.append(("CONTAINER_ID", c.id.short))
            out.append(("CONTAINER_ID_FULL", c.id.full))
            if let m = c.metadata {
                out.append(("CONTAINER_NAME", m.name))
                out.append(("IMAGE_NAME", m.image))
            }
            if let p = c.cgroupPath { out.append(("CGROUP_PATH", p)) }
        }
        out.append(contentsOf: fields)
        return out
    }
}
