import DockwardCore

/// One container's pids figures as the daemon knows them at scrape time.
/// The daemon builds these from state it already keeps (the last sample and
/// the trend ring), so a scrape costs the poll loop nothing per tick.
public struct ContainerMetrics: Equatable, Sendable {
    public var id: ContainerID
    /// The name the engine reported (without the leading slash), if known yet.
    public var name: String?
    public var image: String?
    /// `pids.current`.
    public var current: Int64
    /// `pids.max`; -1 (``PidsSample/unlimited``) when the container has no limit.
    public var limit: Int64
    /// The `max` count of `pids.events`: forks the kernel refused, since the cgroup was made.
    public var refusedForks: Int64
    /// Growth across the trend window, tasks per second (negative when shrinking).
    public var rate: Double
    /// Seconds until the count meets its ceiling at the current trend, when
    /// the trend makes a forecast at all (see `PidsTrend.forecast(limit:)`).
    public var forecastSeconds: Double?

    public init(id: ContainerID, name: String? = nil, image: String? = nil, current: Int64, limit: Int64,
                refusedForks: Int64, rate: Double = 0, forecastSeconds: Double? = nil) {
        self.id = id
        self.name = name
        self.image = image
        self.current = current
        self.limit = limit
        self.refusedForks = refusedForks
        self.rate = rate
        self.forecastSeconds = forecastSeconds
    }

    /// Builds the figures from what the pids watch keeps per container. The
    /// forecast aims at the detector's ceiling (`PidsSample.ceiling(host:)`),
    /// so the metric and the forecast alert agree. Costs one comparison for a
    /// flat container, a 120-pair Theil–Sen for a climbing one.
    public init(id: ContainerID, metadata: ContainerMetadata?, sample: PidsSample, trend: PidsTrend,
                host: HostPidsSample?) {
        let ceiling = sample.ceiling(host: host)
        self.init(id: id, name: metadata?.name, image: metadata?.image, current: sample.current,
                  limit: sample.isUnlimited ? PidsSample.unlimited : sample.limit,
                  refusedForks: sample.refusedForks, rate: trend.averageRate,
                  forecastSeconds: ceiling.flatMap { trend.forecast(limit: $0)?.secondsToLimit })
    }

    /// The `container` label: the same name the alerts use (the name, else
    /// the 12-hex short id; see `ContainerID.displayName(name:)`).
    public var displayName: String { id.displayName(name: name) }
}
