import DockwardCore
import Foundation
import DockwardDocker
import DockwardJournal
import DockwardMetrics
import Logging

/// Whether the engine's event stream is up; written by the socket watch,
/// read by the poll loop for the service STATUS line.
final class ConnectionFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isUp: Bool {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// The socket-exposure watch: follows the engine's container events, checks
/// each new container's mounts, and re-lists everything at start, after every
/// reconnect and every `resync_interval` (the engine keeps only 256 past
/// events and drops events for slow readers, so the listing is the safety
/// net). One verdict per container, so one entry per container.
actor SocketWatch {
    /// Reconnect backoff: quick first retries for an engine restart, capped
    /// so a dead engine costs one attempt every 30 s.
    static let firstRetry = Interval.milliseconds(250)
    static let maxRetry = Interval.seconds(30)

    enum Verdict { case clean, exposed, allowed }

    private let client: DockerEngineClient
    private let engineSocket: String
    private let sink: JournalSink
    private let metrics: MetricsRegistry?
    private let logger: Logger
    private let host: HostPathInspector
    private let onMetadata: @Sendable (ContainerID, ContainerMetadata) -> Void
    private let connection: ConnectionFlag
    private var config: DockwardConfig
    private var sockets: [ProtectedSocket] = []
    private var verdicts: [ContainerID: Verdict] = [:]
    private var judging: Set<ContainerID> = []
    private var lastEventNano: Int64?
    private(set) var connected = false {
        didSet { connection.isUp = connected; metrics?.setEngineConnected(connected) }
    }

    init(client: DockerEngineClient, engineSocket: String, config: DockwardConfig, sink: JournalSink,
         logger: Logger, host: HostPathInspector = HostPaths(), connection: ConnectionFlag = ConnectionFlag(),
         metrics: MetricsRegistry? = nil,
         onMetadata: @escaping @Sendable (ContainerID, ContainerMetadata) -> Void) {
        self.metrics = metrics
        self.client = client
        self.engineSocket = engineSocket
        self.config = config
        self.sink = sink
        self.logger = logger
        self.host = host
        self.onMetadata = onMetadata
        self.connection = connection
    }

    func apply(_ newConfig: DockwardConfig) { config = newConfig }

    var watchedCount: Int { verdicts.count }

    /// Runs until cancelled: subscribe, list and check, follow; on any
    /// failure, back off and do it all again from the last event seen.
    func run() async {
        // Taken before subscribing and listing: anything created after it is
        // either in the listing or replayed by the engine from `since`.
        var since = MonotonicClock.wallNow()
        var backoff = Self.firstRetry
        var outageStart: Int64?
        var loggedOutage = false
        while !Task.isCancelled {
            do {
                _ = try await client.negotiate()
                if let start = outageStart {
                    let seconds = Double(MonotonicClock.now() - start) / 1e9
                    logger.notice("Docker engine back after \(String(format: "%.1f", seconds)) s; re-listing containers and resubscribing to events")
                }
                outageStart = nil
                loggedOutage = false
                backoff = Self.firstRetry
                let stream = client.events(sinceNano: lastEventNano ?? since)
                connected = true
                try await reconcile(reason: "connected")
                for try await event in stream {
                    await handle(event)
                }
                throw DockerClientError.engineUnreachable(path: engineSocket, reason: "the engine closed the event stream")
            } catch {
                connected = false
                if Task.isCancelled { break }
                if outageStart == nil {
                    outageStart = MonotonicClock.now()
                    // Events from here on are replayed on reconnect.
                    since = MonotonicClock.wallNow()
                }
                if !loggedOutage {
                    logger.warning("lost the Docker engine at \(engineSocket): \(error); retrying with backoff up to \(Self.maxRetry)")
                    loggedOutage = true
                }
                try? await Task.sleep(nanoseconds: UInt64(backoff.nanoseconds))
                backoff = Interval(nanoseconds: min(backoff.nanoseconds * 2, Self.maxRetry.nanoseconds))
            }
        }
    }

    /// Runs `reconcile` every `resync_interval` while connected.
    func resyncForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(config.socketWatch.resyncInterval.nanoseconds))
            guard connected else { continue }
            do { try await reconcile(reason: "periodic") } catch {
                logger.warning("periodic re-listing failed: \(error)")
            }
        }
    }

    /// Lists every container (running, stopped, created) and checks those
    /// without a verdict; forgets those that are gone.
    func reconcile(reason: String) async throws {
        let listed = try await client.listContainers(all: true)
        refreshSockets()
        let present = Set(listed.map(\.id))
        for id in verdicts.keys where !present.contains(id) { verdicts[id] = nil }
        var checked = 0
        for summary in listed where verdicts[summary.id] == nil {
            await judge(summary.id, eventTimeNano: nil)
            checked += 1
        }
        let exposed = verdicts.values.filter { $0 == .exposed }.count
        logger.info("socket watch (\(reason)): \(listed.count) containers listed, \(checked) checked, \(exposed) exposed")
    }

    private func handle(_ event: EngineEvent) async {
        metrics?.observeEvent(timeNano: event.timeNano)
        if event.timeNano > (lastEventNano ?? 0) { lastEventNano = event.timeNano }
        guard event.type == "container", let id = ContainerID(event.actorID) else { return }
        switch event.action {
        case "create", "start":
            if let name = event.attributes["name"], let image = event.attributes["image"] {
                onMetadata(id, ContainerMetadata(name: name, image: image))
            }
            if verdicts[id] == nil {
                if event.action == "create" { refreshSockets() }
                await judge(id, eventTimeNano: event.timeNano)
            }
        case "destroy":
            verdicts[id] = nil
        default:
            break
        }
    }

    /// Sockets are resolved afresh, since an engine restart recreates its
    /// socket with a new inode.
    private func refreshSockets() {
        sockets = ProtectedSocket.resolve([engineSocket] + config.socketWatch.protect, on: host)
    }

    private func judge(_ id: ContainerID, eventTimeNano: Int64?) async {
        guard verdicts[id] == nil, judging.insert(id).inserted else { return }
        defer { judging.remove(id) }
        if sockets.isEmpty { refreshSockets() }
        let details: ContainerDetails?
        do {
            details = try await client.inspect(id)
        } catch {
            // Left without a verdict: the next listing checks it again.
            logger.warning("cannot inspect container \(id.short): \(error)")
            return
        }
        guard let details else { return }  // removed meanwhile
        onMetadata(id, details.metadata)
        let found = SocketExposureAnalysis.exposures(mounts: details.mounts, binds: details.binds,
                                                     sockets: sockets, host: host)
        guard let first = found.first else {
            verdicts[id] = .clean
            return
        }
        let allowed = config.socketWatch.allow.first { $0.matches(details.metadata) }
        verdicts[id] = allowed == nil ? .exposed : .allowed
        let entry = Self.entry(details: details, exposures: found, first: first, allowedBy: allowed,
                               eventTimeNano: eventTimeNano)
        sink.write(entry)
        metrics?.recordAlert(kind: entry.kind)
    }

    static func entry(details: ContainerDetails, exposures: [SocketExposure], first: SocketExposure,
                      allowedBy rule: ContainerMatcher?, eventTimeNano: Int64?) -> JournalEntry {
        let name = AlertText.sanitizedForMessage(details.metadata.name)
        let how: String
        switch first.kind {
        case .direct: how = "has it mounted at \(AlertText.sanitizedForMessage(first.mountDestination))"
        case .parentDir: how = "has its folder \(AlertText.sanitizedForMessage(first.mountSource)) mounted at \(AlertText.sanitizedForMessage(first.mountDestination))"
        case .alias: how = "reaches it through \(AlertText.sanitizedForMessage(first.mountSource)) mounted at \(AlertText.sanitizedForMessage(first.mountDestination))"
        }
        let more = exposures.count > 1 ? " (and \(exposures.count - 1) more mount(s))" : ""
        let ro = first.readWrite ? "" : " Read-only does not help: connect() on a socket works through ro."
        var message = "Container \(name) (\(details.id.short)) can reach \(first.socket) and so control the host: it \(how)\(more).\(ro)"
        let kind: EntryKind
        let priority: Priority
        if let rule {
            kind = .socketMountAllowed
            priority = .notice
            message += " Allowed by socket_watch.allow rule \(rule.summary)."
        } else {
            kind = .socketMount
            priority = .crit
            message += " Remove the mount, or add a socket_watch.allow rule if it truly needs the socket."
        }
        var fields: [(name: String, value: String)] = [
            ("SOCKET_PATH", first.socket),
            ("MOUNT_SOURCE", first.mountSource),
            ("MOUNT_DESTINATION", first.mountDestination),
            ("MOUNT_RW", first.readWrite ? "true" : "false"),
            ("EXPOSURE", first.kind.rawValue),
            ("CONTAINER_STATE", details.state),
        ]
        if exposures.count > 1 { fields.append(("EXPOSURE_COUNT", String(exposures.count))) }
        if let t = eventTimeNano { fields.append(("ENGINE_EVENT_NANO", String(t))) }
        return JournalEntry(kind: kind, priority: priority, message: message,
                            container: ContainerRef(id: details.id, metadata: details.metadata), fields: fields)
    }
}
