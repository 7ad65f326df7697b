import DockwardSystem
import DockwardTestSupport
import DockwardCgroup
import DockwardAlertmanager
import DockwardCore
import DockwardDaemon
import DockwardHost
import DockwardDocker
import DockwardMetrics
import Foundation
import Glibc
import Logging
import XCTest

/// An engine behind `EngineAPI` that the test scripts: its containers, its
/// events, and whether it can be reached. Thread-safe: the daemon's engine
/// tasks call it from the cooperative pool while the test thread drives it.
///
/// Like the real engine it keeps a log of the events it sent and replays
/// those at or after `since` to a new subscriber before the live ones. An
/// inspect can be held (as a socket proxy holds a request) or made to fail.
final class ScriptedEngine: EngineAPI, @unchecked Sendable {
    let socketPath: String
    private let lock = NSLock()
    private var containers: [ContainerID: ContainerDetails] = [:]
    private var reachable = true
    private var streams: [AsyncThrowingStream<EngineEvent, Error>.Continuation] = []
    private(set) var negotiations = 0
    private var listingCount = 0
    private var inspections: [ContainerID] = []
    private(set) var shutDown = false
    private var volumes: [String: VolumeInfo] = [:]
    private var dataRoot: String?
    /// Every event sent, in order, for replay from `since`.
    private var eventLog: [EngineEvent] = []
    private var subscriptionLog: [(since: Int64?, replayed: Int)] = []
    private var held: Set<ContainerID> = []
    private var holdWaiters: [ContainerID: [CheckedContinuation<Void, Never>]] = [:]
    private var pendingHeld: [ContainerID: Int] = [:]
    private var inspectCalls: [ContainerID: Int] = [:]
    private var inspectFailures: [ContainerID: (remaining: Int, error: Error)] = [:]
    /// Like a socket proxy that allows only some endpoints: volume and info
    /// requests answered 403.
    var refusesVolumesAndInfo = false

    init(socketPath: String, dataRoot: String? = nil) {
        self.socketPath = socketPath
        self.dataRoot = dataRoot
    }

    // MARK: Scripting

    func add(_ details: ContainerDetails) { lock.withLock { containers[details.id] = details } }

    func remove(_ id: ContainerID) { lock.withLock { containers[id] = nil } }

    func addVolume(_ name: String, _ info: VolumeInfo) { lock.withLock { volumes[name] = info } }

    /// Logs an event and sends it to every open stream. With no stream open
    /// (the engine unreachable) it is only logged: a later subscriber whose
    /// `since` covers it gets it replayed.
    func emit(_ action: String, _ id: ContainerID, timeNano: Int64 = Int64(Date().timeIntervalSince1970 * 1e9)) {
        let event = EngineEvent(type: "container", action: action, actorID: id.full, attributes: [:], timeNano: timeNano)
        // Under the lock, so a subscriber's replay and the live events it
        // then gets keep the log's order.
        lock.withLock {
            eventLog.append(event)
            for s in streams { s.yield(event) }
        }
    }

    /// Down: open streams fail and every call throws; up: calls work again.
    func setReachable(_ value: Bool) {
        let toFail: [AsyncThrowingStream<EngineEvent, Error>.Continuation] = lock.withLock {
            reachable = value
            if value { return [] }
            defer { streams.removeAll() }
            return streams
        }
        for s in toFail { s.finish(throwing: DockerClientError.engineUnreachable(path: socketPath, reason: "connection reset")) }
    }

