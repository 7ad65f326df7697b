/// What the detector concluded from one sample. The daemon turns findings
/// into journal entries (it knows the container's name and cgroup path).
public struct PidsFinding: Equatable, Sendable {
    public var kind: EntryKind
    /// The level the data gave, where the kind table leaves the priority to
    /// it (the threshold of `pids-high` and `host-pids-high`).
    private var level: Priority?
    /// The kind table's priority, or the level the data gave. Worked out
    /// when asked, not made: a detector makes findings on its hot path
    /// (every poll, for each container without a limit) and drops most.
    public var priority: Priority {
        get { kind.facts.priority.priority(given: level) }
        set { level = newValue }
    }
    /// True when this repeats an open episode (`alerts.repeat_interval`).
    public var isReminder: Bool
    public var current: Int64
    /// The limit the finding is measured against: `pids.max`, or for a
    /// container without one, the host's remaining room added to its count.
    public var limit: Int64?
    public var limitIsHost: Bool
    /// `limit` is a ceiling set around the container, not one it asked for.
    public var limitIsInherited: Bool
    /// Where an inherited ceiling comes from, as the watch knows it
    /// ("systemd's DefaultTasksMax on its scope").
    public var ceilingOrigin: String?
    public var refusedForks: Int64?
    /// Forks refused since the previous finding of this kind.
    public var newlyRefused: Int64?
    public var rate: Double?
    public var secondsToLimit: Double?
    public var ratio: Double?
    /// The container's cgroup was gone when the refusal was looked at (it
    /// died of it): the figures are the last ones known, or none.
    public var cgroupGone: Bool
    /// The limit that refused, when not the container's own (`limit` is then its value).
    public var refusingLimit: RefusingLimit?
    /// A Kubernetes container's limit from kubelet's tree (its pod's, its
    /// QoS class's, the node's) and that cgroup; nil for its own limit.
    public var limitLevel: KubernetesCgroups.Level?
    public var limitCgroup: String?
    /// For a pod that exhausted its limit: the tasks each of its
    /// containers holds.
    public var podTasks: [PodTasks] = []

    /// `priority` only where the kind table leaves it to the data (the
    /// threshold of `pids-high` and `host-pids-high`); a kind with a fixed
    /// priority always takes the table's.
    public init(kind: EntryKind, priority: Priority? = nil, isReminder: Bool = false, current: Int64, limit: Int64? = nil,
                limitIsHost: Bool = false, limitIsInherited: Bool = false, ceilingOrigin: String? = nil,
                refusedForks: Int64? = nil, newlyRefused: Int64? = nil,
                rate: Double? = nil, secondsToLimit: Double? = nil, ratio: Double? = nil, cgroupGone: Bool = false,
                refusingLimit: RefusingLimit? = nil) {
        self.kind = kind
        self.level = priority
        self.isReminder = isReminder
        self.current = current
        self.limit = limit
        self.limitIsHost = limitIsHost
        self.limitIsInherited = limitIsInherited
        self.ceilingOrigin = ceilingOrigin
        self.refusedForks = refusedForks
        self.newlyRefused = newlyRefused
        self.rate = rate
        self.secondsToLimit = secondsToLimit
        self.ratio = ratio
        self.cgroupGone = cgroupGone
        self.refusingLimit = refusingLimit
    }
}

/// Timing knobs shared by every container, from the config.
public struct AlertTiming: Equatable, Sendable {
    public var repeatInterval: Interval
    public var recoverAfter: Interval
    public init(repeatInterval: Interval, recoverAfter: Interval) {
        self.repeatInterval = repeatInterval
        self.recoverAfter = recoverAfter
    }
    public init(_ config: DockwardConfig) {
        self.init(repeatInterval: config.repeatInterval, recoverAfter: config.recoverAfter)
    }
}

/// An open alert: one per kind while its condition lasts.
struct Episode: Equatable, Sendable {
    var priority: Priority
    var lastEmitted: Int64
    /// `pids.events` max count when the episode last spoke, to report how many
    /// forks were refused in between.
    var refusedAtLastEmit: Int64 = 0

    func reminderDue(at now: Int64, _ timing: AlertTiming) -> Bool {
        now - lastEmitted >= timing.repeatInterval.nanoseconds
    }
}

