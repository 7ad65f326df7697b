import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardDocker
import Logging

/// Opt-in containment (`actions:`): a consumer of the one outlet. Where the
/// operator asked for it, it caps a runaway container without a limit of
/// its own, or pauses, stops or kills one that refused forks at its limit
/// and stayed stuck there for `exhausted_for`. The policy is
/// `ContainmentPlanner` (Core); this part executes its decisions and writes
/// each result through the outlet as its own finding.
///
/// systemd-oomd's shape: during a pass it only takes note of the typed
/// findings (`observe`); after the pass (`afterPass`, on the daemon's
/// queue) it reads the watch's facts, decides, and acts: the kernel's
/// `pids.max` at once, engine calls in short tasks whose results come back
/// to the queue. So no judgement is ever interrupted by an action. An
/// action client (the only code that can change a container) is made per
/// action, only once the planner said to act, which it does only for
/// `actions.enabled`.
@DaemonActor
final class Containment: StoppingPart {
    /// The engine's own grace for `stop` before it kills: Docker's default.
    nonisolated static let stopTimeoutSeconds = 10

    /// What a finding asked for, decided after the pass.
    private enum Trigger {
        case cap(ContainerID, ContainmentReason)
        /// The host is at `host-pids-high` err.
        case hostPidsHigh
        case refused(ContainerID)
        case episodeEnded(ContainerID)
    }

    private var config: DockwardConfig
    private var planner = ContainmentPlanner()
    private let outlet: AlertOutlet
    private let pids: PidsWatch
    private let makeClient: ((ContainerID) -> ContainerActionAPI)?
    /// Whether the engine link is connected: a cap's engine update waits for it.
    private let engineIsUp: () -> Bool
    private let queue: DispatchQueue
    private let logger: Logger
    /// Noted during a pass, decided after it, in order.
    private var triggers: [Trigger] = []
    private var afterPassScheduled = false
    /// Caps in `pids.max` whose engine update waits for the engine.
    private var pendingUpdates: [ContainerID: Int64] = [:]
    /// Engine calls under way, by number, with the report their result
    /// completes (nil: an update owed from an earlier cap).
    private var calls: [Int: ActionReport?] = [:]
    private var nextCall = 0
    /// Who waits for the calls under way to end (a stop).
    private var drained: (@DaemonActor () -> Void)?
    /// How long a stop waits for them (`Daemon.actionsStopGrace`).
    private let stopGrace: Interval
    /// The daemon's monotonic clock: the time of a pass that no poll made.
    private let clock: @Sendable () -> Int64

    init(config: DockwardConfig, outlet: AlertOutlet, pids: PidsWatch,
         makeClient: ((ContainerID) -> ContainerActionAPI)?, engineIsUp: @escaping () -> Bool,
         stopGrace: Interval, clock: @escaping @Sendable () -> Int64, queue: DispatchQueue, logger: Logger) {
        self.stopGrace = stopGrace
        self.clock = clock
        self.config = config
        self.outlet = outlet
        self.pids = pids
        self.makeClient = makeClient
        self.engineIsUp = engineIsUp
        self.queue = queue
        self.logger = logger
    }

    func apply(_ newConfig: DockwardConfig) { config = newConfig }

    /// Engine calls under way.
    var inFlight: Int { calls.count }

    /// Every finding that leaves through the outlet: noted, never acted on
    /// here. Call on the queue.
    func observe(_ finding: Finding) {
        let trigger: Trigger
        switch finding {
        case .containerPids(let f, let ref, _) where f.kind == .pidsRecovered:
            trigger = .episodeEnded(ref.id)
        case .containerPids(let f, let ref, _) where config.actionsMayBeEnabled:
            switch f.kind {
            case .pidsForecast: trigger = .cap(ref.id, .runawayForecast)
            case .pidsExhausted where !f.cgroupGone: trigger = .refused(ref.id)
            default: return
            }
        case .hostPids(let f) where f.kind == .hostPidsHigh && f.priority == .err && config.actionsMayBeEnabled:
            trigger = .hostPidsHigh
        default:
            // Actions off everywhere (the default): nothing more per alert.
            return
        }
        triggers.append(trigger)
        // Findings come from polls, the kernel's refusal lines and the
        // engine's answers; whichever pass made this one, decide after it,
        // once: a poll's pass runs `afterPass` itself (`Daemon.tick`), which
        // leaves this one nothing to do. A second run would see no fresh
        // refusal and restart `exhausted_for` for a container refusing with room.
        guard !afterPassScheduled else { return }
        afterPassScheduled = true
        DaemonActor.async { [weak self] in
            guard let self, afterPassScheduled else { return }
            afterPass(now: clock())
        }
    }

