import DockwardSystem
import Dispatch
import DockwardCore
import Logging

/// What the engine link reports, always on the daemon's queue.
@DaemonActor
protocol EngineLinkObserver: AnyObject {
    /// The engine answered after being unreachable; `outage` is nil on the
    /// first connection of the run.
    func engineConnected(afterOutage outage: Int64?)
    /// The first failure of an outage (later retries are silent).
    func engineLost(reason: String)
    /// What the engine says of itself, at each connection, before any
    /// container of that connection is delivered.
    func engineDescribed(_ info: RuntimeInfo)
    /// A container's inspect data, once per container while it exists;
    /// `eventTimeNano` when a `create`/`start` event brought it.
    func containerInspected(_ details: ContainerDetails, eventTimeNano: Int64?)
    /// The engine does not know this id (a cgroup that is not its container).
    func containerUnknown(_ id: ContainerID)
    /// A `removed` event.
    func containerGone(_ id: ContainerID)
    /// A full listing ended: every container the engine has.
    func listingCompleted(_ present: Set<ContainerID>, reason: String)
    /// Any engine event, when it was read (for the event-lag metric).
    func engineEventArrived(timeNano: Int64)
}

/// The one owner of the engine connection, whatever the engine (it speaks
/// `ContainerRuntime` only): connecting, the events stream, listings (at
/// connect and every `resync_interval`), inspection, reconnect backoff and
/// the containers' metadata cache.
///
/// Its state lives on the daemon's queue. The engine is awaited in the
/// connection loop (ping, stream), the resync loop (listings) and one task
/// per inspection; each hops to the queue to read or change state, so
/// nothing here needs a lock. The stream never waits for an inspect: an
/// event starts one and the next event is read. Only the ping and the
/// stream say whether the engine is there, and an outage is one state
/// change: one `engineLost`, one `engineConnected(afterOutage:)`.
@DaemonActor
final class EngineLink: StoppingPart {
    /// Quick first retries for an engine restart, doubling to a cap so a dead
    /// engine costs one connect attempt every 30 s.
    nonisolated static let firstRetry = Interval.milliseconds(250)
    nonisolated static let maxRetry = Interval.seconds(30)

    /// Inspects (each with its volume reads) under way at once. A listing
    /// after a restart may name hundreds of containers: a few requests at a
    /// time keep one slow answer from holding the others' verdicts without
    /// flooding an engine, or a socket proxy, that is already slow.
    nonisolated static let concurrentInspections = 4
    /// An inspect is answered in milliseconds; a socket proxy was measured
    /// holding one for 8 s. Past this it is given up and asked again.
    nonisolated static let inspectionTimeout = Interval.seconds(15)
    /// An answer this late is logged (once per container): a container
    /// judged seconds after its create was free to reach the socket meanwhile.
    nonisolated static let slowInspection = Interval.seconds(2)
    /// Tries per inspect that timed out or could not reach the engine,
    /// 500 ms apart and doubling (3.5 s in all); after that the next
    /// listing, which inspects every container it lacks, asks again.
    nonisolated static let inspectionAttempts = 4
    nonisolated static let firstInspectionRetry = Interval.milliseconds(500)

    private enum State {
        case connecting
        case up
        case down(since: Int64)
    }

    /// One container's inspect, from the event or listing that asked for it
    /// to its delivery, its "unknown", or the end of its tries.
    private struct Inspection {
        enum Phase { case queued, running, backingOff }
        /// Tells this inspection from a later one of the same id.
        let serial: UInt64
        var eventTimeNano: Int64?
        var attempt = 1
        var phase = Phase.queued
        /// The attempt under way; a late answer of an earlier one is dropped.
        var attemptSerial: UInt64?
        /// A `start` or `update` came while the request was out: its answer
        /// may predate it, so the container is inspected once more.
        var again = false
        /// The request, or the wait before the next try.
        var work: Task<Void, Never>?
        var timeout: Task<Void, Never>?

        func cancel() {
            work?.cancel()
            timeout?.cancel()
        }
    }

    private enum InspectionOutcome {
        case found(ContainerDetails)
        case unknown
        /// An answer, though not the one asked for: left for the next listing.
        case refused(Error)
        case failed(Error)
        case cancelled
    }

    /// What is logged of one container's inspects, once each.
    private enum InspectionTrouble: Hashable { case slow, timedOut, failed }

