import DockwardSystem
import Dispatch
import DockwardCore
import DockwardDocker
import Logging

/// What the engine link reports, always on the daemon's queue.
protocol EngineLinkObserver: AnyObject {
    /// The engine answered after being unreachable; `outage` is nil on the
    /// first connection of the run.
    func engineConnected(afterOutage outage: Int64?)
    /// The first failure of an outage (later retries are silent).
    func engineLost(reason: String)
    /// What the engine says of itself, at each connection, before any
    /// container of that connection is delivered.
    func engineDescribed(_ info: EngineInfo)
    /// A container's inspect data, once per container while it exists;
    /// `eventTimeNano` when a `create`/`start` event brought it.
    func containerInspected(_ details: ContainerDetails, eventTimeNano: Int64?)
    /// The engine does not know this id (a cgroup that is not its container).
    func containerUnknown(_ id: ContainerID)
    /// A `destroy` event.
    func containerGone(_ id: ContainerID)
    /// A full listing ended: every container the engine has.
    func listingCompleted(_ present: Set<ContainerID>, reason: String)
    /// Any engine event, when it was read (for the event-lag metric).
    func engineEventArrived(timeNano: Int64)
}

/// The one owner of the Docker engine connection: version negotiation, the
/// events stream, listings (at connect and every `resync_interval`),
/// inspection, reconnect backoff and the containers' metadata cache.
///
/// Its state lives on the daemon's queue. The engine is only ever awaited in
/// two tasks, the connection loop and the resync loop, plus one short task
/// per lookup; each hops to the queue to read or change state, so nothing
/// here needs a lock. An outage is one state change: one `engineLost`, one
/// `engineConnected(afterOutage:)`.
final class EngineLink {
    /// Quick first retries for an engine restart, doubling to a cap so a dead
    /// engine costs one connect attempt every 30 s.
    static let firstRetry = Interval.milliseconds(250)
    static let maxRetry = Interval.seconds(30)

    private enum State {
        case connecting
        case up
        case down(since: Int64)
    }

    let engine: EngineAPI
    private let queue: DispatchQueue
    private let logger: Logger
    weak var observer: EngineLinkObserver?
    private var resyncInterval: Interval

    // Queue-owned state.
    private var state: State = .connecting
    /// What the engine told of each container whose inspect data went to
    /// the observer: its name, image and labels, and whether it asked for a
    /// pids limit of its own (`HostConfig.PidsLimit` > 0).
    private var delivered: [ContainerID: (metadata: ContainerMetadata, hasOwnPidsLimit: Bool)] = [:]
    private var inFlight: Set<ContainerID> = []
    /// Lookups asked while the engine was away; the next listing answers them.
    private var waiting: Set<ContainerID> = []
    private var tasks: [Task<Void, Never>] = []
    /// Runs once the client's connections are closed.
    private var stopped: (() -> Void)?

    init(engine: EngineAPI, queue: DispatchQueue, resyncInterval: Interval, logger: Logger) {
        self.engine = engine
        self.queue = queue
        self.resyncInterval = resyncInterval
        self.logger = logger
    }

    /// Every engine task runs at the default priority. A task made without
    /// one inherits the creating thread's, and on Linux the main thread's is
    /// user-initiated: libdispatch then starts workers of that class and
    /// renices each to nice -2, which an unprivileged service may not take
    /// (each refusal is a "Failed to set thread priority for worker thread"
    /// line in the journal). At the default class a worker asks for nice 0,
    /// which the packaged unit (Nice=-4) always grants.
    static let workPriority = TaskPriority.medium

    var isConnected: Bool { if case .up = state { return true }; return false }

    /// Starts the connection and resync loops. Call on the queue.
    func start() {
        guard tasks.isEmpty else { return }
        tasks = [
            Task(priority: Self.workPriority) { [self] in await connectionLoop() },
            Task(priority: Self.workPriority) { [self] in await resyncLoop() },
        ]
    }

    /// Cancels every engine task, then closes the client's connections;
    /// `completion` runs on the queue. Call on the queue.
    func stop(completion: @escaping () -> Void) {
        for task in tasks { task.cancel() }
        tasks.removeAll()
        stopped = completion
        Task(priority: Self.workPriority) { [self] in
            try? await engine.shutdown()
            await onQueue { self.stopped?() }
        }
    }