/// Per-container state carried from one poll to the next (the oomd way:
/// last counters, "above since", open episodes), and the pure function that
/// turns the next sample into findings.
public struct ContainerPidsDetector: Sendable {
    public private(set) var trend: PidsTrend
    var lastRefused: Int64?
    public internal(set) var lastRefusalAt: Int64?
    var unlimitedReported = false
    var unlimitedSince: Int64?
    /// What the engine says of the container's own limit
    /// (`HostConfig.PidsLimit` > 0): false when it asked for none, so a
    /// number in `pids.max` is a ceiling set around it (systemd's
    /// `DefaultTasksMax` on its scope, a parent cgroup); nil while unknown.
    public var hasOwnLimit: Bool?
    /// Longer than a runtime takes between creating a cgroup and writing
    /// its `pids.max`, short enough that the warning is still prompt.
    public static let unlimitedSettleTime = Interval.seconds(1)
    var warnSince: Int64?
    var criticalSince: Int64?
    var lastTroubleAt: Int64 = 0
    var high: Episode?
    var exhausted: Episode?
    var forecast: Episode?

    /// Whether forks refused before the first sample count as news. True for
    /// a container that appeared while dockward runs: a fast fork bomb hits
    /// its limit within milliseconds, before the first poll sees it. False
    /// for containers already there at start, whose old count is history
    /// (unless they are at their limit right now).
    let countsEarlierRefusals: Bool

    public init(policy: PidsPolicy, countsEarlierRefusals: Bool = false) {
        trend = PidsTrend(window: policy.forecastWindow)
        self.countsEarlierRefusals = countsEarlierRefusals
    }

    /// True while any pids episode of this container is open.
    public var isAlerting: Bool { high != nil || exhausted != nil || forecast != nil }

    /// Keeps the history when only thresholds change; a new window needs
    /// buckets of another width.
    public mutating func adopt(policy: PidsPolicy) {
        guard policy.forecastWindow != trend.window else { return }
        var fresh = PidsTrend(window: policy.forecastWindow)
        for i in 0..<trend.count { fresh.append(time: trend[i].time, value: trend[i].value) }
        trend = fresh
    }

    /// `pids-unlimited` for a container with no limit of its own: `pids.max`
    /// is `max` (only the host's ceiling stops it), or holds a number the
    /// engine says it did not ask for (`hasOwnLimit == false`: a ceiling set
    /// around it). nil when it has a limit of its own. The one rule, for the
    /// daemon and for `dockward audit`.
    public static func unlimitedFinding(_ sample: PidsSample, hasOwnLimit: Bool?, host: HostPidsSample?,
                                        ceilingOrigin: String?) -> PidsFinding? {
        if sample.isUnlimited {
            return PidsFinding(kind: .pidsUnlimited, current: sample.current,
                               limit: host.map { $0.ceiling }, limitIsHost: true)
        }
        // A limit kubelet set on its pod (podPidsLimit), its QoS class or
        // the node is the one meant for it: no warning.
        guard hasOwnLimit == false, sample.limitLevel == nil else { return nil }
        return PidsFinding(kind: .pidsUnlimited, current: sample.current,
                           limit: sample.limit, limitIsInherited: true, ceilingOrigin: ceilingOrigin)
    }