    /// After a pass: decides on what the findings asked for, then gives
    /// `on_exhausted` to containers stuck at their limit for
    /// `exhausted_for`. The daemon calls it after each poll. Call on the queue.
    func afterPass(now: Int64) {
        afterPassScheduled = false
        let noted = triggers
        triggers.removeAll()
        for trigger in noted {
            switch trigger {
            case .episodeEnded(let id):
                planner.episodeEnded(id)
            case .cap(let id, let reason):
                guard let f = pids.facts(for: id), !f.hasOwnLimit else { continue }
                considerCap(f, reason: reason, at: now)
            case .hostPidsHigh:
                // The fastest-growing container without a limit of its own.
                let runaway = pids.allFacts().filter { !$0.hasOwnLimit && $0.rate > 0 }.max { $0.rate < $1.rate }
                if let f = runaway { considerCap(f, reason: .hostPidsHigh, at: now) }
            case .refused(let id):
                guard let f = pids.facts(for: id), f.hasOwnLimit else { continue }
                let policy = config.actionsPolicy(for: f.metadata)
                guard policy.enabled, policy.onExhausted != .none else { continue }
                planner.refusalSeen(id, at: now)
            }
        }
        checkExhausted(now: now)
    }

    private func checkExhausted(now: Int64) {
        for id in planner.refusing {
            guard let f = pids.facts(for: id) else {
                planner.episodeEnded(id)
                continue
            }
            let policy = config.actionsPolicy(for: f.metadata)
            guard let action = ContainmentAction(policy.onExhausted),
                  planner.exhaustionDue(id, current: f.current, limit: f.limit, lastRefusalAt: f.lastRefusalAt,
                                        policy: policy, at: now) else { continue }
            consider(action, reason: .exhausted, f, policy: policy, at: now)
        }
    }