    /// Holds every inspect of `id` (those under way and those to come) until
    /// `release(inspectOf:)` or `seconds` have passed. The answer is read
    /// when the request arrives, as an engine answers before a proxy in
    /// between delays it, and a held request does not notice cancellation.
    func hold(inspectOf id: ContainerID, for seconds: TimeInterval = 10) {
        lock.withLock { _ = held.insert(id) }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in self?.release(inspectOf: id) }
    }

    func release(inspectOf id: ContainerID) {
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            held.remove(id)
            return holdWaiters.removeValue(forKey: id) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Inspects of `id` held now.
    func heldInspections(of id: ContainerID) -> Int { lock.withLock { pendingHeld[id] ?? 0 } }

    /// The next `times` inspects of `id` throw `error`; the stream and every
    /// other call keep working.
    func failInspect(of id: ContainerID, times: Int, with error: Error) {
        lock.withLock { inspectFailures[id] = (times, error) }
    }

    /// Inspect requests for `id` that arrived, answered or not.
    func inspectRequests(of id: ContainerID) -> Int { lock.withLock { inspectCalls[id] ?? 0 } }

    /// Inspects answered (data or "no such container"), in order.
    var inspected: [ContainerID] { lock.withLock { inspections } }
    /// How many times the container list was read.
    var listings: Int { lock.withLock { listingCount } }
    var openStreams: Int { lock.withLock { streams.count } }
    /// Each `GET /events` asked for: its `since` and how many logged events it replayed.
    var subscriptions: [(since: Int64?, replayed: Int)] { lock.withLock { subscriptionLog } }

    // MARK: EngineAPI

    private func check() throws {
        if !lock.withLock({ reachable }) { throw DockerClientError.engineUnreachable(path: socketPath, reason: "connection refused") }
    }

    func negotiate() async throws -> String {
        lock.withLock { negotiations += 1 }
        try check()
        return "1.41"
    }

    func listContainers(all: Bool) async throws -> [ContainerSummary] {
        try check()
        return lock.withLock {
            listingCount += 1
            return containers.values.sorted { $0.id < $1.id }.map {
                ContainerSummary(id: $0.id, names: [$0.metadata.name], image: $0.metadata.image,
                                 labels: $0.metadata.labels, state: $0.state)
            }
        }
    }

    func inspect(_ id: ContainerID) async throws -> ContainerDetails? {
        try check()
        let (answer, failure, isHeld): (ContainerDetails?, Error?, Bool) = lock.withLock {
            inspectCalls[id, default: 0] += 1
            if let failing = inspectFailures[id], failing.remaining > 0 {
                inspectFailures[id] = failing.remaining > 1 ? (failing.remaining - 1, failing.error) : nil
                return (nil, failing.error, false)
            }
            return (containers[id], nil, held.contains(id))
        }
        if let failure { throw failure }
        if isHeld {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let stillHeld: Bool = lock.withLock {
                    guard held.contains(id) else { return false }
                    holdWaiters[id, default: []].append(continuation)
                    pendingHeld[id, default: 0] += 1
                    return true
                }
                if !stillHeld { continuation.resume() }
            }
            lock.withLock { pendingHeld[id, default: 1] -= 1 }
        }
        lock.withLock { inspections.append(id) }
        return answer
    }

    func volume(named name: String) async throws -> VolumeInfo? {
        try check()
        if lock.withLock({ refusesVolumesAndInfo }) {
            throw DockerClientError.httpStatus(code: 403, request: "/volumes/\(name)", message: "forbidden")
        }
        return lock.withLock { volumes[name] }
    }

    func info() async throws -> EngineInfo {
        try check()
        if lock.withLock({ refusesVolumesAndInfo }) {
            throw DockerClientError.httpStatus(code: 403, request: "/info", message: "forbidden")
        }
        return EngineInfo(dataRoot: lock.withLock { dataRoot })
    }

    /// Replays the logged events with `timeNano >= since` (the engine's
    /// rule), then live ones; no `since`: live ones only.
    func events(sinceNano: Int64?) -> AsyncThrowingStream<EngineEvent, Error> {
        AsyncThrowingStream { continuation in
            let ok: Bool = lock.withLock {
                guard reachable else { return false }
                let replay = sinceNano.map { since in eventLog.filter { $0.timeNano >= since } } ?? []
                for event in replay { continuation.yield(event) }
                subscriptionLog.append((sinceNano, replay.count))
                streams.append(continuation)
                return true
            }
            if !ok { continuation.finish(throwing: DockerClientError.engineUnreachable(path: socketPath, reason: "connection refused")) }
        }
    }

    func shutdown() async throws {
        let open: [AsyncThrowingStream<EngineEvent, Error>.Continuation] = lock.withLock {
            shutDown = true
            defer { streams.removeAll() }
            return streams
        }
        for s in open { s.finish() }
    }
}

