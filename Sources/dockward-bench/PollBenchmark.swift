import DockwardSystem
import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardDaemon
import DockwardDocker
import Glibc
import FoundationEssentials
import Logging
import Synchronization

/// Runs the daemon's own loop (discovery, counter reads, detectors, the
/// tick's chores) on a cgroup hierarchy for `make bench`, with no engine and
/// a counting writer.
enum PollBenchmark {
    struct Result {
        /// CPU nanoseconds (this thread's, not wall time: the machines are
        /// shared and noisy) each timed tick took.
        var tickNanos: [Int64]
        var containers: Int
        var entries: Int
    }

    static func run(hierarchyRoot: String, ticks: Int, warmup: Int = 3) -> Result {
        var logger = Logger(label: "dockward.bench")
        logger.logLevel = .critical
        let writer = CountingWriter()
        let parts = Daemon.Parts(
            engine: AbsentEngine(), cgroupLayout: CgroupLayout(version: .v1, hierarchyRoot: hierarchyRoot),
            writer: writer, notifier: SilentNotifier(), stateDirectory: nil,
            descriptors: DaemonRunner.descriptorBudget(logger: logger), kernelMessages: .none, logger: logger)
        let daemon = DaemonActor.sync { Daemon(config: DockwardConfig(), configPath: "", configIsExplicit: false, parts: parts) }
        daemon.start(timer: false)
        let (ticksTaken, containers) = DaemonActor.sync {
            var ticksTaken: [Int64] = []
            ticksTaken.reserveCapacity(ticks)
            var now = SystemClock.monotonicNanos()
            for i in 0..<(warmup + ticks) {
                let start = SystemClock.threadCPUNanos()
                daemon.tick(now: now)
                let took = SystemClock.threadCPUNanos() - start
                if i >= warmup { ticksTaken.append(took) }
                now += 1_000_000_000  // the detectors see one-second polls
            }
            return (ticksTaken, daemon.watchedContainerCount)
        }
        return Result(tickNanos: ticksTaken, containers: containers, entries: writer.count)
    }
}

/// Counts what the daemon wrote; its count is read once the ticks are done.
final class CountingWriter: FindingWriter, Sendable {
    private let written = Mutex(0)
    var count: Int { written.withLock { $0 } }
    func write(_ finding: Finding, entry: JournalEntry) { written.withLock { $0 += 1 } }
    func retryPending() -> JournalReplay? { nil }
}

final class SilentNotifier: ServiceNotifier, Sendable {
    let watchdogPingInterval: Int64? = nil
    func ready(status: String) {}
    func status(_ text: String) {}
    func watchdog() {}
    func reloading() {}
    func stopping() {}
}

/// No engine at all: the pids watch runs from the cgroup tree alone, as it
/// does on a host whose engine is down.
final class AbsentEngine: ContainerRuntime, Sendable {
    let socketPath = "/nonexistent/dockward-bench.sock"
    private var missing: Error { DockerClientError.socketMissing(path: socketPath) }
    func connect() async throws -> RuntimeInfo { throw missing }
    func listContainers() async throws -> [ContainerID] { throw missing }
    func describe(_ id: ContainerID, refused: @escaping @Sendable (String) -> Void) async throws -> ContainerDetails? {
        throw missing
    }
    func namedVolume(_ name: String) async throws -> NamedVolume? { throw missing }
    func events(sinceNano: Int64?) -> AsyncThrowingStream<RuntimeEvent, Error> {
        AsyncThrowingStream { $0.finish(throwing: self.missing) }
    }
    func isRefusal(_ error: Error) -> Bool { false }
    func shutdown() async throws {}
}