    /// A stop: `done` runs on the queue once the engine calls under way have
    /// answered and their results are journaled, or at `deadline` (and never
    /// later than `stopGrace` from now), when each one still open is
    /// journaled as failed (its result unknown).
    func shutdown(deadline: Int64, done: @escaping @DaemonActor () -> Void) {
        guard !calls.isEmpty else { return done() }
        drained = done
        let wait = min(StopSequence.timeLeft(until: deadline), stopGrace.nanoseconds)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [weak self] in
            DaemonActor.run { self?.giveUpOnCalls() }
        }
    }

    /// The stop's grace ran out: each call still open is journaled as failed.
    private func giveUpOnCalls() {
        guard let done = drained else { return }
        drained = nil
        for (_, report) in calls.sorted(by: { $0.key < $1.key }) {
            guard let report else { continue }
            send(report, .failed) {
                $0.error = "dockward stopped before the engine answered (within \(self.stopGrace)); the action may still take effect: check docker inspect"
            }
        }
        calls.removeAll()
        done()
    }

    // MARK: State carried across restarts

    /// Per container: the action settled this episode, and a pids limit set
    /// in `pids.max` that the engine has not been told yet.
    var savedState: [ContainerID: (settled: String?, pendingLimit: Int64?)] {
        var out: [ContainerID: (settled: String?, pendingLimit: Int64?)] = [:]
        for (id, name) in planner.settled { out[id, default: (nil, nil)].settled = name }
        for (id, limit) in pendingUpdates { out[id, default: (nil, nil)].pendingLimit = limit }
        return out
    }

    /// From the last run: settled episodes are not acted on again, and
    /// pending engine updates are sent at the next connection.
    func resume(settled: [ContainerID: String], pendingLimits: [ContainerID: Int64]) {
        planner.resume(settled: settled)
        pendingUpdates.merge(pendingLimits) { _, saved in saved }
    }

    func containerGone(_ id: ContainerID) {
        planner.episodeEnded(id)
        pendingUpdates[id] = nil
    }

    /// The engine answers again: caps set in `pids.max` while it was away
    /// are told to it now, so `docker inspect` shows them.
    func engineConnected() {
        for (id, limit) in pendingUpdates.sorted(by: { $0.key < $1.key }) {
            guard let client = makeClient?(id) else { return }
            call(client, .updatePidsLimit(limit), report: nil) { [self] error in
                switch error.map(Self.classify) {
                case nil:
                    pendingUpdates[id] = nil
                    logger.notice("told the engine the pids limit of \(limit) set on container \(id.short) while it was away; docker inspect shows it now")
                case .unreachable?:
                    break  // still away: again at the next connection
                case .refused(let why)?:
                    pendingUpdates[id] = nil
                    logger.warning("the engine refused the pids limit of \(limit) for container \(id.short) (set in pids.max while it was away): \(why)")
                }
            }
        }
    }

    // MARK: Deciding

    private func considerCap(_ f: ContainerFacts, reason: ContainmentReason, at now: Int64) {
        let policy = config.actionsPolicy(for: f.metadata)
        guard policy.capUnlimited > 0 else { return }
        consider(.cap(policy.capUnlimited), reason: reason, f, policy: policy, at: now)
    }

    private func consider(_ action: ContainmentAction, reason: ContainmentReason, _ f: ContainerFacts,
                          policy: ActionsPolicy, at now: Int64) {
        let guards = ContainmentGuards(metadata: f.metadata, ignored: config.policy(for: f.metadata).ignore,
                                       allowRuleMatches: config.hostControl.allow.contains { $0.matches(f.metadata) })
        let report = ActionReport(result: .taken, action: action, reason: reason, container: f.ref,
                                  current: f.current, limit: f.limit)
        switch planner.decide(action, for: f.id, guards: guards, policy: policy, at: now) {
        case .nothing:
            return
        case .skip(_, let why):
            send(report, .skipped) { $0.skipReason = why }
        case .dryRun:
            send(report, .dryRun)
        case .act(let action):
            execute(action, report)
        }
    }

    // MARK: Acting

    private func execute(_ action: ContainmentAction, _ report: ActionReport) {
        let id = report.container.id
        let client = makeClient?(id)
        guard case .cap(let limit) = action else {
            guard let client else { return send(report, .failed) { $0.error = "no engine client for actions" } }
            let request: ContainerActionRequest = switch action {
            case .pause: .pause
            case .stop: .stop(timeoutSeconds: Self.stopTimeoutSeconds)
            default: .kill
            }
            call(client, request, report: report) { [self] error in
                send(report, error == nil ? .taken : .failed) { $0.error = error.map { "\($0)" } }
            }
            return
        }
        // The kernel first: it takes effect at once, whether the engine answers or not.
        var cgroupWrite = ActionReport.StepOutcome.failed("no cgroup path")
        if let path = report.container.cgroupPath {
            do {
                try PidsLimitFile.write(limit, cgroupDirectory: path)
                cgroupWrite = .ok
                pids.limitGiven(id)
            } catch {
                cgroupWrite = .failed("\(error)")
            }
        }
        let kernelCapped = cgroupWrite == .ok
        guard engineIsUp(), let client else {
            if kernelCapped { pendingUpdates[id] = limit }
            return send(report, kernelCapped ? .taken : .failed) {
                $0.cgroupWrite = cgroupWrite
                $0.engineUpdate = .pending
                if let why = cgroupWrite.failure { $0.error = "\(why); the engine is unreachable" }
            }
        }
        var inFlightReport = report
        inFlightReport.cgroupWrite = cgroupWrite
        call(client, .updatePidsLimit(limit), report: inFlightReport) { [self] error in
            var engineUpdate = ActionReport.StepOutcome.ok
            switch error.map(Self.classify) {
            case nil: pids.limitGiven(id)
            case .unreachable?:
                engineUpdate = .pending
                if kernelCapped { pendingUpdates[id] = limit }
            case .refused(let why)?: engineUpdate = .failed(why)
            }
            let took = kernelCapped || engineUpdate == .ok
            send(report, took ? .taken : .failed) {
                $0.cgroupWrite = cgroupWrite
                $0.engineUpdate = engineUpdate
                if !took { $0.error = "pids.max: \(cgroupWrite.failure ?? "ok"); engine: \(engineUpdate.text)" }
            }
        }
    }

    private enum EngineFailure { case unreachable, refused(String) }

    /// An engine that cannot be reached is retried later; any other answer is final.
    private static func classify(_ error: Error) -> EngineFailure {
        switch error {
        case DockerClientError.engineUnreachable, DockerClientError.socketMissing: return .unreachable
        default: return .refused("\(error)")
        }
    }

    /// One engine call in a short task, awaited off the queue; `done` runs
    /// on the queue with its error, if any, unless a stop gave up on it.
    private func call(_ client: ContainerActionAPI, _ request: ContainerActionRequest, report: ActionReport?,
                      _ done: @escaping @DaemonActor (Error?) -> Void) {
        let number = nextCall
        nextCall += 1
        calls[number] = .some(report)
        Task(priority: EngineLink.workPriority) { @DaemonActor [self] in
            var failure: Error?
            do { try await client.perform(request) } catch { failure = error }
            guard calls.removeValue(forKey: number) != nil else { return }  // journaled as unknown at stop
            done(failure)
            if calls.isEmpty, let waiter = drained {
                drained = nil
                waiter()
            }
        }
    }

    private func send(_ report: ActionReport, _ result: ActionReport.Result, _ edit: (inout ActionReport) -> Void = { _ in }) {
        var r = report
        r.result = result
        edit(&r)
        outlet.send(.action(r))
    }
}
