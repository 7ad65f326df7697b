/// One reading of a pids cgroup. Plain integers so the hot path never
/// allocates.
public struct PidsSample: Equatable, Sendable {
    /// Sentinel for `pids.max` = "max" (no limit).
    public static let unlimited: Int64 = -1

    /// `pids.current`: tasks in the cgroup now.
    public var current: Int64
    /// `pids.max`, or `PidsSample.unlimited`.
    public var limit: Int64
    /// The `max` counter of `pids.events`: forks refused since the cgroup was made.
    public var refusedForks: Int64
    /// `pids.peak` where the kernel has it (6.1+ on v2, recent on v1), else nil.
    public var peak: Int64?
    /// The limit that refused its forks when it is not its own `pids.max`
    /// (a slice above it, a sub-cgroup): read by the watch when forks were
    /// refused, nil otherwise.
    public var refusingLimit: RefusingLimit?
    /// Where `limit` sits when it is not the container's own `pids.max`
    /// but its pod's, its QoS class's or the node's (kubelet's tree); nil
    /// for its own.
    public var limitLevel: KubernetesCgroups.Level?

    public init(current: Int64, limit: Int64, refusedForks: Int64, peak: Int64? = nil,
                refusingLimit: RefusingLimit? = nil, limitLevel: KubernetesCgroups.Level? = nil) {
        self.current = current
        self.limit = limit
        self.refusedForks = refusedForks
        self.peak = peak
        self.refusingLimit = refusingLimit
        self.limitLevel = limitLevel
    }

    public var isUnlimited: Bool { limit < 0 }

    /// The count the container can grow to: `pids.max`, or for a container
    /// without a limit its count plus the host's free process table (its
    /// forks come out of the host's table); nil when it has no limit and the
    /// host's figures are unknown. The forecast alert and the forecast
    /// metric both aim at this.
    public func ceiling(host: HostPidsSample?) -> Int64? {
        guard isUnlimited else { return limit }
        return host.map { current + max(0, $0.ceiling - $0.tasks) }
    }
}

/// The host's own process-table ceiling, for containers that have no limit.
public struct HostPidsSample: Equatable, Sendable {
    /// Tasks (threads) on the host now.
    public var tasks: Int64
    /// min(kernel.pid_max, kernel.threads-max).
    public var ceiling: Int64

    public init(tasks: Int64, ceiling: Int64) {
        self.tasks = tasks
        self.ceiling = ceiling
    }
}
