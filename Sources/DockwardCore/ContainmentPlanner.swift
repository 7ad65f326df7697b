/// What dockward may do to a runaway container (`actions:`).
public enum ContainmentAction: Equatable, Sendable {
    /// Give a container without a limit of its own this pids limit.
    case cap(Int64)
    case pause
    case stop
    case kill

    /// The `DOCKWARD_ACTION` field and the metrics' `action` label.
    public var name: String {
        switch self {
        case .cap: "cap"
        case .pause: "pause"
        case .stop: "stop"
        case .kill: "kill"
        }
    }

    public static let names = ["cap", "pause", "stop", "kill"]

    public init?(_ onExhausted: ActionsPolicy.OnExhausted) {
        switch onExhausted {
        case .none: return nil
        case .pause: self = .pause
        case .stop: self = .stop
        case .kill: self = .kill
        }
    }
}

/// Why an action is considered.
public enum ContainmentReason: String, Equatable, Sendable {
    /// A container without a limit of its own was forecast to meet its
    /// ceiling (`pids-forecast`).
    case runawayForecast = "runaway-forecast"
    /// The host is at `host-pids-high` err and this container, without a
    /// limit of its own, grows fastest of those without one.
    case hostPidsHigh = "host-pids-high"
    /// It refused forks at its own limit and has been stuck there (still
    /// refusing, or at its limit) for `exhausted_for`.
    case exhausted
}

/// Why an action was not taken though the policy asked for it
/// (`SKIP_REASON`).
public enum SkipReason: String, Equatable, Sendable {
    /// Labelled `dockward.actions=off`.
    case label
    /// Matched by an override with `ignore: true`.
    case ignored
    /// Matched by a `host_control.allow` rule.
    case allowRule = "allow-rule"
    /// The engine never named it, so its labels (the opt-out) are unknown.
    case unknownContainer = "unknown-container"
    /// One action per container per episode; this episode already had one.
    case alreadyActed = "already-acted"
    /// The global rate limit was reached.
    case rateLimit = "rate-limit"
}

/// What the daemon knows of a container when an action is considered.
public struct ContainmentGuards: Equatable, Sendable {
    public var metadata: ContainerMetadata?
    /// An override with `ignore: true` matches it.
    public var ignored: Bool
    /// A `host_control.allow` rule matches it.
    public var allowRuleMatches: Bool

    public init(metadata: ContainerMetadata?, ignored: Bool = false, allowRuleMatches: Bool = false) {
        self.metadata = metadata
        self.ignored = ignored
        self.allowRuleMatches = allowRuleMatches
    }

    /// The label that keeps actions off a container, whatever the config says.
    public static let optOutLabel = "dockward.actions"

    /// The first guard that forbids acting on it, if any.
    public var forbidding: SkipReason? {
        guard let metadata else { return .unknownContainer }
        if metadata.labels[Self.optOutLabel] == "off" { return .label }
        if ignored { return .ignored }
        if allowRuleMatches { return .allowRule }
        return nil
    }
}

/// The planner's answer.
public enum ContainmentDecision: Equatable, Sendable {
    /// Nothing asked for, or already said.
    case nothing
    case act(ContainmentAction)
    /// `dry_run`: say what would be done, change nothing.
    case dryRun(ContainmentAction)
    case skip(ContainmentAction, SkipReason)
}

/// The pure policy of containment: from a trigger, a container's guards,
/// its actions policy and the time, what to do. It keeps the state that
/// makes actions rare: one action per container per episode (an episode
/// ends with `pids-recovered` or when the container is gone), since when
/// each container has been stuck at its limit, and a global rate limit, so a
/// bug cannot stop a fleet. No I/O: the daemon executes the decisions.
public struct ContainmentPlanner: Sendable {
    /// At most this many actions (dry runs included) in any `rateWindow`:
    /// enough for a few runaways at once, far too few to stop a fleet.
    public static let maxActionsPerWindow = 5
    public static let rateWindow = Interval.seconds(60)
    private struct Episode {
        /// The name of the action taken, dry-run or skipped for good this episode.
        var settled: String?
        /// Reasons already said in an `action-skipped` entry this episode.
        var said: Set<String> = []
        /// Its exhaustion is timed: it refused forks at its own limit this episode.
        var refused = false
        /// Since when it has been stuck without a break (see `exhaustionDue`).
        var stuckSince: Int64?
        /// When it was last checked: refusals after it are new.
        var checkedAt: Int64?
    }

    private var episodes: [ContainerID: Episode] = [:]
    /// Times of the actions in the current window, oldest first.
    private var recent: [Int64] = []

    public init() {}

    /// Containers whose exhaustion is being timed for `exhausted_for`.
    public var refusing: [ContainerID] { episodes.compactMap { $0.value.refused ? $0.key : nil }.sorted() }