    /// A listing whose inspects are not all settled yet.
    private struct PendingListing {
        let present: Set<ContainerID>
        let reason: String
        /// `deliveries` when the listing was asked for: containers delivered
        /// after it may be missing from it and still exist.
        let deliveriesBefore: UInt64
        var remaining: Set<ContainerID>
        let inspectedCount: Int
        var finished: CheckedContinuation<Void, Never>?
    }

    let engine: ContainerRuntime
    private let queue: DispatchQueue
    private let logger: Logger
    weak var observer: EngineLinkObserver?
    private var resyncInterval: Interval
    private let inspectionTimeout: Interval

    // Queue-owned state.
    private var state: State = .connecting
    /// What the engine told of each container whose inspect data went to
    /// the observer: its name, image and labels, whether it asked for a
    /// pids limit of its own (`HostConfig.PidsLimit` > 0), and when.
    private var delivered: [ContainerID: (metadata: ContainerMetadata, hasOwnPidsLimit: Bool, delivery: UInt64)] = [:]
    private var deliveries: UInt64 = 0
    private var inspections: [ContainerID: Inspection] = [:]
    /// Inspections waiting for one of the `concurrentInspections` slots, in order asked.
    private var queuedInspections: [ContainerID] = []
    /// The attempts holding a slot.
    private var runningAttempts: Set<UInt64> = []
    /// Inspects under way now (at most `concurrentInspections`).
    var inspectionsRunning: Int { runningAttempts.count }
    /// Inspects started, and their answers that reached the queue, used or
    /// dropped (stale, timed out, after a stop): a test waits for the two to
    /// meet before it asserts that an answer changed nothing.
    private(set) var attemptsStarted = 0
    private(set) var answersHandled = 0
    private var nextSerial: UInt64 = 0
    private var troublesLogged: [ContainerID: Set<InspectionTrouble>] = [:]
    private var listings: [UInt64: PendingListing] = [:]
    /// Lookups asked while the engine was away, or whose inspects all
    /// failed; the next listing answers them.
    private var waiting: Set<ContainerID> = []
    private var tasks: [Task<Void, Never>] = []
    /// Set by `stop()`: from then on nothing reaches the observer.
    private var isStopped = false
    /// Runs once the client's connections are closed.
    private var stopped: (@DaemonActor () -> Void)?

    /// The daemon's monotonic clock, for the outage's length. (The retry
    /// backoff, the inspect timeouts and the `since` of a subscription are
    /// the engine's time, real time: they wait on it, or it compares them.)
    private let clock: @Sendable () -> Int64

    init(engine: ContainerRuntime, queue: DispatchQueue, resyncInterval: Interval, clock: @escaping @Sendable () -> Int64,
         logger: Logger, inspectionTimeout: Interval = EngineLink.inspectionTimeout) {
        self.engine = engine
        self.clock = clock
        self.queue = queue
        self.resyncInterval = resyncInterval
        self.logger = logger
        self.inspectionTimeout = inspectionTimeout
    }

    /// Every engine task runs at the default priority (`WorkPriority`).
    nonisolated static let workPriority = WorkPriority.tasks

    var isConnected: Bool { if case .up = state { return true }; return false }

    /// The observer while the link runs; nil once `stop()` was called.
    private var reporting: EngineLinkObserver? { isStopped ? nil : observer }

    /// Starts the connection and resync loops. Call on the queue.
    func start() {
        guard tasks.isEmpty, !isStopped else { return }
        tasks = [
            Task(priority: Self.workPriority) { [self] in await connectionLoop() },
            Task(priority: Self.workPriority) { [self] in await resyncLoop() },
        ]
    }

