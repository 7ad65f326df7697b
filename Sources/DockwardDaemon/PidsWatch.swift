import DockwardCgroup
import DockwardCore
import DockwardMetrics
import Glibc
import Logging

/// The pids watch: every poll it reads each container's counters (source),
/// feeds them to that container's detector (policy) and hands the findings to
/// the sink. Runs on the daemon's one queue; no locks.
final class PidsWatch {
    /// How long a new container's findings wait for its name from the engine,
    /// so the first alert already says `CONTAINER_NAME=web`. An inspect takes
    /// milliseconds; past this the alert goes out with the id alone.
    static let metadataGrace = Interval.seconds(2)

    final class Watched {
        let cgroup: DiscoveredCgroup
        let files: PidsCounterFiles
        var detector: ContainerPidsDetector
        var policy: PidsPolicy
        var metadata: ContainerMetadata?
        var lookupDone = false
        let discoveredAt: Int64
        var held: [PidsFinding] = []
        var lastSample: PidsSample?
        /// The last unexpected read problem, logged once until it changes.
        var lastProblem: String?
        /// Index in `pollOrder`.
        var slot = 0

        init(cgroup: DiscoveredCgroup, files: PidsCounterFiles, detector: ContainerPidsDetector,
             policy: PidsPolicy, discoveredAt: Int64) {
            self.cgroup = cgroup
            self.files = files
            self.detector = detector
            self.policy = policy
            self.discoveredAt = discoveredAt
        }

        var ref: ContainerRef { ContainerRef(id: cgroup.id, metadata: metadata, cgroupPath: cgroup.path) }
    }

    private(set) var config: DockwardConfig
    private let discovery: CgroupDiscovery
    private let hostReader: HostPidsReader
    private let directory: ContainerDirectory
    private let emit: (JournalEntry) -> Void
    private let logger: Logger
    private(set) var containers: [ContainerID: Watched] = [:]
    /// The same containers in a stable order: the poll walks this array, in
    /// the order the descriptors were opened, rather than hash order, which
    /// keeps the kernel's file structures and ours warm in cache.
    private var pollOrder: [Watched] = []
    private var host = HostPidsDetector()
    /// Re-list the cgroup parents at least this often even when inotify is
    /// quiet: the safety net for a lost event.
    static let fullRescanInterval = Interval.seconds(30)
    private let changes = CgroupChangeWatcher()
    private var nextFullRescan: Int64 = .min
    /// How many containers may keep their four files open; past it (a host
    /// whose open-file limit cannot be raised far enough) containers are
    /// read with open/read/close each poll: slower, never blind.
    private let keepOpenBudget: Int
    private var keptOpen = 0
    private var budgetWarned = false
    /// Containers found by the first scan were there before dockward; later
    /// ones are new, and forks refused before their first poll count.
    private var initialScanDone = false
    /// Descriptors left for the engine connections, the journal and inotify.
    static let reservedDescriptors = 256
    private var hostProblemLogged = false
    /// The last host reading, for the forecast of unlimited containers at scrape time.
    private var lastHostSample: HostPidsSample?

    init(config: DockwardConfig, discovery: CgroupDiscovery, hostReader: HostPidsReader,
         directory: ContainerDirectory, logger: Logger, emit: @escaping (JournalEntry) -> Void) {
        self.config = config
        self.discovery = discovery
        self.hostReader = hostReader
        self.directory = directory
        self.logger = logger
        self.emit = emit
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        keepOpenBudget = max(0, (Int(clamping: limit.rlim_cur) - Self.reservedDescriptors) / 4)
        directory.onResolved = { [weak self] id, metadata in self?.resolved(id, metadata) }
    }

    /// Containers with an open pids episode, as of the last poll.
    private(set) var alertingCount = 0

    /// One poll: discover, read, evaluate, emit.
    func poll(now: Int64) {
        discover(now: now)
        directory.tick(now: now)
        let timing = AlertTiming(config)
        var hostSample: HostPidsSample?
        do {
            hostSample = try hostReader.read()
            hostProblemLogged = false
        } catch {
            if !hostProblemLogged {
                logger.warning("cannot read the host's task count: \(error); host ceiling unknown")
                hostProblemLogged = true
            }
        }
        lastHostSample = hostSample
        var gone: [ContainerID] = []
        var alerting = 0
        defer { alertingCount = alerting }
        for watched in pollOrder {
            let id = watched.cgroup.id
            if watched.detector.isAlerting { alerting += 1 }
            let sample: PidsSample
            do {
                sample = try watched.files.read(includePeak: false)
            } catch .vanished {
                gone.append(id)
                continue
            } catch {
                let text = "\(error)"
                if watched.lastProblem != text {
                    logger.warning("skipping container \(id.short) this poll: \(text)")
                    watched.lastProblem = text
                }
                continue
            }
            watched.lastProblem = nil
            watched.lastSample = sample
            let findings = watched.detector.observe(sample, at: now, policy: watched.policy, timing: timing, host: hostSample)
            if !watched.lookupDone && now - watched.discoveredAt < Self.metadataGrace.nanoseconds {
                watched.held.append(contentsOf: findings)
            } else {
                flushHeld(watched)
                for f in findings { emit(entry(for: f, watched)) }
            }
        }
        for id in gone { drop(id, reason: "its cgroup is gone") }
        if let hostSample {
            for f in host.observe(hostSample, at: now, policy: config.pids, timing: timing) {
                emit(AlertText.entry(for: f, container: nil))
            }
        }
    }

