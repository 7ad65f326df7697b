/// One thing dockward says, as data: what a detector or watch found, an
/// action's result, or the daemon's own life cycle, with its decision: the
/// kind (from the data), the priority (`priority`: the kind table's, or the
/// one the data decides) and the container. Every consumer (the journal
/// writer, the metrics, containment, Alertmanager, `audit` and
/// `check-compose`) takes this value and decides from it; the words are
/// rendered once (`entry`, by the outlet) and never read back for a
/// decision (the way systemd-oomd decides from its context structs, not its
/// log lines).
public enum Finding: Equatable, Sendable {
    /// A container's pids finding; `peak` is `pids.peak` as read with the
    /// sample the detector judged (nil where the kernel has none, or it was
    /// not read: see `PidsSample.peak`).
    case containerPids(PidsFinding, ContainerRef, peak: Int64?)
    case hostPids(PidsFinding)
    /// The node's pid.available against kubelet's eviction threshold.
    case nodePids(NodePidsFinding)
    /// A container's mounts reach a protected socket (allowed: a notice).
    case socketExposure(SocketExposureFinding)
    /// No exposure found, but some mount source could not be resolved.
    case socketUnresolved(ContainerDetails, [UnresolvedMount], eventTimeNano: Int64?)
    /// Privileged, host PID with ptrace, engine state, block device.
    case hostControl(ContainerDetails, HostControlFinding, allowedBy: ContainerMatcher?, eventTimeNano: Int64?)
    case engineTCPExposed(EngineListenerFinding, unreadable: [String])
    /// dockward's own container (`OwnContainer`): what would have been
    /// reported of it, said once as information instead.
    case selfExempt(SelfExemption)
    /// What containment did, would do, or left alone.
    case action(ActionReport)
    case lifecycle(LifecycleEvent)

    /// The entry kind, decided from the data, here only.
    public var kind: EntryKind {
        switch self {
        case .containerPids(let f, _, _), .hostPids(let f): f.kind
        case .nodePids(let f): f.kind
        case .socketExposure(let s): s.allowedBy == nil ? .socketMount : .socketMountAllowed
        case .socketUnresolved: .socketMountUnresolved
        case .hostControl(_, let f, let rule, _): rule == nil ? f.hostControlClass.entryKind : .hostControlAllowed
        case .engineTCPExposed: .engineTCPExposed
        case .selfExempt: .selfExempt
        case .action(let r): r.result.kind
        case .lifecycle(let e): e.kind
        }
    }

    /// The container it is about, if any.
    public var container: ContainerRef? {
        switch self {
        case .containerPids(_, let ref, _): ref
        case .socketExposure(let s): ContainerRef(id: s.details.id, metadata: s.details.metadata)
        case .socketUnresolved(let d, _, _), .hostControl(let d, _, _, _): ContainerRef(id: d.id, metadata: d.metadata)
        case .selfExempt(let e): ContainerRef(id: e.details.id, metadata: e.details.metadata)
        case .action(let r): r.container
        case .hostPids, .nodePids, .engineTCPExposed, .lifecycle: nil
        }
    }

    /// The priority: the kind table's where the kind has one; else the one
    /// the data carries (the detector's threshold, entries dropped).
    public var priority: Priority {
        if let fixed = kind.facts.priority.fixed { return fixed }
        switch self {
        case .containerPids(let f, _, _), .hostPids(let f): return f.priority
        case .nodePids(let f): return f.priority
        case .lifecycle(.journalReplayed(let r)): return r.dropped > 0 ? .warning : .notice
        case .lifecycle(.alertmanagerBack(_, _, let dropped)): return dropped > 0 ? .warning : .notice
        case .socketExposure, .socketUnresolved, .hostControl, .engineTCPExposed, .selfExempt, .action, .lifecycle:
            // Kinds with a fixed priority returned above; the kind table
            // test holds every other kind to a case of its own here.
            return kind.facts.priority.allowed[0]
        }
    }

    /// The journal entry: the decision (kind, priority, container) with
    /// the words. Rendered once, by the outlet (or `audit`), for the writer
    /// and the consumers that quote it.
    public var entry: JournalEntry {
        let text = self.text
        return JournalEntry(kind: kind, priority: priority, message: text.message, container: container,
                            fields: text.fields)
    }