    /// A `pids-exhausted` finding of a container refusing forks at its own
    /// limit: its exhaustion is timed from now on, until the episode ends.
    public mutating func refusalSeen(_ id: ContainerID, at now: Int64) {
        var episode = episodes[id, default: Episode()]
        guard episode.settled == nil else { return }
        episode.refused = true
        if episode.stuckSince == nil { episode.stuckSince = now }
        episodes[id] = episode
    }

    /// Whether the exhausted action is due, checked after each poll: since
    /// its refusals the container has been stuck at its limit, without a
    /// break, for `exhausted_for`. Stuck means still refusing forks (a
    /// refusal since the last check) or pinned at (or one below) its own
    /// limit: a saturated fork bomb refuses a burst of forks, then holds
    /// every slot with its shells blocked and refuses no more; it is as stuck
    /// as one still refusing. A break (it got room and refused nothing)
    /// restarts the timing at the next stuck check.
    public mutating func exhaustionDue(_ id: ContainerID, current: Int64?, limit: Int64?, lastRefusalAt: Int64?,
                                       policy: ActionsPolicy, at now: Int64) -> Bool {
        guard var episode = episodes[id], episode.refused, episode.settled == nil else { return false }
        defer {
            episode.checkedAt = now
            episodes[id] = episode
        }
        let refusing = lastRefusalAt.map { $0 > (episode.checkedAt ?? .min) } ?? false
        let pinned = current.flatMap { c in limit.map { c >= $0 - 1 } } ?? false
        guard refusing || pinned else {
            episode.stuckSince = nil
            return false
        }
        let since = episode.stuckSince ?? now
        episode.stuckSince = since
        return now - since >= policy.exhaustedFor.nanoseconds
    }

    /// The episodes already settled (acted on, dry-run, or skipped for good),
    /// by the action's name: what a restart must not do again.
    public var settled: [ContainerID: String] { episodes.compactMapValues(\.settled) }

    /// Episodes settled before a restart: not acted on again until they end.
    public mutating func resume(settled: [ContainerID: String]) {
        for (id, name) in settled { episodes[id, default: Episode()].settled = name }
    }

    /// The container recovered (`pids-recovered`) or is gone: a new episode may act again.
    public mutating func episodeEnded(_ id: ContainerID) {
        episodes[id] = nil
    }

    /// Decides about `action` for one container. Every answer but
    /// `.nothing` is to be written as one entry; state moves as if it was.
    public mutating func decide(_ action: ContainmentAction, for id: ContainerID, guards: ContainmentGuards,
                                policy: ActionsPolicy, at now: Int64) -> ContainmentDecision {
        guard policy.enabled else { return .nothing }
        var episode = episodes[id, default: Episode()]
        defer { episodes[id] = episode }
        if let done = episode.settled {
            episode.refused = false
            // The same action asked again (a reminder) is no news; another one is said once.
            guard done != action.name else { return .nothing }
            return episode.said.insert(SkipReason.alreadyActed.rawValue).inserted ? .skip(action, .alreadyActed) : .nothing
        }
        if let reason = guards.forbidding {
            // Left alone for the whole episode, said once.
            episode.settled = action.name
            episode.refused = false
            episode.said.formUnion([reason.rawValue, SkipReason.alreadyActed.rawValue])
            return .skip(action, reason)
        }
        recent.removeAll { now - $0 >= Self.rateWindow.nanoseconds }
        if recent.count >= Self.maxActionsPerWindow {
            // Not settled: tried again at its next trigger, said once.
            return episode.said.insert(SkipReason.rateLimit.rawValue).inserted ? .skip(action, .rateLimit) : .nothing
        }
        recent.append(now)
        episode.settled = action.name
        episode.refused = false
        return policy.dryRun ? .dryRun(action) : .act(action)
    }
}

/// One action's result, as its journal entry tells it.
public struct ActionReport: Equatable, Sendable {
    public enum Result: String, Equatable, Sendable, CaseIterable {
        case taken, failed, skipped
        case dryRun = "dry-run"

        public var kind: EntryKind {
            switch self {
            case .taken: .actionTaken
            case .failed: .actionFailed
            case .skipped: .actionSkipped
            case .dryRun: .actionDryRun
            }
        }
    }

    public var result: Result
    public var action: ContainmentAction
    public var reason: ContainmentReason
    public var container: ContainerRef
    /// Its task count and pids limit (nil: none of its own) when decided.
    public var current: Int64?
    public var limit: Int64?
    public var skipReason: SkipReason?
    /// Why it failed (the kernel's or the engine's words).
    public var error: String?
    /// How one step of a cap went: the kernel's `pids.max`, or the
    /// engine's `HostConfig.PidsLimit`.
    public enum StepOutcome: Equatable, Sendable {
        case ok
        /// The engine is away; it is told when it is back.
        case pending
        case failed(String)

        /// As the entry's field says it: `ok`, `pending`, `failed: <why>`.
        public var text: String {
            switch self {
            case .ok: "ok"
            case .pending: "pending"
            case .failed(let why): "failed: \(why)"
            }
        }