    /// Feeds one sample taken at monotonic time `now` (nanoseconds).
    /// `ceilingOrigin`: where a ceiling the container did not ask for comes
    /// from, as the watch knows it from the cgroup driver; it goes into the
    /// finding that names such a ceiling.
    public mutating func observe(_ sample: PidsSample, at now: Int64, policy: PidsPolicy,
                                 timing: AlertTiming, host: HostPidsSample?,
                                 ceilingOrigin: String? = nil) -> [PidsFinding] {
        trend.append(time: now, value: sample.current)
        let atLimit = !sample.isUnlimited && sample.current >= sample.limit
        let previousRefused = lastRefused ?? (countsEarlierRefusals || atLimit ? 0 : sample.refusedForks)
        lastRefused = sample.refusedForks
        if sample.refusedForks > previousRefused { lastRefusalAt = now }

        if policy.ignore {
            high = nil; exhausted = nil; forecast = nil
            warnSince = nil; criticalSince = nil
            return []
        }
        var out: [PidsFinding] = []

        // A container without a limit: told once, again only if a limit is
        // set and later removed. The runtime creates the cgroup and writes
        // its limit a moment later; inotify shows the cgroup in between, so
        // "no limit" counts only once it has lasted `unlimitedSettleTime`.
        if let unlimited = Self.unlimitedFinding(sample, hasOwnLimit: hasOwnLimit, host: host, ceilingOrigin: ceilingOrigin) {
            unlimitedSince = unlimitedSince ?? now
            if policy.unlimited == .warn && !unlimitedReported,
               let since = unlimitedSince, now - since >= Self.unlimitedSettleTime.nanoseconds {
                unlimitedReported = true
                out.append(unlimited)
            }
        } else {
            unlimitedReported = false
            unlimitedSince = nil
        }

        // Forks refused: the bomb already hit the wall.
        let refusing = lastRefusalAt.map { now - $0 < timing.recoverAfter.nanoseconds } ?? false
        if lastRefusalAt == now {
            if var episode = exhausted {
                if episode.reminderDue(at: now, timing) {
                    out.append(refusedFinding(sample, reminder: true, since: episode.refusedAtLastEmit))
                    episode.lastEmitted = now
                    episode.refusedAtLastEmit = sample.refusedForks
                    exhausted = episode
                }
            } else {
                out.append(refusedFinding(sample, reminder: false, since: previousRefused))
                exhausted = Episode(priority: .crit, lastEmitted: now, refusedAtLastEmit: sample.refusedForks)
            }
        }

        // Sustained high ratio; escalation from warning to critical is a new alert.
        var ratio: Double?
        var rawLevel: Priority?
        if !sample.isUnlimited && sample.limit > 0 {
            let r = Double(sample.current) / Double(sample.limit)
            ratio = r
            if r >= policy.criticalRatio { rawLevel = .err } else if r >= policy.warnRatio { rawLevel = .warning }
        }
        if rawLevel != nil { warnSince = warnSince ?? now } else { warnSince = nil }
        if rawLevel == .err { criticalSince = criticalSince ?? now } else { criticalSince = nil }
        var sustained: Priority?
        if let since = criticalSince, now - since >= policy.highFor.nanoseconds {
            sustained = .err
        } else if let since = warnSince, now - since >= policy.highFor.nanoseconds {
            sustained = .warning
        }
        // While forks are refused (an open pids-exhausted episode), a high
        // ratio and a forecast are part of that one incident: they still
        // count as trouble (recovery waits for them), but raise nothing.
        let incidentOpen = exhausted != nil
        if let level = sustained, !incidentOpen {
            let averageRate = trend.averageRate
            let finding = { (reminder: Bool, p: Priority) in
                PidsFinding(kind: .pidsHigh, priority: p, isReminder: reminder, current: sample.current,
                            limit: sample.limit, refusedForks: sample.refusedForks, rate: averageRate,
                            ratio: ratio)
            }
            if var episode = high {
                if level > episode.priority {
                    out.append(finding(false, level))
                    episode.priority = level
                    episode.lastEmitted = now
                } else if episode.reminderDue(at: now, timing) {
                    out.append(finding(true, episode.priority))
                    episode.lastEmitted = now
                }
                high = episode
            } else {
                out.append(finding(false, level))
                high = Episode(priority: level, lastEmitted: now)
            }
        }

        // Trend: will the count meet its ceiling within the horizon?
        var forecasting = false
        if let ceiling = sample.ceiling(host: host), let f = trend.forecast(limit: ceiling),
           f.secondsToLimit <= policy.forecastHorizon.seconds {
            forecasting = true
            if !incidentOpen {
                raiseForecast(f, ceiling: ceiling, sample, ratio: ratio, at: now, timing, into: &out)
            }
        }

        // Recovery: every condition clear for `recover_after` closes every episode.
        if refusing || rawLevel != nil || forecasting {
            lastTroubleAt = now
        } else if isAlerting && now - lastTroubleAt >= timing.recoverAfter.nanoseconds {
            out.append(PidsFinding(kind: .pidsRecovered, current: sample.current,
                                   limit: sample.isUnlimited ? nil : sample.limit, refusedForks: sample.refusedForks,
                                   rate: trend.averageRate, ratio: ratio))
            high = nil; exhausted = nil; forecast = nil
        }
        return out
    }

    private mutating func raiseForecast(_ f: PidsTrend.Forecast, ceiling: Int64, _ sample: PidsSample, ratio: Double?,
                                        at now: Int64, _ timing: AlertTiming, into out: inout [PidsFinding]) {
        let finding = { (reminder: Bool) in
            PidsFinding(kind: .pidsForecast, isReminder: reminder, current: sample.current,
                        limit: ceiling, limitIsHost: sample.isUnlimited, refusedForks: sample.refusedForks,
                        rate: f.rate, secondsToLimit: f.secondsToLimit, ratio: ratio)
        }
        if var episode = forecast {
            if episode.reminderDue(at: now, timing) {
                out.append(finding(true))
                episode.lastEmitted = now
                forecast = episode
            }
        } else {
            out.append(finding(false))
            forecast = Episode(priority: .err, lastEmitted: now)
        }
    }

    private func refusedFinding(_ sample: PidsSample, reminder: Bool, since: Int64) -> PidsFinding {
        let own = sample.isUnlimited ? nil : sample.limit
        return PidsFinding(kind: .pidsExhausted, isReminder: reminder, current: sample.current,
                           limit: sample.refusingLimit?.limit ?? own, refusedForks: sample.refusedForks,
                           newlyRefused: sample.refusedForks - since, rate: trend.averageRate,
                           refusingLimit: sample.refusingLimit)
    }
}

/// The whole host's process table, for containers that have no limit of
/// their own.
public struct HostPidsDetector: Sendable {
    var episode = LeveledEpisode()

    public init() {}