    private var text: EntryText {
        switch self {
        case .containerPids(let f, let ref, let peak): AlertText.pids(f, container: ref, peak: peak)
        case .hostPids(let f): AlertText.pids(f, container: nil)
        case .nodePids(let f): AlertText.nodePids(f)
        case .socketExposure(let s): AlertText.socketExposure(s)
        case .socketUnresolved(let d, let unresolved, let t):
            AlertText.socketUnresolved(details: d, unresolved: unresolved, eventTimeNano: t)
                ?? EntryText(message: "Container \(AlertText.sanitizedForMessage(d.metadata.name)) (\(d.id.short)) could not be checked for socket exposure.")
        case .hostControl(let d, let f, let rule, let t):
            AlertText.hostControl(details: d, finding: f, allowedBy: rule, eventTimeNano: t)
        case .engineTCPExposed(let f, let unreadable): AlertText.engineTCPExposed(f, unreadable: unreadable)
        case .selfExempt(let e): AlertText.selfExempt(e)
        case .action(let r): AlertText.action(r)
        case .lifecycle(let e): e.text
        }
    }
}

/// A container whose mounts reach a protected socket: the socket watch's
/// verdict with what it rests on (never empty).
public struct SocketExposureFinding: Equatable, Sendable {
    public var details: ContainerDetails
    /// The first one is named in the entry; the count of the rest too.
    public var exposures: [SocketExposure]
    /// The `host_control.allow` rule that matched: a notice, not an alert.
    public var allowedBy: ContainerMatcher?
    /// When the engine's `create`/`start` event happened, if one brought it.
    public var eventTimeNano: Int64?

    public init?(details: ContainerDetails, exposures: [SocketExposure], allowedBy: ContainerMatcher?,
                 eventTimeNano: Int64?) {
        guard !exposures.isEmpty else { return nil }
        self.details = details
        self.exposures = exposures
        self.allowedBy = allowedBy
        self.eventTimeNano = eventTimeNano
    }
}

/// dockward's own container, and what its socket check found of it: the
/// engine's socket it needs, mounted. Only the socket findings
/// (`socket-mount`, `socket-mount-unresolved`) are exempted; any other way
/// to the host it was given (privileged, the host's PID namespace with
/// ptrace, ...) is reported as for any container.
public struct SelfExemption: Equatable, Sendable {
    public var details: ContainerDetails
    public var own: OwnContainer
    /// The kinds not reported for it (`socket-mount`, `socket-mount-unresolved`).
    public var exempted: [EntryKind]
    /// The socket its mounts reach, as the exempted finding named it.
    public var socket: String?

    public init(details: ContainerDetails, own: OwnContainer, exempted: [EntryKind], socket: String?) {
        self.details = details
        self.own = own
        self.exempted = exempted
        self.socket = socket
    }
}

/// The daemon's own entries (`DOCKWARD_EVENT=`), as data.
public enum LifecycleEvent: Equatable, Sendable {
    case daemonStarted(DaemonStart)
    case daemonStopped(watching: Int)
    case configReloaded(changes: [String], configPath: String)
    case configRejected(ConfigError, configPath: String)
    /// The first failure of an engine outage; `retryCap` the longest backoff.
    case engineLost(socket: String, reason: String, retryCap: Interval)
    /// The first connection: which engine answers (`Docker 20.10.24`,
    /// `Podman 4.3.1`, nil when it would not say) and the API spoken.
    case engineConnected(socket: String, product: String?, apiVersion: String?)
    /// `outage` in nanoseconds.
    case engineBack(socket: String, outage: Int64)
    /// journald is back and the entries kept meanwhile are written.
    case journalReplayed(JournalReplay)
    /// The first failed delivery of an Alertmanager outage; the alerts are kept.
    case alertmanagerLost(url: String, reason: String)
    /// Delivered again after `outage` nanoseconds; `dropped` alerts did not
    /// fit in the queue meanwhile.
    case alertmanagerBack(url: String, outage: Int64, dropped: Int)

