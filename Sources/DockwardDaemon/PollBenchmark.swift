import DockwardCgroup
import DockwardCore
import DockwardDocker
import Dispatch
import Glibc
import Logging

/// Runs the daemon's own poll path (discovery, counter reads, detectors) on a
/// cgroup hierarchy for `make bench`, with no engine and a counting sink.
public enum PollBenchmark {
    public struct Result {
        /// CPU nanoseconds (this thread's, not wall time: the machines are
        /// shared and noisy) each timed poll took.
        public var tickNanos: [Int64]
        public var containers: Int
        public var entries: Int
    }

    public static func run(hierarchyRoot: String, ticks: Int, warmup: Int = 3) -> Result {
        var logger = Logger(label: "dockward.bench")
        logger.logLevel = .critical
        Daemon.raiseDescriptorLimit(logger: logger)
        let queue = DispatchQueue(label: "dockward.bench")
        // No engine: the directory learns that once and stops asking.
        let client = DockerEngineClient(endpoint: try! DockerEndpoint(socketPath: "/nonexistent/dockward-bench.sock"),
                                        logger: logger)
        let directory = ContainerDirectory(client: client, queue: queue, logger: logger)
        var entries = 0
        let layout = CgroupLayout(version: .v1, hierarchyRoot: hierarchyRoot)
        let watch = PidsWatch(config: DockwardConfig(), discovery: CgroupDiscovery(layout: layout),
                              hostReader: HostPidsReader(), directory: directory, logger: logger,
                              emit: { _ in entries += 1 })
        var ticksTaken: [Int64] = []
        ticksTaken.reserveCapacity(ticks)
        queue.sync {
            var now = MonotonicClock.now()
            for i in 0..<(warmup + ticks) {
                let start = threadCPUNanos()
                watch.poll(now: now)
                let took = threadCPUNanos() - start
                if i >= warmup { ticksTaken.append(took) }
                now += 1_000_000_000  // the detectors see one-second polls
            }
        }
        let count = queue.sync { watch.containers.count }
        queue.sync { watch.shutdown() }
        return Result(tickNanos: ticksTaken, containers: count, entries: entries)
    }

    static func threadCPUNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
