/// The history the forecast looks at: (time, pids.current) points, one per
/// time bucket across the window, whatever the poll interval. A poll every
/// 100 ms and one every 5 s cost the same memory (a fixed ring of
/// `bucketCount` + 1 points, 16 bytes each, allocated once): within a bucket
/// the latest sample replaces the one before, so the hot path never
/// allocates.
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

    /// Points across the window: as many as the Theil–Sen slope uses, few
    /// enough for 272 bytes a container (10,000 containers: 2.7 MB).
    public static let bucketCount = 16
    /// The forecast ignores a window whose rise is mostly one step: a burst
    /// (a build fanning out) jumps; a leak climbs.
    static let maxSingleStepShareOfRise = 0.5
    /// Theil–Sen needs O(k²) slopes; thinning the window to this many points
    /// keeps it at 120 pairs, on the stack.
    static let maxSlopePoints = 16
    /// The least history a forecast stands on, however close the limit: a
    /// ramp shorter than this is a burst starting, not yet a trend.
    static let minimumEvidence = Interval.seconds(4)

    private var points: [Point]
    private var head = 0      // index of the oldest point
    public private(set) var count = 0
    public let window: Interval
    /// Width of one bucket: window / bucketCount.
    let bucketWidth: Int64
    /// The newest point's slot and where its bucket ends: the common append
    /// (same bucket) is then one comparison and one store.
    private var newestSlot = 0
    private var newestBucketEnd: Int64 = .min

    public init(window: Interval) {
        self.window = window
        bucketWidth = max(1, window.nanoseconds / Int64(Self.bucketCount))
        points = Array(repeating: Point(time: 0, value: 0), count: Self.bucketCount + 1)
    }

    public var capacity: Int { points.count }

    public subscript(i: Int) -> Point { points[(head + i) % points.count] }
    public var last: Point? { count == 0 ? nil : self[count - 1] }
    public var first: Point? { count == 0 ? nil : self[0] }

    public mutating func append(time: Int64, value: Int64) {
        // Same bucket as the newest point: the newer sample stands for it.
        if count > 0 && time < newestBucketEnd && time >= newestBucketEnd - bucketWidth {
            points[newestSlot] = Point(time: time, value: value)
            return
        }
        // Drop what has aged out of the window, then make room.
        while count > 0 && time - self[0].time > window.nanoseconds { dropFirst() }
        if count == points.count { dropFirst() }
        newestSlot = (head + count) % points.count
        points[newestSlot] = Point(time: time, value: value)
        count += 1
        newestBucketEnd = (time / bucketWidth + 1) * bucketWidth
    }

    private mutating func dropFirst() {
        head = (head + 1) % points.count
        count -= 1
    }

    /// Span of time the stored points cover.
    public var span: Int64 { count < 2 ? 0 : self[count - 1].time - self[0].time }

    /// Predicts when the count reaches `limit`.
    ///
    /// Method: the count must have risen over the window; no single step
    /// may carry more than half of that rise (a jump is a burst, not a
    /// leak); the Theil–Sen slope (the median of pairwise slopes, which
    /// ignores up to ~29% outliers) must be positive; and the history must
    /// cover as much time as half of what is left before the limit (at least
    /// `minimumEvidence`, at most half the window). A slow leak is thus
    /// judged on a long history, and a fast one (limit reached in 15 s) is
    /// still called out seconds before its first refused fork.
    /// The forecast is (limit - current) / slope.
    ///
    /// Flat containers, the common case, leave after the first comparison.
    public func forecast(limit: Int64) -> Forecast? {
        guard count >= 3, let first = first, let last = last, last.value > first.value,
              last.value < limit, span >= Self.minimumEvidence.nanoseconds else { return nil }
        let rise = Double(last.value - first.value)
        var largestStep: Int64 = 0
        for i in 1..<count {
            largestStep = max(largestStep, self[i].value - self[i - 1].value)
        }
        guard Double(largestStep) <= rise * PidsTrend.maxSingleStepShareOfRise else { return nil }
        let slope = theilSenSlope()
        guard slope > 0 else { return nil }
        let secondsToLimit = Double(limit - last.value) / slope
        let needed = min(Double(window.nanoseconds) / 2, max(Double(Self.minimumEvidence.nanoseconds), secondsToLimit * 1e9 / 2))
        guard Double(span) >= needed else { return nil }
        return Forecast(rate: slope, secondsToLimit: secondsToLimit)
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