    func apply(resyncInterval: Interval) { self.resyncInterval = resyncInterval }

    /// The cached name, image and labels of a container, if the engine told them.
    func metadata(for id: ContainerID) -> ContainerMetadata? { delivered[id]?.metadata }

    func hasOwnPidsLimit(_ id: ContainerID) -> Bool? { delivered[id]?.hasOwnPidsLimit }

    /// Asks the engine about a container the cgroup tree shows; the answer
    /// comes as `containerInspected` or `containerUnknown`. While the engine
    /// is away, the next listing answers. Call on the queue.
    func lookUp(_ id: ContainerID) {
        guard delivered[id] == nil, !inFlight.contains(id) else { return }
        guard isConnected else {
            waiting.insert(id)
            return
        }
        Task(priority: Self.workPriority) { [self] in
            do { try await inspectAndDeliver(id, eventTimeNano: nil) } catch {
                // Left for the next listing, which checks every container it lacks.
                logger.debug("cannot inspect container \(id.short) now: \(error)")
                await onQueue { _ = self.waiting.insert(id) }
            }
        }
    }

    // MARK: The loops (tasks); state is touched only through `onQueue`

    /// Subscribe, list, follow; on any failure back off and do it all again,
    /// resubscribing from the last event seen so nothing in between is missed.
    private func connectionLoop() async {
        // Taken before subscribing and listing: anything created after it is
        // either in the listing or replayed by the engine from `since`.
        var since = SystemClock.realtimeNanos()
        var lastEventNano: Int64?
        var backoff = Self.firstRetry
        while !Task.isCancelled {
            do {
                _ = try await engine.negotiate()
                let stream = engine.events(sinceNano: lastEventNano ?? since)
                let info = try await describeEngine()
                await onQueue {
                    self.markUp()
                    self.observer?.engineDescribed(info)
                }
                backoff = Self.firstRetry
                try await reconcile(reason: "connected")
                for try await event in stream {
                    if event.timeNano > (lastEventNano ?? 0) { lastEventNano = event.timeNano }
                    try await handle(event)
                }
                throw DockerClientError.engineUnreachable(path: engine.socketPath,
                                                          reason: "the engine closed the event stream")
            } catch {
                if Task.isCancelled { break }
                let outageBegins = await onQueue { self.markDown(error) }
                // With no event seen yet, replay from the outage's start.
                if outageBegins { since = SystemClock.realtimeNanos() }
                try? await Task.sleep(nanoseconds: UInt64(backoff.nanoseconds))
                backoff = Interval(nanoseconds: min(backoff.nanoseconds * 2, Self.maxRetry.nanoseconds))
            }
        }
    }

    /// The engine keeps only 256 past events and drops events for slow
    /// readers, so a periodic listing is the safety net.
    private func resyncLoop() async {
        while !Task.isCancelled {
            let interval = await onQueue { self.resyncInterval }
            try? await Task.sleep(nanoseconds: UInt64(interval.nanoseconds))
            guard !Task.isCancelled, await onQueue({ self.isConnected }) else { continue }
            do { try await reconcile(reason: "periodic") } catch {
                logger.warning("periodic re-listing of containers failed: \(error)")
            }
        }
    }

    private func handle(_ event: EngineEvent) async throws {
        await onQueue { self.observer?.engineEventArrived(timeNano: event.timeNano) }
        guard event.type == "container", let id = ContainerID(event.actorID) else { return }
        switch event.action {
        case "create", "start":
            try await inspectAndDeliver(id, eventTimeNano: event.timeNano)
        case "destroy":
            await onQueue { self.forget(id) }
        default:
            break
        }
    }

    /// Lists every container (running, stopped, created) and inspects those
    /// not yet delivered; reports the ones gone.
    private func reconcile(reason: String) async throws {
        let listed = try await engine.listContainers(all: true)
        let present = Set(listed.map(\.id))
        let toInspect = await onQueue { self.noteListing(present) }
        for id in toInspect {
            try await inspectAndDeliver(id, eventTimeNano: nil)
        }
        await onQueue {
            self.observer?.listingCompleted(present, reason: reason)
            self.logger.info("engine listing (\(reason)): \(listed.count) containers, \(toInspect.count) inspected")
        }
    }