    /// A stop: cancels every engine task and inspection, then closes the
    /// client's connections; `done` runs on the queue once they are closed,
    /// or at `deadline`. Nothing is reported from the call on.
    func shutdown(deadline: Int64, done: @escaping @DaemonActor () -> Void) {
        isStopped = true
        for task in tasks { task.cancel() }
        tasks.removeAll()
        for inspection in inspections.values { inspection.cancel() }
        inspections.removeAll()
        queuedInspections.removeAll()
        runningAttempts.removeAll()
        for listing in listings.values { listing.finished?.resume() }
        listings.removeAll()
        stopped = done
        Task(priority: Self.workPriority) { [self] in
            try? await engine.shutdown()
            await onQueue { self.finishStop() }
        }
        // A connection that will not close must not hold the stop.
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(StopSequence.timeLeft(until: deadline)))) {
            DaemonActor.run { self.finishStop() }
        }
    }

    private func finishStop() {
        guard let done = stopped else { return }
        stopped = nil
        done()
    }

    func apply(resyncInterval: Interval) { self.resyncInterval = resyncInterval }

    /// The cached name, image and labels of a container, if the engine told them.
    func metadata(for id: ContainerID) -> ContainerMetadata? { delivered[id]?.metadata }

    func hasOwnPidsLimit(_ id: ContainerID) -> Bool? { delivered[id]?.hasOwnPidsLimit }

    /// Asks the engine about a container the cgroup tree shows; the answer
    /// comes as `containerInspected` or `containerUnknown`. While the engine
    /// is away, the next listing answers. Call on the queue.
    func lookUp(_ id: ContainerID) {
        guard delivered[id] == nil, inspections[id] == nil else { return }
        guard isConnected else {
            waiting.insert(id)
            return
        }
        requestInspection(id, eventTimeNano: nil)
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
                let info = try await engine.connect()
                let stream = engine.events(sinceNano: lastEventNano ?? since)
                await onQueue {
                    // Described first: the connected report says what it is.
                    self.reporting?.engineDescribed(info)
                    self.markUp()
                }
                backoff = Self.firstRetry
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Beside the stream, not before it: the listing's
                    // inspects must not hold the events either. It ends
                    // with the stream, and the next connection lists again.
                    group.addTask { await self.reconcileRetrying(reason: "connected") }
                    for try await event in stream {
                        if event.timeNano > (lastEventNano ?? 0) { lastEventNano = event.timeNano }
                        await onQueue { self.handle(event) }
                    }
                    throw RuntimeStreamEnded(socketPath: engine.socketPath)
                }
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

    /// The listing at connect: a failed one is no outage (the ping and the
    /// stream decide that), so it is tried again like an inspect, and after
    /// that the periodic listing catches up.
    private func reconcileRetrying(reason: String) async {
        var delay = Self.firstInspectionRetry
        for attempt in 1...Self.inspectionAttempts {
            do { return try await reconcile(reason: reason) } catch {
                if Task.isCancelled { return }
                let last = attempt == Self.inspectionAttempts
                logger.warning("listing containers (\(reason)) failed\(last ? "; the periodic listing tries again" : ", retrying"): \(error)")
                if last { return }
                try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds))
                delay = Interval(nanoseconds: delay.nanoseconds * 2)
            }
        }
    }

    /// Lists every container (running, stopped, created), inspects those not
    /// yet delivered, and returns once every one of them is settled; reports
    /// the ones gone.
    private func reconcile(reason: String) async throws {
        let deliveriesBefore = await onQueue { self.deliveries }
        let present = Set(try await engine.listContainers())
        let listing = await onQueue { self.beginListing(present, reason: reason, deliveriesBefore: deliveriesBefore) }
        guard let listing else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DaemonActor.async {
                    if self.listings[listing] != nil { self.listings[listing]?.finished = continuation } else { continuation.resume() }
                }
            }
        } onCancel: {
            DaemonActor.async { self.listings.removeValue(forKey: listing)?.finished?.resume() }
        }
    }

    /// One attempt at one container: its inspect and then its volumes.
    private func fetchDetails(_ id: ContainerID) async -> InspectionOutcome {
        do {
            let logger = logger
            guard let found = try await engine.describe(id, refused: { logger.warning("\($0)") }) else { return .unknown }
            return .found(found)
        } catch {
            if Task.isCancelled || error is CancellationError { return .cancelled }
            // An odd answer about one container is not an outage: it is left
            // for the next listing, which inspects what it lacks.
            return engine.isRefusal(error) ? .refused(error) : .failed(error)
        }
    }

    /// The link's loops and tasks are isolated to the daemon's queue (an
    /// engine call awaits off it and comes back to it), so a change of state
    /// is a plain call; this marks where the loops touch it.
    private func onQueue<T>(_ body: () -> T) async -> T { body() }

    // MARK: State changes (on the queue)

    private func markUp() {
        let previous = state
        state = .up
        switch previous {
        case .down(let since): reporting?.engineConnected(afterOutage: clock() - since)
        case .connecting: reporting?.engineConnected(afterOutage: nil)
        case .up: break
        }
    }

    /// True when this failure starts an outage (the only one reported).
    private func markDown(_ error: Error) -> Bool {
        if case .down = state { return false }
        state = .down(since: clock())
        reporting?.engineLost(reason: "\(error)")
        return true
    }

    private func handle(_ event: RuntimeEvent) {
        reporting?.engineEventArrived(timeNano: event.timeNano)
        guard let id = event.id else { return }
        switch event.kind {
        case .created:
            requestInspection(id, eventTimeNano: event.timeNano)
        case .started, .updated:
            // Inspected again even when known: once started its main
            // process tells where its cgroup is; an update may give it a
            // pids limit of its own.
            requestInspection(id, eventTimeNano: event.timeNano, again: true)
        case .removed:
            forget(id)
        case .died, .other:
            break
        }
    }

    /// One inspection per container: none when it is delivered or already
    /// asked, unless asked `again` (then one whose answer may predate the
    /// ask is followed by another).
    private func requestInspection(_ id: ContainerID, eventTimeNano: Int64?, again: Bool = false) {
        guard !isStopped, delivered[id] == nil || again else { return }
        if inspections[id] != nil {
            if again && inspections[id]?.phase == .running { inspections[id]?.again = true }
            // A listing asked first; the event still dates the verdict.
            if inspections[id]?.eventTimeNano == nil { inspections[id]?.eventTimeNano = eventTimeNano }
            return
        }
        nextSerial += 1
        inspections[id] = Inspection(serial: nextSerial, eventTimeNano: eventTimeNano)
        queuedInspections.append(id)
        startQueuedInspections()
    }

    private func startQueuedInspections() {
        while runningAttempts.count < Self.concurrentInspections, !queuedInspections.isEmpty {
            let id = queuedInspections.removeFirst()
            guard var inspection = inspections[id], inspection.phase == .queued else { continue }
            nextSerial += 1
            let attempt = nextSerial
            attemptsStarted += 1
            let began = SystemClock.monotonicNanos()
            runningAttempts.insert(attempt)
            inspection.phase = .running
            inspection.attemptSerial = attempt
            inspection.work = Task(priority: Self.workPriority) { [self] in
                let outcome = await fetchDetails(id)
                await onQueue { self.finishAttempt(id, attempt, outcome, began: began) }
            }
            let timeout = inspectionTimeout
            inspection.timeout = Task(priority: Self.workPriority) { [self] in
                do { try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds)) } catch { return }
                await onQueue { self.attemptTimedOut(id, attempt) }
            }
            inspections[id] = inspection
        }
    }

    private func finishAttempt(_ id: ContainerID, _ attempt: UInt64, _ outcome: InspectionOutcome, began: Int64) {
        answersHandled += 1
        // Not holding its slot: timed out, cancelled by a destroy, or stopped.
        guard runningAttempts.remove(attempt) != nil else { return }
        defer { startQueuedInspections() }
        guard var inspection = inspections[id], inspection.attemptSerial == attempt else { return }
        inspection.timeout?.cancel()
        let took = Interval(nanoseconds: SystemClock.monotonicNanos() - began)
        if took >= Self.slowInspection, case .found = outcome {
            note(.slow, of: id, "the engine took \(took) to answer the inspect of container \(id.short)")
        }
        switch outcome {
        case .found(let details):
            inspections[id] = nil
            deliver(details, eventTimeNano: inspection.eventTimeNano)
            if inspection.again { requestInspection(id, eventTimeNano: nil, again: true) }
        case .unknown:
            inspections[id] = nil
            waiting.remove(id)
            troublesLogged[id] = nil
            reporting?.containerUnknown(id)
            inspectionSettled(id)
        case .refused(let error):
            logger.warning("cannot inspect container \(id.short): \(error)")
            inspections[id] = nil
            inspectionSettled(id)
        case .cancelled:
            inspections[id] = nil
            inspectionSettled(id)
        case .failed(let error):
            inspection.attemptSerial = nil
            retryOrGiveUp(id, inspection, .failed, "cannot inspect container \(id.short): \(error)")
        }
    }

    private func attemptTimedOut(_ id: ContainerID, _ attempt: UInt64) {
        guard runningAttempts.remove(attempt) != nil else { return }
        defer { startQueuedInspections() }
        guard var inspection = inspections[id], inspection.attemptSerial == attempt else { return }
        inspection.work?.cancel()
        inspection.attemptSerial = nil
        retryOrGiveUp(id, inspection, .timedOut, "the engine did not answer the inspect of container \(id.short) within \(inspectionTimeout)")
    }

    /// Another try after a pause, or, once the tries are spent, the next listing's turn.
    private func retryOrGiveUp(_ id: ContainerID, _ failed: Inspection, _ trouble: InspectionTrouble, _ message: String) {
        var inspection = failed
        note(trouble, of: id, message)
        guard inspection.attempt < Self.inspectionAttempts else {
            if isConnected {
                logger.warning("gave up inspecting container \(id.short) after \(inspection.attempt) tries; the next listing asks again")
            }
            inspections[id] = nil
            waiting.insert(id)
            inspectionSettled(id)
            return
        }
        let pause = UInt64(Self.firstInspectionRetry.nanoseconds) << (inspection.attempt - 1)
        inspection.attempt += 1
        inspection.phase = .backingOff
        let serial = inspection.serial
        inspection.work = Task(priority: Self.workPriority) { [self] in
            do { try await Task.sleep(nanoseconds: pause) } catch { return }
            await onQueue { self.retry(id, serial) }
        }
        inspections[id] = inspection
    }

    private func retry(_ id: ContainerID, _ serial: UInt64) {
        guard !isStopped, inspections[id]?.serial == serial, inspections[id]?.phase == .backingOff else { return }
        inspections[id]?.phase = .queued
        queuedInspections.append(id)
        startQueuedInspections()
    }

    /// Logs each kind of trouble once per container. While the engine is
    /// away its `engine-lost` entry says it all.
    private func note(_ trouble: InspectionTrouble, of id: ContainerID, _ message: String) {
        guard isConnected else { return }
        if troublesLogged[id, default: []].insert(trouble).inserted {
            logger.warning("\(message)")
        } else {
            logger.debug("\(message)")
        }
    }

    private func deliver(_ details: ContainerDetails, eventTimeNano: Int64?) {
        let id = details.id
        waiting.remove(id)
        troublesLogged[id] = nil
        deliveries += 1
        delivered[id] = (details.metadata, details.hasOwnPidsLimit, deliveries)
        reporting?.containerInspected(details, eventTimeNano: eventTimeNano)
        inspectionSettled(id)
    }

    /// The container no listing waits for any more: a listing whose every
    /// inspect settled is reported.
    private func inspectionSettled(_ id: ContainerID) {
        for key in Array(listings.keys) {
            guard listings[key]?.remaining.remove(id) != nil, listings[key]?.remaining.isEmpty == true else { continue }
            completeListing(key)
        }
    }

    /// Forgets containers the listing lacks and asks for the inspects of
    /// those not delivered; nil when there is nothing to wait for.
    private func beginListing(_ present: Set<ContainerID>, reason: String, deliveriesBefore: UInt64) -> UInt64? {
        guard !isStopped else { return nil }
        // One delivered after the listing was asked for may be younger than it.
        for (id, known) in delivered where !present.contains(id) && known.delivery <= deliveriesBefore { forget(id) }
        for id in waiting where !present.contains(id) {
            waiting.remove(id)
            reporting?.containerUnknown(id)
        }
        troublesLogged = troublesLogged.filter { present.contains($0.key) || inspections[$0.key] != nil }
        let toInspect = present.filter { delivered[$0] == nil }.sorted()
        for id in toInspect { requestInspection(id, eventTimeNano: nil) }
        nextSerial += 1
        let key = nextSerial
        listings[key] = PendingListing(present: present, reason: reason, deliveriesBefore: deliveriesBefore,
                                       remaining: Set(toInspect.filter { inspections[$0] != nil }),
                                       inspectedCount: toInspect.count)
        if listings[key]?.remaining.isEmpty == true { completeListing(key) }
        return key
    }

    private func completeListing(_ key: UInt64) {
        guard let listing = listings.removeValue(forKey: key) else { return }
        let younger = delivered.filter { $0.value.delivery > listing.deliveriesBefore }.keys
        reporting?.listingCompleted(listing.present.union(younger), reason: listing.reason)
        logger.info("engine listing (\(listing.reason)): \(listing.present.count) containers, \(listing.inspectedCount) inspected")
        listing.finished?.resume()
    }

    /// A `destroy`, or a listing without it: an answer still on its way is
    /// dropped, so a container gone is never judged on what it was.
    private func forget(_ id: ContainerID) {
        if let inspection = inspections.removeValue(forKey: id) {
            inspection.cancel()
            if let attempt = inspection.attemptSerial, runningAttempts.remove(attempt) != nil { startQueuedInspections() }
            inspectionSettled(id)
        }
        troublesLogged[id] = nil
        if delivered.removeValue(forKey: id) != nil { reporting?.containerGone(id) }
    }
}

/// The engine ended its event stream: the connection is over (an outage
/// until it answers again).
struct RuntimeStreamEnded: Error, CustomStringConvertible {
    var socketPath: String
    var description: String { "cannot reach the engine at \(socketPath): the engine closed the event stream" }
}