    public var kind: EntryKind {
        switch self {
        case .daemonStarted: .daemonStarted
        case .daemonStopped: .daemonStopped
        case .configReloaded: .configReloaded
        case .configRejected: .configRejected
        case .engineLost: .engineLost
        case .engineConnected: .engineConnected
        case .engineBack: .engineBack
        case .journalReplayed: .journalReplayed
        case .alertmanagerLost: .alertmanagerLost
        case .alertmanagerBack: .alertmanagerBack
        }
    }

    var text: EntryText {
        switch self {
        case .daemonStarted(let s):
            AlertText.daemonStarted(version: s.version, config: s.config, configPath: s.configPath,
                                    engineSocket: s.engineSocket, cgroupLayout: s.cgroupLayout,
                                    openEpisodes: s.openEpisodes, stateFile: s.stateFile,
                                    engineSocketHardLinks: s.engineSocketHardLinks)
        case .daemonStopped(let n): AlertText.daemonStopped(watching: n)
        case .configReloaded(let changes, let path): AlertText.configReloaded(changes: changes, configPath: path)
        case .configRejected(let error, let path): AlertText.configRejected(error, configPath: path)
        case .engineLost(let socket, let reason, let cap): AlertText.engineLost(socket: socket, reason: reason, retryCap: cap)
        case .engineConnected(let socket, let product, let api):
            AlertText.engineConnected(socket: socket, product: product, apiVersion: api)
        case .engineBack(let socket, let outage): AlertText.engineBack(socket: socket, outage: outage)
        case .journalReplayed(let r): AlertText.journalReplayed(r)
        case .alertmanagerLost(let url, let reason): AlertText.alertmanagerLost(url: url, reason: reason)
        case .alertmanagerBack(let url, let outage, let dropped):
            AlertText.alertmanagerBack(url: url, outage: outage, dropped: dropped)
        }
    }
}

/// What the start entry says.
public struct DaemonStart: Equatable, Sendable {
    public var version: String
    public var config: DockwardConfig
    public var configPath: String
    public var engineSocket: String
    public var cgroupLayout: String
    /// Alerts still open from the last run; nil without a state file.
    public var openEpisodes: Int?
    public var stateFile: String?
    public var engineSocketHardLinks: [String]

    public init(version: String, config: DockwardConfig, configPath: String, engineSocket: String,
                cgroupLayout: String, openEpisodes: Int?, stateFile: String?, engineSocketHardLinks: [String] = []) {
        self.version = version
        self.config = config
        self.configPath = configPath
        self.engineSocket = engineSocket
        self.cgroupLayout = cgroupLayout
        self.openEpisodes = openEpisodes
        self.stateFile = stateFile
        self.engineSocketHardLinks = engineSocketHardLinks
    }
}

/// A journald outage as the sink saw it, told once journald took back
/// every entry it kept.
public struct JournalReplay: Equatable, Sendable {
    public var outageSeconds: UInt64
    /// Entries kept during the outage and written now, with their original time.
    public var written: Int
    /// The oldest ones dropped past the queue's limit.
    public var dropped: Int
    public var queueLimit: Int

    public init(outageSeconds: UInt64, written: Int, dropped: Int, queueLimit: Int) {
        self.outageSeconds = outageSeconds
        self.written = written
        self.dropped = dropped
        self.queueLimit = queueLimit
    }
}

extension AlertText {
    public static func socketExposure(_ s: SocketExposureFinding) -> EntryText {
        // Never nil: a SocketExposureFinding has at least one exposure.
        socketExposure(details: s.details, exposures: s.exposures, allowedBy: s.allowedBy,
                       eventTimeNano: s.eventTimeNano)!
    }

    /// `journal-replayed`: journald was away; what was kept is written above
    /// it with `DOCKWARD_ORIGINAL_TIME_USEC`.
    public static func journalReplayed(_ r: JournalReplay) -> EntryText {
        let drops = r.dropped > 0 ? ", \(r.dropped) older ones were dropped (queue limit \(r.queueLimit))" : ""
        return EntryText(
            message: "journald was unreachable for \(r.outageSeconds) s; \(r.written) entries kept meanwhile "
                + "are written above with DOCKWARD_ORIGINAL_TIME_USEC\(drops).",
            fields: [("OUTAGE_SECONDS", String(r.outageSeconds)),
                     ("DOCKWARD_QUEUE_WRITTEN", String(r.written)),
                     ("DOCKWARD_QUEUE_DROPPED", String(r.dropped))])
    }
}
