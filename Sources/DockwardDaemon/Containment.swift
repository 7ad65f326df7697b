import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardDocker
import Logging

/// Opt-in containment (`actions:`): hangs on the one outlet, hears every
/// alert, and, where the operator asked for it, caps a runaway container
/// without a limit of its own, or pauses, stops or kills one that has
/// refused forks at its limit for `exhausted_for`. The policy is
/// `ContainmentPlanner` (Core); this part reads the facts, executes the
/// decisions and writes each result through the outlet as its own entry.
///
/// All state lives on the daemon's queue. Engine calls run in short tasks
/// that hop back to the queue with their result. An action client (the only
/// code that can change a container) is made per action, only once the
/// planner said to act, which it does only for `actions.enabled`.
final class Containment {
    private var config: DockwardConfig
    private var planner = ContainmentPlanner()
    private let outlet: AlertOutlet
    private let pids: PidsWatch
    private let makeClient: ((ContainerID) -> ContainerActionAPI)?
    private let queue: DispatchQueue
    private let logger: Logger
    /// The daemon's clock as of its last tick: what the planner times with.
    private var now: Int64 = 0
    /// Whether the engine link is connected; a cap's engine update waits for it.
    private var engineUp = false
    /// Caps in `pids.max` whose engine update waits for the engine.
    private var pendingUpdates: [ContainerID: Int64] = [:]
    /// Engine calls under way, so a stop waits for none and tests can wait for them.
    private(set) var inFlight = 0

    init(config: DockwardConfig, outlet: AlertOutlet, pids: PidsWatch,
         makeClient: ((ContainerID) -> ContainerActionAPI)?, queue: DispatchQueue, logger: Logger) {
        self.config = config
        self.outlet = outlet
        self.pids = pids
        self.makeClient = makeClient
        self.queue = queue
        self.logger = logger
    }

    func apply(_ newConfig: DockwardConfig) { config = newConfig }

    /// The start of a tick: findings made during the poll are timed with this.
    func clock(_ now: Int64) { self.now = now }

    /// Every entry that leaves through the outlet. Call on the queue.
    func observe(_ entry: JournalEntry) {
        guard entry.kind.isAlert, !entry.kind.isAction else { return }
        if entry.kind == .pidsRecovered {
            if let id = entry.container?.id { planner.episodeEnded(id) }
            return
        }
        // Actions off everywhere (the default): nothing more per alert.
        guard config.actionsMayBeEnabled else { return }
        switch entry.kind {
        case .pidsForecast:
            guard let id = entry.container?.id, let f = pids.facts(for: id), !f.hasOwnLimit else { return }
            considerCap(f, reason: .runawayForecast)
        case .hostPidsHigh where entry.priority == .err:
            // The fastest-growing container without a limit of its own.
            let runaway = pids.allFacts().filter { !$0.hasOwnLimit && $0.rate > 0 }.max { $0.rate < $1.rate }
            if let f = runaway { considerCap(f, reason: .hostPidsHigh) }
        case .pidsExhausted:
            guard let id = entry.container?.id, let f = pids.facts(for: id), f.hasOwnLimit else { return }
            let policy = config.actionsPolicy(for: f.metadata)
            guard policy.enabled, policy.onExhausted != .none else { return }
            planner.refusalSeen(id, at: now)
        default:
            break
        }
    }

    /// After each poll: containers refusing forks at their limit for
    /// `exhausted_for` get `on_exhausted`. Call on the queue.
    func checkExhausted() {
        for id in planner.refusing {
            guard let f = pids.facts(for: id) else {
                planner.episodeEnded(id)
                continue
            }
            let policy = config.actionsPolicy(for: f.metadata)
            guard let action = ContainmentAction(policy.onExhausted),
                  planner.exhaustionDue(id, lastRefusalAt: f.lastRefusalAt, policy: policy, at: now) else { continue }
            consider(action, reason: .exhausted, f, policy: policy)
        }
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

    func engineLost() { engineUp = false }

    /// The engine answers again: caps set in `pids.max` while it was away
    /// are told to it now, so `docker inspect` shows them.
    func engineConnected() {
        engineUp = true
        for (id, limit) in pendingUpdates.sorted(by: { $0.key < $1.key }) {
            guard let client = makeClient?(id) else { return }
            call(client, .updatePidsLimit(limit)) { [self] error in
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

    private func considerCap(_ f: ContainerFacts, reason: ContainmentReason) {
        let policy = config.actionsPolicy(for: f.metadata)
        guard policy.capUnlimited > 0 else { return }
        consider(.cap(policy.capUnlimited), reason: reason, f, policy: policy)
    }

    private func consider(_ action: ContainmentAction, reason: ContainmentReason, _ f: ContainerFacts, policy: ActionsPolicy) {
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
            case .stop: .stop(timeoutSeconds: 10)
            default: .kill
            }
            call(client, request) { [self] error in
                send(report, error == nil ? .taken : .failed) { $0.error = error.map { "\($0)" } }
            }
            return
        }
        // The kernel first: it takes effect at once, whether the engine answers or not.
        var cgroupWrite = "failed: no cgroup path"
        if let path = report.container.cgroupPath {
            do {
                try PidsLimitFile.write(limit, cgroupDirectory: path)
                cgroupWrite = "ok"
                pids.limitGiven(id)
            } catch {
                cgroupWrite = "failed: \(error)"
            }
        }
        let kernelCapped = cgroupWrite == "ok"
        guard engineUp, let client else {
            if kernelCapped { pendingUpdates[id] = limit }
            return send(report, kernelCapped ? .taken : .failed) {
                $0.cgroupWrite = cgroupWrite
                $0.engineUpdate = "pending"
                if !kernelCapped { $0.error = "\(cgroupWrite.dropFirst(8)); the engine is unreachable" }
            }
        }
        call(client, .updatePidsLimit(limit)) { [self] error in
            var engineUpdate = "ok"
            switch error.map(Self.classify) {
            case nil: pids.limitGiven(id)
            case .unreachable?:
                engineUpdate = "pending"
                if kernelCapped { pendingUpdates[id] = limit }
            case .refused(let why)?: engineUpdate = "failed: \(why)"
            }
            let took = kernelCapped || engineUpdate == "ok"
            send(report, took ? .taken : .failed) {
                $0.cgroupWrite = cgroupWrite
                $0.engineUpdate = engineUpdate
                if !took { $0.error = "pids.max: \(cgroupWrite.dropFirst(8)); engine: \(engineUpdate)" }
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

    /// One engine call in a short task; `done` runs on the queue with its error, if any.
    private func call(_ client: ContainerActionAPI, _ request: ContainerActionRequest,
                      _ done: @escaping (Error?) -> Void) {
        inFlight += 1
        Task(priority: EngineLink.workPriority) { [queue] in
            var failure: Error?
            do { try await client.perform(request) } catch { failure = error }
            let result = failure
            queue.async { [self] in
                inFlight -= 1
                done(result)
            }
        }
    }

    private func send(_ report: ActionReport, _ result: ActionReport.Result, _ edit: (inout ActionReport) -> Void = { _ in }) {
        var r = report
        r.result = result
        edit(&r)
        outlet.send(AlertText.action(r))
    }
}
