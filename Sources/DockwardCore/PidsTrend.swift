/// A fixed-capacity ring of (time, pids.current) samples: the history the
/// forecast looks at. Capacity is set once, so the hot path never allocates.
public struct PidsTrend: Sendable {
    public struct Point: Equatable, Sendable {
        public var time: Int64   // monotonic nanoseconds
        public var value: Int64
    }

    /// The forecast's result: how fast the count grows and when it meets the limit.
    public struct Forecast: Equatable, Sendable {
        /// Robust growth rate, tasks per second.
        public var rate: Double
        /// Seconds until `pids.current` reaches the limit at that rate.
        public var secondsToLimit: Double
    }

    /// The forecast ignores a window whose rise is mostly one step: a burst
    /// (a build fanning out) jumps; a leak climbs.
    static let maxSingleStepShareOfRise = 0.5
    /// Theil–Sen needs O(k²) slopes; thinning the window to this many points
    /// keeps it at 120 pairs, on the stack.
    static let maxSlopePoints = 16

    private var points: [Point]
    private var head = 0      // index of the oldest point
    public private(set) var count = 0
    public let window: Interval

    public init(window: Interval, pollInterval: Interval) {
        self.window = window
        // One point per poll across the window, plus slack for a late tick.
        let capacity = Int(min(512, window.nanoseconds / max(1, pollInterval.nanoseconds) + 2))
        self.points = Array(repeating: Point(time: 0, value: 0), count: max(4, capacity))
    }

    public var capacity: Int { points.count }

    public subscript(i: Int) -> Point { points[(head + i) % points.count] }
    public var last: Point? { count == 0 ? nil : self[count - 1] }
    public var first: Point? { count == 0 ? nil : self[0] }

    public mutating func append(time: Int64, value: Int64) {
        // Drop what has aged out of the window, then make room.
        while count > 0 && time - self[0].time > window.nanoseconds { dropFirst() }
        if count == points.count { dropFirst() }
        points[(head + count) % points.count] = Point(time: time, value: value)
        count += 1
    }

    private mutating func dropFirst() {
        head = (head + 1) % points.count
        count -= 1
    }

    /// Span of time the stored points cover.
    public var span: Int64 { count < 2 ? 0 : self[count - 1].time - self[0].time }

    /// Predicts when the count reaches `limit`.
    ///
    /// Method: the window must cover at least half of `window` (so a fresh
    /// container is not judged on two points); the count must have risen over
    /// the window; no single step may carry more than half of that rise (a
    /// jump is a burst, not a leak); and the Theil–Sen slope (the median of
    /// pairwise slopes, which ignores up to ~29% outliers) must be positive.
    /// The forecast is then (limit - current) / slope.
    ///
    /// Flat containers, the common case, leave after the first comparison.
    public func forecast(limit: Int64) -> Forecast? {
        guard count >= 3, let first = first, let last = last, last.value > first.value,
              last.value < limit, span * 2 >= window.nanoseconds else { return nil }
        let rise = Double(last.value - first.value)
        var largestStep: Int64 = 0
        for i in 1..<count {
            largestStep = max(largestStep, self[i].value - self[i - 1].value)
        }
        guard Double(largestStep) <= rise * PidsTrend.maxSingleStepShareOfRise else { return nil }
        let slope = theilSenSlope()
        guard slope > 0 else { return nil }
        return Forecast(rate: slope, secondsToLimit: Double(limit - last.value) / slope)
    }

    /// Average rate across the window, tasks per second (for reporting).
    public var averageRate: Double {
        guard let first = first, let last = last, span > 0 else { return 0 }
        return Double(last.value - first.value) / (Double(span) / 1e9)
    }

    func theilSenSlope() -> Double {
        let k = min(count, PidsTrend.maxSlopePoints)
        let pairs = k * (k - 1) / 2
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: pairs) { slopes -> Double in
            var n = 0
            for a in 0..<k {
                let pa = self[a * (count - 1) / (k - 1)]
                for b in (a + 1)..<k {
                    let pb = self[b * (count - 1) / (k - 1)]
                    let dt = Double(pb.time - pa.time) / 1e9
                    guard dt > 0 else { continue }
                    slopes[n] = Double(pb.value - pa.value) / dt
                    n += 1
                }
            }
            guard n > 0 else { return 0 }
            var used = UnsafeMutableBufferPointer(rebasing: slopes[0..<n])
            used.sort()
            return n % 2 == 1 ? used[n / 2] : (used[n / 2 - 1] + used[n / 2]) / 2
        }
    }
}
