import DockwardCgroup
import DockwardCore
import DockwardMetrics
import Logging

/// Where the pids watch learns containers' names: the engine link, or a
/// table in tests.
protocol ContainerNames: AnyObject {
    func metadata(for id: ContainerID) -> ContainerMetadata?
    /// Ask the engine; the answer comes back through `PidsWatch.learn`.
    func lookUp(_ id: ContainerID)
}

extension EngineLink: ContainerNames {}

/// The pids watch: every poll it reads each container's counters (source),
/// feeds them to that container's detector (policy) and sends the findings
/// through the outlet. Runs on the daemon's one queue; no locks.
///
/// A new container is read from its first poll but judged only once its
/// name is known (its overrides depend on it) or `metadataGrace` has
/// passed, so its first alert already says `CONTAINER_NAME=web` and is
/// judged once, under the right policy.
final class PidsWatch {
    /// An inspect takes milliseconds; past this a container is judged by its
    /// id alone (the engine may be away).
    static let metadataGrace = Interval.seconds(2)
    /// Re-list the cgroup parents at least this often even when inotify is
    /// quiet: the safety net for a lost event.
    static let fullRescanInterval = Interval.seconds(30)

    final class Watched {
        let cgroup: DiscoveredCgroup
        let files: PidsCounterFiles
        var detector: ContainerPidsDetector
        var policy: PidsPolicy
        var metadata: ContainerMetadata?
        /// False while waiting for the name; findings are made only once true.
        var judged: Bool
        let discoveredAt: Int64
        var lastSample: PidsSample?
        var lastSampleAt: Int64 = 0
        /// The last unexpected read problem, logged once until it changes.
        var lastProblem: String?
        /// Index in `pollOrder`.
        var slot = 0

        init(cgroup: DiscoveredCgroup, files: PidsCounterFiles, detector: ContainerPidsDetector,
             policy: PidsPolicy, metadata: ContainerMetadata?, discoveredAt: Int64) {
            self.cgroup = cgroup
            self.files = files
            self.detector = detector
            self.policy = policy
            self.metadata = metadata
            self.judged = metadata != nil
            self.discoveredAt = discoveredAt
        }

        var ref: ContainerRef { ContainerRef(id: cgroup.id, metadata: metadata, cgroupPath: cgroup.path) }
    }

    private(set) var config: DockwardConfig
    private let discovery: CgroupDiscovery
    private let hostReader: HostPidsReader
    private let names: ContainerNames
    private let outlet: AlertOutlet
    private let logger: Logger
    private(set) var containers: [ContainerID: Watched] = [:]
    /// The same containers in a stable order: the poll walks this array, in
    /// the order the descriptors were opened, rather than hash order, which
    /// keeps the kernel's file structures and ours warm in cache.
    private var pollOrder: [Watched] = []
    private var host = HostPidsDetector()
    private let changes = CgroupChangeWatcher()
    private var nextFullRescan: Int64 = .min
    /// How many containers may keep their files open; past it (a host whose
    /// open-file limit cannot be raised far enough) containers are read
    /// with open/read/close each poll: slower, never blind.
    private let keepOpenBudget: Int
    private var keptOpen = 0
    private var budgetWarned = false
    /// Containers found by the first scan were there before dockward; later
    /// ones are new, and forks refused before their first poll count.
    private var initialScanDone = false
    private var hostProblemLogged = false
    /// The last host reading: the ceiling for containers without a limit.
    private var lastHostSample: HostPidsSample?
    /// Episodes carried over from the last run, taken up by the first scan.
    private var resumable: [ContainerID: PidsEpisodes] = [:]
    /// Containers with an open pids episode, as of the last poll.
    private(set) var alertingCount = 0

    init(config: DockwardConfig, discovery: CgroupDiscovery, hostReader: HostPidsReader, names: ContainerNames,
         outlet: AlertOutlet, keepOpenBudget: Int, logger: Logger) {
        self.config = config
        self.discovery = discovery
        self.hostReader = hostReader
        self.names = names
        self.outlet = outlet
        self.keepOpenBudget = keepOpenBudget
        self.logger = logger
    }

