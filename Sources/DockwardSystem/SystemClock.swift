import Glibc

/// The two clocks dockward reads. Detectors and intervals use the monotonic
/// clock, so wall-clock jumps (NTP, an operator's `date -s`) cannot fake or
/// hide a trend; wall-clock time is only for what other programs compare
/// against (the engine's `since`, journal timestamps, `--since`).
public enum SystemClock {
    /// CLOCK_MONOTONIC in nanoseconds.
    @inline(__always)
    public static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME: nanoseconds since the epoch.
    public static func realtimeNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME: microseconds since the epoch, journald's unit.
    public static func realtimeMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// CPU time of the calling thread: what `make bench` charges a tick,
    /// since wall time on a shared machine counts other processes' work.
    public static func threadCPUNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
