/// Tasks by name: one pod's (or a container's, when it belongs to no pod)
/// in the node's top list, one container's in a pod's that exhausted its
/// limit.
public struct PodTasks: Equatable, Sendable {
    /// `namespace/pod` or a container's display name (the node's list), a
    /// container's name in its pod or its short id (a pod's).
    public var name: String
    public var tasks: Int64

    public init(name: String, tasks: Int64) {
        self.name = name
        self.tasks = tasks
    }

    /// `name:tasks`, as `NODE_TOP_PODS` and `PIDS_POD_TASKS` list them.
    public var item: String { "\(name):\(tasks)" }

    /// Most tasks first, ties by name: the order both lists are said in.
    public static func ordered(_ list: [PodTasks]) -> [PodTasks] {
        list.sorted { $0.tasks != $1.tasks ? $0.tasks > $1.tasks : $0.name < $1.name }
    }

    /// `bomb:37 side:2`: the field's value, most tasks first.
    public static func fieldValue(_ list: [PodTasks]) -> String {
        ordered(list).map(\.item).joined(separator: " ")
    }

    /// How many pods `NODE_TOP_PODS` names.
    public static let topCount = 5

    /// The pods with the most tasks, most first (ties by name): each pod's
    /// containers' counts summed; a container without a pod stands alone
    /// under its display name. Sandboxes are skipped (they hold none of
    /// the workload).
    public static func top(_ containers: [(metadata: ContainerMetadata?, displayName: String, tasks: Int64)],
                           count: Int = topCount) -> [PodTasks] {
        var byName: [String: Int64] = [:]
        for c in containers where c.metadata?.isSandbox != true {
            byName[c.metadata?.pod?.podName ?? c.displayName, default: 0] += c.tasks
        }
        return Array(ordered(byName.map { PodTasks(name: $0.key, tasks: $0.value) }).prefix(count))
    }
}

/// What the node's detector concluded: the node's free pids against
/// kubelet's `pid.available` eviction threshold.
public struct NodePidsFinding: Equatable, Sendable {
    /// `node-pids-pressure` or `node-pids-recovered`.
    public var kind: EntryKind
    /// warning while forecast, err once under the threshold (the kind table
    /// leaves the priority of `node-pids-pressure` to it).
    private var level: Priority?
    public var priority: Priority {
        get { kind.facts.priority.priority(given: level) }
        set { level = newValue }
    }
    public var isReminder: Bool
    /// pid.available: capacity - tasks.
    public var available: Int64
    /// min(kernel.pid_max, kernel.threads-max).
    public var capacity: Int64
    public var threshold: Int64
    public var source: NodePidsThreshold.Source
    public var systemReserved: Int64?
    public var kubeReserved: Int64?
    /// Seconds until available meets the threshold; 0 once under it.
    public var secondsToThreshold: Double?
    /// Tasks per second the node gains (available falls at this rate).
    public var rate: Double?
    /// Filled by the watch when it says the finding (the detector knows no pods).
    public var topPods: [PodTasks]

    public init(kind: EntryKind, priority: Priority? = nil, isReminder: Bool = false, available: Int64, capacity: Int64,
                threshold: Int64, source: NodePidsThreshold.Source, systemReserved: Int64? = nil,
                kubeReserved: Int64? = nil, secondsToThreshold: Double? = nil, rate: Double? = nil,
                topPods: [PodTasks] = []) {
        self.kind = kind
        self.level = priority
        self.isReminder = isReminder
        self.available = available
        self.capacity = capacity
        self.threshold = threshold
        self.source = source
        self.systemReserved = systemReserved
        self.kubeReserved = kubeReserved
        self.secondsToThreshold = secondsToThreshold
        self.rate = rate
        self.topPods = topPods
    }

    /// Whether the sentence calls the threshold kubelet's.
    public var isKubelets: Bool {
        if case .kubeletConfig = source { return true }
        return false
    }
}

/// The node's pid.available as kubelet measures it (min(pid_max,
/// threads-max) - tasks), forecast against its eviction threshold: kubelet
/// evicts pods once it is crossed, so the warning is worth most before.
/// State carried from poll to poll as `HostPidsDetector` does: one episode,
/// raised when the trend reaches the threshold within the horizon (warning)
/// or available is under it (err), reminded every `repeat_interval`,
/// closed after `recover_after` clear.
public struct NodePidsDetector: Sendable {
    /// The task count's history; available falls as it rises, so the
    /// forecast is the count meeting capacity - threshold.
    public private(set) var trend: PidsTrend
    var episode = LeveledEpisode()

    public init(window: Interval) {
        trend = PidsTrend(window: window)
    }

    /// Keeps the history unless the window changed.
    public mutating func adopt(window: Interval) {
        guard window != trend.window else { return }
        var fresh = PidsTrend(window: window)
        for i in 0..<trend.count { fresh.append(time: trend[i].time, value: trend[i].value) }
        trend = fresh
    }

    public var openPriority: Priority? { episode.open?.priority }

    public mutating func observe(_ host: HostPidsSample, at now: Int64, threshold: NodePidsThreshold,
                                 horizon: Interval, timing: AlertTiming) -> [NodePidsFinding] {
        trend.append(time: now, value: host.tasks)
        guard host.ceiling > 0 else { return [] }
        let available = host.ceiling - host.tasks
        let limit = threshold.value(capacity: host.ceiling)
        let below = available < limit
        var forecast: PidsTrend.Forecast?
        if !below, let f = trend.forecast(limit: host.ceiling - limit), f.secondsToLimit <= horizon.seconds {
            forecast = f
        }
        func finding(_ kind: EntryKind, _ p: Priority?, _ reminder: Bool) -> NodePidsFinding {
            NodePidsFinding(kind: kind, priority: p, isReminder: reminder, available: available, capacity: host.ceiling,
                            threshold: limit, source: threshold.source, systemReserved: threshold.systemReserved,
                            kubeReserved: threshold.kubeReserved,
                            secondsToThreshold: kind == .nodePidsRecovered ? nil : below ? 0 : forecast?.secondsToLimit,
                            rate: forecast?.rate ?? trend.averageRate)
        }
        let level: Priority? = below ? .err : forecast != nil ? .warning : nil
        switch episode.step(level: level, at: now, timing: timing) {
        case nil: return []
        case .raise(let p, let reminder): return [finding(.nodePidsPressure, p, reminder)]
        case .recovered: return [finding(.nodePidsRecovered, nil, false)]
        }
    }

    /// Ends an open episode without a word: no threshold is known any more
    /// (a reload took it away), so nothing could ever close it.
    public mutating func forget() {
        episode.open = nil
    }
}