    /// One poll: discover, read, judge, send.
    func poll(now: Int64) {
        discover(now: now)
        let timing = AlertTiming(config)
        do {
            lastHostSample = try hostReader.read()
            hostProblemLogged = false
        } catch {
            lastHostSample = nil
            if !hostProblemLogged {
                logger.warning("cannot read the host's task count: \(error); host ceiling unknown")
                hostProblemLogged = true
            }
        }
        var gone: [ContainerID] = []
        var alerting = 0
        for watched in pollOrder {
            let sample: PidsSample
            do {
                sample = try watched.files.read(includePeak: false)
            } catch .vanished {
                gone.append(watched.cgroup.id)
                continue
            } catch {
                let text = "\(error)"
                if watched.lastProblem != text {
                    logger.warning("skipping container \(watched.cgroup.id.short) this poll: \(text)")
                    watched.lastProblem = text
                }
                continue
            }
            watched.lastProblem = nil
            watched.lastSample = sample
            watched.lastSampleAt = now
            if !watched.judged && now - watched.discoveredAt >= Self.metadataGrace.nanoseconds {
                watched.judged = true  // no name in time: judged by id alone
            }
            if watched.judged { judge(watched, sample, at: now, timing: timing) }
            if watched.detector.isAlerting { alerting += 1 }
        }
        alertingCount = alerting
        for id in gone { drop(id, reason: "its cgroup is gone") }
        if let hostSample = lastHostSample {
            for f in host.observe(hostSample, at: now, policy: config.pids, timing: timing) {
                outlet.send(AlertText.entry(for: f, container: nil))
            }
        }
    }

    /// The engine's answer about a container: its metadata, or nil when the
    /// engine does not know it. A container waiting for its name is judged
    /// at once on its last sample.
    func learn(_ id: ContainerID, _ metadata: ContainerMetadata?) {
        guard let watched = containers[id] else { return }
        if let metadata, metadata != watched.metadata {
            watched.metadata = metadata
            watched.policy = config.policy(for: metadata)
            watched.detector.adopt(policy: watched.policy)
        }
        guard !watched.judged else { return }
        watched.judged = true
        if let sample = watched.lastSample {
            judge(watched, sample, at: watched.lastSampleAt, timing: AlertTiming(config))
        }
    }

    /// Applies a reloaded config; per-container trends and open episodes stay.
    func apply(_ newConfig: DockwardConfig) {
        config = newConfig
        for watched in containers.values {
            watched.policy = newConfig.policy(for: watched.metadata)
            watched.detector.adopt(policy: watched.policy)
        }
    }

    // MARK: State carried across restarts

    /// Open episodes per container, and the host's, for the state file.
    func openEpisodes() -> (containers: [ContainerID: PidsEpisodes], host: Priority?) {
        var out: [ContainerID: PidsEpisodes] = [:]
        for (id, watched) in containers {
            let episodes = watched.detector.openEpisodes
            if episodes.openCount > 0 { out[id] = episodes }
        }
        return (out, host.openPriority)
    }

    /// Call before the first poll: the first scan takes these up for the
    /// containers still there and forgets the rest.
    func resume(containers saved: [ContainerID: PidsEpisodes], host hostPriority: Priority?, at now: Int64) {
        resumable = saved
        if let hostPriority { host.resume(priority: hostPriority, at: now) }
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

    // MARK: Inside

    private func judge(_ watched: Watched, _ sample: PidsSample, at now: Int64, timing: AlertTiming) {
        let findings = watched.detector.observe(sample, at: now, policy: watched.policy, timing: timing,
                                                host: lastHostSample)
        guard !findings.isEmpty else { return }
        // pids.peak is read only when there is something to say (the kernel
        // keeps it; reading it every poll would double the poll's cost).
        let peak = watched.files.readPeak()
        for f in findings { outlet.send(AlertText.entry(for: f, container: watched.ref, peak: peak)) }
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
            watch(cgroup, now: now)
        }
        initialScanDone = true
        resumable.removeAll()  // containers gone while dockward was down
        if present.count != containers.count {
            for id in containers.keys where !present.contains(id) { drop(id, reason: "removed") }
        }
    }

    private func watch(_ cgroup: DiscoveredCgroup, now: Int64) {
        do {
            let keepOpen = keptOpen < keepOpenBudget
            if !keepOpen && !budgetWarned {
                budgetWarned = true
                logger.warning("open-file limit reached after \(keptOpen) containers; further containers are read with open/read/close each poll (raise LimitNOFILE)")
            }
            let files = try PidsCounterFiles(directory: cgroup.path, keepOpen: keepOpen)
            if keepOpen { keptOpen += 1 }
            let metadata = names.metadata(for: cgroup.id)
            let policy = config.policy(for: metadata)
            var detector = ContainerPidsDetector(policy: policy,
                                                 countsEarlierRefusals: initialScanDone)
            if let saved = resumable.removeValue(forKey: cgroup.id) { detector.resume(saved, at: now) }
            let watched = Watched(cgroup: cgroup, files: files, detector: detector, policy: policy,
                                  metadata: metadata, discoveredAt: now)
            watched.slot = pollOrder.count
            pollOrder.append(watched)
            containers[cgroup.id] = watched
            logger.debug("watching container \(cgroup.id.short) at \(cgroup.path)")
            if metadata == nil { names.lookUp(cgroup.id) }
        } catch .vanished {
            return  // created and removed between scan and open
        } catch {
            logger.warning("cannot watch container \(cgroup.id.short) at \(cgroup.path): \(error)")
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
        if let reason { logger.debug("stopped watching container \(id.short): \(reason)") }
    }
}