    /// Applies a reloaded config; per-container trends and open episodes stay.
    func apply(_ newConfig: DockwardConfig) {
        config = newConfig
        for watched in containers.values {
            watched.policy = newConfig.policy(for: watched.metadata)
            watched.detector.adopt(pollInterval: newConfig.pollInterval, policy: watched.policy)
        }
    }

    /// Per-container figures for a scrape. Call on the daemon's queue.
    func metricsSnapshot() -> [ContainerMetrics] {
        containers.values.compactMap { w in
            guard let sample = w.lastSample else { return nil }  // not read yet
            return ContainerMetrics(id: w.cgroup.id, metadata: w.metadata, sample: sample,
                                    trend: w.detector.trend, host: lastHostSample)
        }
    }

    func shutdown() {
        for id in Array(containers.keys) { drop(id, reason: nil) }
    }

    private func discover(now: Int64) {
        let changed = changes?.drainChanges() ?? true
        guard changed || now >= nextFullRescan else { return }
        nextFullRescan = now + Self.fullRescanInterval.nanoseconds
        let found = discovery.scan()
        changes?.watch(discovery.listedParents)
        var present = Set<ContainerID>()
        present.reserveCapacity(found.count)
        for cgroup in found {
            present.insert(cgroup.id)
            guard containers[cgroup.id] == nil else { continue }
            do {
                let keepOpen = keptOpen < keepOpenBudget
                if !keepOpen && !budgetWarned {
                    budgetWarned = true
                    logger.warning("open-file limit reached after \(keptOpen) containers; further containers are read with open/read/close each poll (raise LimitNOFILE)")
                }
                let files = try PidsCounterFiles(directory: cgroup.path, keepOpen: keepOpen)
                if keepOpen { keptOpen += 1 }
                let policy = config.policy(for: directory.metadata(for: cgroup.id))
                let watched = Watched(
                    cgroup: cgroup, files: files,
                    detector: ContainerPidsDetector(pollInterval: config.pollInterval, policy: policy,
                                                    countsEarlierRefusals: initialScanDone),
                    policy: policy, discoveredAt: now)
                watched.slot = pollOrder.count
                pollOrder.append(watched)
                containers[cgroup.id] = watched
                logger.debug("watching container \(cgroup.id.short) at \(cgroup.path)")
                directory.lookUp(cgroup.id)
            } catch .vanished {
                continue  // created and removed between scan and open
            } catch {
                logger.warning("cannot watch container \(cgroup.id.short) at \(cgroup.path): \(error)")
            }
        }
        initialScanDone = true
        if present.count != containers.count {
            for id in containers.keys where !present.contains(id) { drop(id, reason: "removed") }
        }
    }

    private func drop(_ id: ContainerID, reason: String?) {
        guard let watched = containers.removeValue(forKey: id) else { return }
        // Swap-remove keeps removal O(1); the order only needs to be stable.
        let last = pollOrder.removeLast()
        if last !== watched {
            pollOrder[watched.slot] = last
            last.slot = watched.slot
        }
        if watched.files.keepOpen { keptOpen -= 1 }
        watched.files.close()
        directory.forget(id)
        if let reason { logger.debug("stopped watching container \(id.short): \(reason)") }
    }

    private func resolved(_ id: ContainerID, _ metadata: ContainerMetadata?) {
        guard let watched = containers[id] else { return }
        watched.lookupDone = true
        if let metadata {
            watched.metadata = metadata
            watched.policy = config.policy(for: metadata)
            watched.detector.adopt(pollInterval: config.pollInterval, policy: watched.policy)
        }
        flushHeld(watched)
    }

    /// Emits findings held while the name was being fetched, minus those an
    /// override now silences.
    private func flushHeld(_ watched: Watched) {
        guard !watched.held.isEmpty else { return }
        let held = watched.held
        watched.held.removeAll()
        for f in held {
            if watched.policy.ignore { continue }
            if f.kind == .pidsUnlimited && watched.policy.unlimited == .ignore { continue }
            emit(entry(for: f, watched))
        }
    }

    private func entry(for finding: PidsFinding, _ watched: Watched) -> JournalEntry {
        var entry = AlertText.entry(for: finding, container: watched.ref)
        if let peak = watched.files.readPeak() { entry.fields.append(("PIDS_PEAK", String(peak))) }
        return entry
    }
}