        public var failure: String? {
            if case .failed(let why) = self { return why }
            return nil
        }
    }

    /// A cap's two steps: the kernel's `pids.max` and the engine's
    /// `HostConfig.PidsLimit`.
    public var cgroupWrite: StepOutcome?
    public var engineUpdate: StepOutcome?

    public init(result: Result, action: ContainmentAction, reason: ContainmentReason, container: ContainerRef,
                current: Int64? = nil, limit: Int64? = nil, skipReason: SkipReason? = nil, error: String? = nil,
                cgroupWrite: StepOutcome? = nil, engineUpdate: StepOutcome? = nil) {
        self.result = result
        self.action = action
        self.reason = reason
        self.container = container
        self.current = current
        self.limit = limit
        self.skipReason = skipReason
        self.error = error
        self.cgroupWrite = cgroupWrite
        self.engineUpdate = engineUpdate
    }

    /// The command that undoes the action.
    public var undo: String {
        let id = container.id.short
        switch action {
        case .cap: return "docker update --pids-limit -1 \(id)"
        case .pause: return "docker unpause \(id)"
        case .stop, .kill: return "docker start \(id)"
        }
    }
}

extension AlertText {
    /// `action-taken`, `action-failed`, `action-skipped` or `action-dry-run`.
    public static func action(_ r: ActionReport) -> EntryText {
        let who = "container \(sanitizedForMessage(r.container.displayName)) (\(r.container.id.short))"
        // The action in the base form ("would pause ...") and as done ("Paused ...").
        let doing: String
        let done: String
        switch r.action {
        case .cap(let n):
            doing = "give \(who) a pids limit of \(n)"
            done = "Gave \(who) a pids limit of \(n)"
        case .pause:
            doing = "pause \(who)"
            done = "Paused \(who)"
        case .stop:
            doing = "stop \(who)"
            done = "Stopped \(who)"
        case .kill:
            doing = "kill \(who)"
            done = "Killed \(who)"
        }
        let why: String
        switch r.reason {
        case .runawayForecast:
            why = "it has no pids limit of its own and its task count was forecast to meet its ceiling"
        case .hostPidsHigh:
            why = "the host's process table is at its critical level and it grows fastest of the containers without a pids limit of their own"
        case .exhausted:
            let of = r.limit.map { " of \($0)" } ?? ""
            why = "it refused forks at its pids limit\(of) and stayed stuck at it, refusing or with every task slot taken, for actions.exhausted_for"
        }
        let count = r.current.map { " (\(tasks($0)) then)" } ?? ""
        var message: String
        switch r.result {
        case .taken:
            message = "\(done): \(why)\(count). Undo: \(r.undo)."
            if r.engineUpdate == .pending {
                message += " The kernel limit (pids.max) is in place; the engine is unreachable, so docker inspect shows it once dockward has told the engine."
            }
        case .failed:
            message = "Could not \(doing) (\(why)): \(sanitizedForMessage(r.error ?? "unknown error"))."
        case .skipped:
            let because: String
            switch r.skipReason ?? .alreadyActed {
            case .label: because = "it is labelled \(ContainmentGuards.optOutLabel)=off"
            case .ignored: because = "an override ignores it (ignore: true)"
            case .allowRule: because = "a host_control.allow rule matches it"
            case .unknownContainer: because = "the engine has not named it, so its labels (the opt-out) are unknown"
            case .alreadyActed: because = "one action was already taken this episode"
            case .rateLimit:
                because = "the global limit of \(ContainmentPlanner.maxActionsPerWindow) actions per \(ContainmentPlanner.rateWindow) was reached"
            }
            message = "Left alone: did not \(doing) (\(why)): \(because)."
        case .dryRun:
            message = "Dry run: would \(doing): \(why)\(count). Nothing was changed (actions.dry_run)."
        }
        var fields: [(name: String, value: String)] = [
            ("DOCKWARD_ACTION", r.action.name),
            ("ACTION_REASON", r.reason.rawValue),
        ]
        if case .cap(let n) = r.action { fields.append(("PIDS_LIMIT_SET", String(n))) }
        if let c = r.current { fields.append(("PIDS_CURRENT", String(c))) }
        if let l = r.limit { fields.append(("PIDS_MAX", String(l))) }
        if let s = r.skipReason { fields.append(("SKIP_REASON", s.rawValue)) }
        if let e = r.error { fields.append(("ACTION_ERROR", e)) }
        if let c = r.cgroupWrite { fields.append(("CGROUP_WRITE", c.text)) }
        if let e = r.engineUpdate { fields.append(("ENGINE_UPDATE", e.text)) }
        if r.result == .taken || r.result == .dryRun { fields.append(("ACTION_UNDO", r.undo)) }
        return EntryText(message: message, fields: fields)
    }
}