    /// One inspect per container: skipped when already delivered or asked.
    private func inspectAndDeliver(_ id: ContainerID, eventTimeNano: Int64?) async throws {
        guard await onQueue({ self.beginInspection(id) }) else { return }
        var details: ContainerDetails?
        do {
            details = try await engine.inspect(id)
            if var found = details {
                try await readVolumeOptions(&found)
                details = found
            }
        } catch {
            await onQueue { _ = self.inFlight.remove(id) }
            // An odd answer about one container is not an outage: it is left
            // for the next listing, which inspects what it lacks.
            if Self.isRefusal(error) { logger.warning("cannot inspect container \(id.short): \(error)"); return }
            throw error
        }
        await onQueue { self.finishInspection(id, details, eventTimeNano: eventTimeNano) }
    }

    /// Each volume's driver options as the engine keeps them: the local
    /// driver can bind any host folder under a volume's name. The volume's
    /// own options win over the container's inline ones (`volume-opt=` is
    /// ignored when the volume already existed); a volume gone meanwhile
    /// keeps the inline ones, if any.
    private func readVolumeOptions(_ details: inout ContainerDetails) async throws {
        for index in details.volumes.indices {
            let volume = details.volumes[index]
            guard !volume.name.isEmpty else { continue }
            let found: VolumeInfo?
            do { found = try await engine.volume(named: volume.name) } catch where Self.isRefusal(error) {
                // A socket proxy may forbid /volumes: the container is still
                // judged, on its inline options if it has any.
                logger.warning("cannot read volume \(volume.name) of container \(details.id.short): \(error)")
                continue
            }
            guard let found else { continue }
            details.volumes[index].driver = found.driver
            details.volumes[index].options = found.options
        }
    }

    /// `GET /info`; an engine (or a socket proxy) that refuses it only
    /// leaves the data root unknown, it is no outage.
    private func describeEngine() async throws -> EngineInfo {
        do { return try await engine.info() } catch where Self.isRefusal(error) {
            logger.warning("the engine did not describe itself (GET /info): \(error); its data root is not watched")
            return EngineInfo(dataRoot: nil)
        }
    }

    /// An answer, though not the one asked for: the engine is there.
    static func isRefusal(_ error: Error) -> Bool {
        switch error {
        case DockerClientError.httpStatus, DockerClientError.badResponse: true
        default: false
        }
    }

    private func onQueue<T>(_ body: @escaping () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    // MARK: State changes (on the queue)

    private func markUp() {
        let previous = state
        state = .up
        switch previous {
        case .down(let since): observer?.engineConnected(afterOutage: SystemClock.monotonicNanos() - since)
        case .connecting: observer?.engineConnected(afterOutage: nil)
        case .up: break
        }
    }

    /// True when this failure starts an outage (the only one reported).
    private func markDown(_ error: Error) -> Bool {
        if case .down = state { return false }
        state = .down(since: SystemClock.monotonicNanos())
        observer?.engineLost(reason: "\(error)")
        return true
    }

    private func beginInspection(_ id: ContainerID) -> Bool {
        guard delivered[id] == nil else { return false }
        return inFlight.insert(id).inserted
    }

    private func finishInspection(_ id: ContainerID, _ details: ContainerDetails?, eventTimeNano: Int64?) {
        inFlight.remove(id)
        waiting.remove(id)
        guard let details else {
            observer?.containerUnknown(id)
            return
        }
        delivered[id] = (details.metadata, details.hasOwnPidsLimit)
        observer?.containerInspected(details, eventTimeNano: eventTimeNano)
    }

    /// Forgets containers the listing lacks; returns those to inspect.
    private func noteListing(_ present: Set<ContainerID>) -> [ContainerID] {
        for id in delivered.keys where !present.contains(id) { forget(id) }
        for id in waiting where !present.contains(id) {
            waiting.remove(id)
            observer?.containerUnknown(id)
        }
        return present.filter { delivered[$0] == nil }.sorted()
    }

    private func forget(_ id: ContainerID) {
        if delivered.removeValue(forKey: id) != nil { observer?.containerGone(id) }
    }
}