/// The action clients the daemon made, as one recorder: each request with
/// the container its client was bound to. Scripted to fail for some
/// containers, or to hang up as an unreachable engine does.
final class ScriptedActions: @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [(id: ContainerID, request: ContainerActionRequest)] = []
    private var failures: [ContainerID: Error] = [:]
    private var held: Set<ContainerID> = []
    private(set) var clientsMade = 0

    var requests: [(id: ContainerID, request: ContainerActionRequest)] { lock.withLock { sent } }

    func fail(_ id: ContainerID, with error: Error) { lock.withLock { failures[id] = error } }

    /// The engine takes its time with this container's requests until `release`.
    func hold(_ id: ContainerID) { _ = lock.withLock { held.insert(id) } }
    func release(_ id: ContainerID) { _ = lock.withLock { held.remove(id) } }
    fileprivate func isHeld(_ id: ContainerID) -> Bool { lock.withLock { held.contains(id) } }

    /// What `Daemon.Parts.makeActionClient` is given.
    func makeClient(_ id: ContainerID) -> ContainerActionAPI {
        lock.withLock { clientsMade += 1 }
        return Client(id: id, recorder: self)
    }

    struct Client: ContainerActionAPI {
        let id: ContainerID
        let recorder: ScriptedActions
        func perform(_ request: ContainerActionRequest) async throws {
            while recorder.isHeld(id) { try await Task.sleep(nanoseconds: 5_000_000) }
            try recorder.lock.withLock {
                if let error = recorder.failures[id] { throw error }
                recorder.sent.append((id, request))
            }
        }
    }
}

/// Every finding that left through the outlet, in order, as the typed
/// value: the journal writer replaced by a recorder. `entries` renders them
/// the way the journal writer does, for the assertions on fields.
final class RecordingWriter: FindingWriter, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Finding] = []
    private var recordedAt: [Int64] = []

    func write(_ finding: Finding, entry: JournalEntry) {
        let now = SystemClock.monotonicNanos()
        lock.withLock {
            recorded.append(finding)
            recordedAt.append(now)
        }
    }
    func retryPending() -> JournalReplay? { nil }

    var findings: [Finding] { lock.withLock { recorded } }

    var entries: [JournalEntry] { findings.map(\.entry) }

    /// Each entry with the monotonic time it was written.
    var timedEntries: [(entry: JournalEntry, atNanos: Int64)] {
        lock.withLock { Array(zip(recorded.map(\.entry), recordedAt)) }
    }

    func entries(_ kind: EntryKind) -> [JournalEntry] { findings.filter { $0.kind == kind }.map(\.entry) }

    func entries(_ kind: EntryKind, for id: ContainerID) -> [JournalEntry] {
        findings.filter { $0.kind == kind && $0.container?.id == id }.map(\.entry)
    }

    /// The action reports, typed, in order.
    var actionReports: [ActionReport] {
        findings.compactMap { if case .action(let r) = $0 { r } else { nil } }
    }
}

/// sd_notify messages, in order.
final class RecordingNotifier: ServiceNotifier, @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [String] = []
    let watchdogPingInterval: Int64?

    init(watchdogPingInterval: Int64? = nil) { self.watchdogPingInterval = watchdogPingInterval }

    var messages: [String] { lock.withLock { sent } }
    func ready(status: String) { lock.withLock { sent.append("READY=1 STATUS=\(status)") } }
    func status(_ text: String) { lock.withLock { sent.append("STATUS=\(text)") } }
    func watchdog() { lock.withLock { sent.append("WATCHDOG=1") } }
    func reloading() { lock.withLock { sent.append("RELOADING=1") } }
    func stopping() { lock.withLock { sent.append("STOPPING=1") } }
}