    public mutating func observe(_ host: HostPidsSample, at now: Int64, policy: PidsPolicy,
                                 timing: AlertTiming) -> [PidsFinding] {
        guard host.ceiling > 0 else { return [] }
        let ratio = Double(host.tasks) / Double(host.ceiling)
        let level: Priority? = ratio >= policy.criticalRatio ? .err : ratio >= policy.warnRatio ? .warning : nil
        switch episode.step(level: level, at: now, timing: timing) {
        case nil: return []
        case .raise(let p, let reminder):
            return [PidsFinding(kind: .hostPidsHigh, priority: p, isReminder: reminder, current: host.tasks,
                                limit: host.ceiling, limitIsHost: true, ratio: ratio)]
        case .recovered:
            return [PidsFinding(kind: .hostPidsRecovered, current: host.tasks,
                                limit: host.ceiling, limitIsHost: true, ratio: ratio)]
        }
    }
}

/// One episode whose level may rise (warning, then err), as the host's and
/// the node's detectors keep it: opened at its level, a new entry when the
/// level rises, a reminder every `repeat_interval`, closed once clear for
/// `recover_after`.
struct LeveledEpisode: Sendable {
    enum Say: Equatable { case raise(Priority, reminder: Bool), recovered }

    var open: Episode?
    var lastTroubleAt: Int64 = 0

    /// `level`: the condition now, nil when clear. What to say, if anything.
    mutating func step(level: Priority?, at now: Int64, timing: AlertTiming) -> Say? {
        if let level {
            lastTroubleAt = now
            guard var e = open else {
                open = Episode(priority: level, lastEmitted: now)
                return .raise(level, reminder: false)
            }
            defer { open = e }
            if level > e.priority {
                e.priority = level; e.lastEmitted = now
                return .raise(level, reminder: false)
            }
            if e.reminderDue(at: now, timing) {
                e.lastEmitted = now
                return .raise(e.priority, reminder: true)
            }
            return nil
        }
        guard open != nil, now - lastTroubleAt >= timing.recoverAfter.nanoseconds else { return nil }
        open = nil
        return .recovered
    }

    /// Taken up from the last run: just said, just troubled.
    mutating func resume(priority: Priority, at now: Int64) {
        open = Episode(priority: priority, lastEmitted: now)
        lastTroubleAt = now
    }
}

/// The alert episodes a container has open, as they outlive the process:
/// written to the state file so a restart does not repeat them. Only what
/// decides whether the next finding is news; trends and timers start afresh.
public struct PidsEpisodes: Codable, Equatable, Sendable {
    /// `pids-high` open at this level.
    public var high: Priority?
    public var exhausted = false
    public var forecast = false
    /// `pids-unlimited` has been said for this container.
    public var unlimitedReported = false
    /// The `max` count of `pids.events` last seen, so refusals that happened
    /// before the restart are not news after it.
    public var refusedForks: Int64?

    public init(high: Priority? = nil, exhausted: Bool = false, forecast: Bool = false,
                unlimitedReported: Bool = false, refusedForks: Int64? = nil) {
        self.high = high
        self.exhausted = exhausted
        self.forecast = forecast
        self.unlimitedReported = unlimitedReported
        self.refusedForks = refusedForks
    }

    /// Alerts that would be repeated without this record.
    public var openCount: Int {
        (high != nil ? 1 : 0) + (exhausted ? 1 : 0) + (forecast ? 1 : 0) + (unlimitedReported ? 1 : 0)
    }
}

extension ContainerPidsDetector {
    /// What a restart must not repeat.
    public var openEpisodes: PidsEpisodes {
        PidsEpisodes(high: high?.priority, exhausted: exhausted != nil, forecast: forecast != nil,
                     unlimitedReported: unlimitedReported, refusedForks: lastRefused)
    }

    /// Takes up episodes from the last run at `now`: they count as just
    /// reported (a reminder after `repeat_interval`) and as just troubled
    /// (`pids-recovered` only after `recover_after` of calm).
    public mutating func resume(_ saved: PidsEpisodes, at now: Int64) {
        if let p = saved.high { high = Episode(priority: p, lastEmitted: now) }
        if saved.exhausted {
            exhausted = Episode(priority: .crit, lastEmitted: now, refusedAtLastEmit: saved.refusedForks ?? 0)
        }
        if saved.forecast { forecast = Episode(priority: .err, lastEmitted: now) }
        unlimitedReported = saved.unlimitedReported
        if let r = saved.refusedForks { lastRefused = r }
        lastTroubleAt = now
    }
}

extension HostPidsDetector {
    /// The level of the open `host-pids-high` episode, if any.
    public var openPriority: Priority? { episode.open?.priority }

    public mutating func resume(priority: Priority, at now: Int64) {
        episode.resume(priority: priority, at: now)
    }
}