/// A cgroup v1 pids hierarchy and a /proc in a temporary folder: the real
/// cgroup reader reads them exactly as it reads the kernel's files.
struct FixtureHost {
    let root: String
    var hierarchy: String { root + "/cgroup/pids" }
    var proc: String { root + "/proc" }
    /// A real Unix socket standing in for the engine's, in its own folder.
    var engineSocket: String { root + "/run/docker.sock" }
    var stateDirectory: String { root + "/state" }

    init(_ test: XCTestCase) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-daemon-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: hierarchy + "/docker", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try Self.write("0.10 0.20 0.30 1/400 12345\n", to: proc + "/loadavg")
        try Self.write("4194304\n", to: proc + "/sys/kernel/pid_max")
        try Self.write("100000\n", to: proc + "/sys/kernel/threads-max")
        try Self.bindSocket(engineSocket)
        let root = self.root
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
    }

    /// A container's cgroup with its counters.
    func setPids(_ id: ContainerID, current: Int, max: Int?, refused: Int = 0) throws {
        let dir = hierarchy + "/docker/" + id.full
        try Self.write("\(current)\n", to: dir + "/pids.current")
        try Self.write(max.map { "\($0)\n" } ?? "max\n", to: dir + "/pids.max")
        try Self.write("max \(refused)\n", to: dir + "/pids.events")
    }

    /// The same under Docker's systemd cgroup driver: `system.slice/docker-<id>.scope`.
    func setScopePids(_ id: ContainerID, current: Int, max: Int, refused: Int = 0) throws {
        let dir = hierarchy + "/system.slice/docker-\(id.full).scope"
        try Self.write("\(current)\n", to: dir + "/pids.current")
        try Self.write("\(max)\n", to: dir + "/pids.max")
        try Self.write("max \(refused)\n", to: dir + "/pids.events")
    }

    /// Gone as the kernel removes a cgroup: its files read nothing through
    /// a descriptor kept open, then the folder goes.
    func removeCgroup(_ id: ContainerID) throws {
        let dir = hierarchy + "/docker/" + id.full
        for file in ["pids.current", "pids.max", "pids.events"] where FileManager.default.fileExists(atPath: dir + "/" + file) {
            try Self.write("", to: dir + "/" + file)
        }
        try FileManager.default.removeItem(atPath: dir)
    }

    /// Rewrites in place (same inode), as the kernel's counters change under a kept-open descriptor.
    /// The new text goes over the old one and the length is cut after: a
    /// kernel counter never reads empty, and the daemon's queue may read
    /// while a test writes (truncating first left a moment where it did).
    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, ftruncate(fd, off_t(bytes.count)) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// A FIFO standing in for /dev/kmsg, with its write end held open (so
    /// the reader never sees end-of-file); lines written there reach the
    /// daemon as kernel records.
    final class KernelLog {
        let path: String
        private let fd: Int32

        init(in root: String) throws {
            path = root + "/kmsg"
            guard mkfifo(path, 0o600) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        }

        private var closed = false

        deinit { hangUp() }

        /// The writer goes away: the daemon reads end-of-file, as from a log that closed.
        func hangUp() {
            guard !closed else { return }
            closed = true
            close(fd)
        }

        /// One record as /dev/kmsg shows it: `6,seq,usec,-;text` (a reader
        /// skips a sequence number it has read).
        func record(_ text: String, sequence: Int = 1000) {
            let line = Array("6,\(sequence),123456789,-;\(text)\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }

    static func bindSocket(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        switch UnixSocket.open(path, .bind) {
        case .success(let fd): close(fd)
        case .failure(let error): throw POSIXError(.init(rawValue: error.code) ?? .EIO)
        }
    }
}

/// One daemon over the fixture host and the scripted engine, driven tick by
/// tick on a manual monotonic clock. @unchecked: its one mutable field, the
/// manual clock `now`, is moved only by the test's own thread; the daemon
/// is reached only through `DaemonActor`, the recorders under their locks.
final class DaemonUnderTest: @unchecked Sendable {
    let daemon: Daemon
    let writer = RecordingWriter()
    let notifier = RecordingNotifier()
    let metrics = MetricsRegistry(version: "test")
    let engine: ScriptedEngine
    let host: FixtureHost
    let configPath: String
    /// Unix time, moved with `now` at each tick.
    let wall = ManualClock(start: 1_800_000_000_000_000_000)
    /// The daemon's one monotonic clock: moved by the test (each tick, or
    /// `advance`), never by the machine, so a grace period is outwaited by
    /// moving it, not by sleeping.
    let clock = ManualClock(start: SystemClock.monotonicNanos())
    var now: Int64 { clock.now }

    /// `kernelLog`: a FIFO standing in for /dev/kmsg; nil: none, so refusals
    /// are read from `pids.events` every poll.
    init(host: FixtureHost, engine: ScriptedEngine, config: String = "", stateDirectory: String? = nil,
         kernelLog: String? = nil, cgroupVersion: CgroupVersion = .v1, actions: ScriptedActions? = nil,
         actionsStopGrace: Interval = Daemon.actionsStopGrace, alertmanager: RecordingSubmitter? = nil,
         runtime: ContainerRuntime? = nil, cgroupNames: CgroupNames? = nil, hostPaths: HostPathInspector? = nil,
         ownContainer: OwnContainer? = nil) throws {
        self.host = host
        self.engine = engine
        configPath = host.root + "/dockward-\(UUID().uuidString.prefix(6)).yml"
        try FixtureHost.write(config, to: configPath)
        let loaded = try ConfigFile.load(path: configPath, isExplicit: true)
        var parts = Daemon.Parts(
            engine: runtime ?? DockerRuntime(engine, logger: Self.logger),
            cgroupLayout: CgroupLayout(version: cgroupVersion, hierarchyRoot: host.hierarchy),
            hostReader: HostPidsReader(procRoot: host.proc), writer: writer, notifier: notifier,
            metrics: metrics, stateDirectory: stateDirectory, descriptors: DescriptorBudget(containers: 1000, events: 100),
            kernelMessages: kernelLog.map { .file($0) } ?? .none, logger: Self.logger,
            makeActionClient: actions.map { recorder in { @Sendable id in recorder.makeClient(id) } },
            actionsStopGrace: actionsStopGrace, makeAlertmanagerDelivery: alertmanager?.factory,
            wallClock: wall.read, monotonicClock: clock.read, hostName: "test-host")
        parts.procRoot = host.proc
        if let cgroupNames { parts.cgroupNames = cgroupNames }
        if let hostPaths { parts.hostPaths = hostPaths }
        parts.ownContainer = ownContainer
        let path = configPath
        daemon = DaemonActor.sync { Daemon(config: loaded, configPath: path, configIsExplicit: true, parts: parts) }
    }

    /// Warnings and worse only: the wiring's info lines would bury the test output.
    static let logger: Logger = {
        var logger = Logger(label: "dockward.test")
        logger.logLevel = .warning
        return logger
    }()

    func start() { daemon.start(timer: false) }

    /// One poll at the current manual time, then the clock moves on.
    func tick(advancing step: Interval = .seconds(1)) {
        let daemon = self.daemon, now = self.now
        DaemonActor.sync { daemon.tick(now: now) }
        advance(step)
    }

    /// Moves both clocks on, without a poll.
    func advance(_ step: Interval) {
        clock.advance(step.nanoseconds)
        wall.advance(step.nanoseconds)
    }

    func ticks(_ n: Int, every step: Interval = .seconds(1)) {
        for _ in 0..<n { tick(advancing: step) }
    }

    func stop(timeout: TimeInterval = 5) {
        let done = DispatchSemaphore(value: 0)
        daemon.stop { done.signal() }
        _ = done.wait(timeout: .now() + timeout)
    }

    /// Waits until the engine has named these containers, so the manual
    /// clock cannot outrun the metadata grace while a real inspect is on its way.
    func waitForNames(_ ids: [ContainerID], file: StaticString = #filePath, line: UInt = #line) {
        let daemon = self.daemon
        waitUntil("names of \(ids.map(\.short))", file: file, line: line) {
            ids.allSatisfy { daemon.containerName($0) != nil }
        }
    }

    /// Polls (a tick every `step` of the manual clock, each after a little
    /// real time for the engine's answers) until `condition` holds.
    func tickUntil(_ what: String, step: Interval = .milliseconds(500), timeout: TimeInterval = 5,
                   file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            tick(advancing: step)
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("timed out ticking until \(what); entries: \(writer.entries.map(\.kind.rawValue))", file: file, line: line)
    }

    /// Waits (real time) until `condition` holds on the daemon's queue.
    func waitUntil(_ what: String, timeout: TimeInterval = 5, file: StaticString = #filePath, line: UInt = #line,
                   _ condition: @DaemonActor () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if DaemonActor.sync(condition) { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("timed out waiting for \(what); entries: \(writer.entries.map(\.kind.rawValue))", file: file, line: line)
    }
}

enum IDs {
    static func make(_ n: Int) -> ContainerID {
        let hex = String(n, radix: 16)
        return ContainerID(String(repeating: "a", count: 64 - hex.count) + hex)!
    }
}

func details(_ id: ContainerID, name: String, binds: [(source: String, destination: String)] = [],
             labels: [String: String] = [:], state: String = "running", pidsLimit: Int64? = nil,
             mainPid: Int32? = nil, cgroupParent: String = "") -> ContainerDetails {
    ContainerDetails(
        id: id, metadata: ContainerMetadata(name: "/" + name, image: "local/busybox:test", labels: labels),
        mounts: binds.map { MountPoint(kind: .bind, source: $0.source, destination: $0.destination, readWrite: true) },
        binds: binds.map { "\($0.source):\($0.destination)" }, state: state, pidsLimit: pidsLimit, mainPid: mainPid,
        cgroupParent: cgroupParent)
}

/// The Alertmanager delivery's place in the wiring: records what the feed
/// submits, and lets a test report outages as the real delivery would.
final class RecordingSubmitter: AlertmanagerSubmitter, @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[AlertmanagerAlert]] = []
    private var report: (@Sendable (AlertmanagerDeliveryEvent) -> Void)?
    private(set) var made = 0
    private(set) var finished = 0

    /// The factory the daemon's parts take.
    var factory: AlertmanagerDeliveryFactory {
        { [self] _, report in
            lock.withLock {
                made += 1
                self.report = report
            }
            return self
        }
    }

    func submit(_ alerts: [AlertmanagerAlert]) { lock.withLock { batches.append(alerts) } }

    private(set) var applied: [AlertmanagerConfig] = []
    func apply(_ config: AlertmanagerConfig) throws { lock.withLock { applied.append(config) } }

    func finish(within grace: Interval, done: @escaping @Sendable () -> Void) {
        lock.withLock { finished += 1 }
        done()
    }

    /// Every state submitted, in order.
    var states: [AlertmanagerAlert] { lock.withLock { batches.flatMap { $0 } } }

    /// Each submission as it was handed over (one POST body each, for the delivery).
    var submissions: [[AlertmanagerAlert]] { lock.withLock { batches } }

    /// The states submitted for alerts of this name.
    func states(_ alertName: String) -> [AlertmanagerAlert] { states.filter { $0.labels["alertname"] == alertName } }

    func reset() { lock.withLock { batches = [] } }

    func tell(_ event: AlertmanagerDeliveryEvent) { lock.withLock { report }?(event) }
}

/// A clock of the daemon's in the tests (monotonic or wall): moved only by `advance`.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    init(start: Int64) { value = start }
    var now: Int64 { lock.withLock { value } }
    func advance(_ nanos: Int64) { lock.withLock { value += nanos } }
    var read: @Sendable () -> Int64 { { [self] in now } }
}

/// A field of an entry, as written.
func field(_ entry: JournalEntry?, _ name: String) -> String? {
    entry?.allFields.first { $0.name == name }?.value
}
