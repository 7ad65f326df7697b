import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardJournal
import DockwardMetrics
import DockwardSystem
import Logging

/// Where the pids watch learns containers' names: the engine link, or a
/// table in tests.
protocol ContainerNames: AnyObject {
    func metadata(for id: ContainerID) -> ContainerMetadata?
    /// Whether the container asked for a pids limit of its own, if known.
    func hasOwnPidsLimit(_ id: ContainerID) -> Bool?
    /// Ask the engine; the answer comes back through `PidsWatch.learn`.
    func lookUp(_ id: ContainerID)
}

extension EngineLink: ContainerNames {}

/// The pids watch: every poll it reads each container's `pids.current`
/// (source), feeds the sample to that container's detector (policy) and
/// sends the findings through the outlet. Runs on the daemon's one queue; no
/// locks.
///
/// One read per container per poll: `pids.max` is read again only when it
/// is written (inotify) and every `limitRecheckInterval`; `pids.events` only
/// when the kernel says a fork was refused (its "fork rejected by pids
/// controller" line in /dev/kmsg, or on cgroup v2 a `pids.events`
/// notification), and from then on every poll for that container. Without
/// the kernel's word (no CAP_SYSLOG) every container's `pids.events` is read
/// every poll instead.
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

    /// The safety net for a missed `pids.max` notification.
    static let limitRecheckInterval = Interval.seconds(30)

    /// What the watch's inotify instance follows.
    enum WatchedFile: Hashable {
        /// A folder where container cgroups appear (discovery's parents).
        case parent
        case limit(ContainerID)
        case events(ContainerID)
    }

    final class Watched {
        let cgroup: DiscoveredCgroup
        let files: PidsCounterFiles
        /// `pids.max` as last read.
        var limit: Int64 = PidsSample.unlimited
        var limitStale = true
        var limitReadAt: Int64 = 0
        /// The `max` count of `pids.events` as last read.
        var refusedForks: Int64 = 0
        /// Read every poll: it has refused forks, or the kernel's word cannot be had.
        var readsEvents = false
        /// inotify watches on its pids.max (and pids.events on v2), -1 for none.
        var limitWatch: Int32 = -1
        var eventsWatch: Int32 = -1
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
        /// The last discovery scan that found it.
        var seenInScan: UInt32 = 0

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
        var ceilingOrigin: String { PidsWatch.ceilingOrigin(cgroup.driver) }
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
    private var nextFullRescan: Int64 = .min
    /// A parent folder changed since the last scan (always, without inotify).
    private var parentsChanged = true
    /// The watch descriptor of each parent folder, by path.
    private var parentWatches: [String: Int32] = [:]
    /// How many containers may keep their files open; past it (a host whose
    /// open-file limit cannot be raised far enough) containers are read
    /// with open/read/close each poll: slower, never blind.
    private let keepOpenBudget: Int
    private var keptOpen = 0
    private var budgetWarned = false
    /// Containers found by the first scan were there before dockward; later
    /// ones are new, and forks refused before their first poll count.
    private var initialScanDone = false
    private var scanGeneration: UInt32 = 0
    /// Refusals of containers already gone, waiting (briefly) for their names.
    private var goneRefusals: [ContainerID: GoneRefusal] = [:]
    private var hostProblemLogged = false
    /// The last host reading: the ceiling for containers without a limit.
    private var lastHostSample: HostPidsSample?
    /// Episodes carried over from the last run, taken up by the first scan.
    private var resumable: [ContainerID: PidsEpisodes] = [:]
    /// Containers with an open pids episode, as of the last poll.
    private(set) var alertingCount = 0
    /// The kernel's refusal lines; nil where they cannot be read.
    private var refusalLog: KernelLineSource?
    private var refusalSource: DispatchSourceRead?
    private var overrunLogged = false
    /// Parent folders, pids.max writes, and pids.events notifications on cgroup v2.
    private let fileWatcher = CgroupFileWatcher<WatchedFile>()
    private var fileSource: DispatchSourceRead?
    private var fileWatchesRefused = false
    /// Containers whose `pids.events` may stay open beside `pids.current`.
    private let eventsBudget: Int
    private var eventsKeptOpen = 0
    private let notifiesEvents: Bool

    /// Sources are registered on `queue`, the daemon's.
    init(config: DockwardConfig, discovery: CgroupDiscovery, hostReader: HostPidsReader, names: ContainerNames,
         outlet: AlertOutlet, keepOpenBudget: Int, eventsBudget: Int, kernelMessages: KernelMessages,
         queue: DispatchQueue, logger: Logger) {
        self.config = config
        self.discovery = discovery
        self.hostReader = hostReader
        self.names = names
        self.outlet = outlet
        self.keepOpenBudget = keepOpenBudget
        self.eventsBudget = eventsBudget
        self.logger = logger
        notifiesEvents = discovery.layout.version == .v2
        if let log = Self.openKernelLines(kernelMessages, logger: logger) {
            let source = DispatchSource.makeReadSource(fileDescriptor: log.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readKernelLog() }
            source.resume()
            refusalLog = log
            refusalSource = source
        }
        if let watcher = fileWatcher {
            let source = DispatchSource.makeReadSource(fileDescriptor: watcher.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readFileChanges() }
            source.resume()
            fileSource = source
        }
    }

    /// /dev/kmsg where it can be read, else the journal's kernel entries,
    /// else none (said once: refusals are then seen at the next poll).
    private static func openKernelLines(_ choice: KernelMessages, logger: Logger) -> KernelLineSource? {
        let fallback = "refused forks are seen at the next poll, by reading every container's pids.events"
        switch choice {
        case .none:
            return nil
        case .file(let path):
            do { return try KernelRefusalLog(path: path) } catch {
                logger.notice("\(error); \(fallback)")
                return nil
            }
        case .kmsgElseJournal(let path):
            let kmsgError: Error
            do { return try KernelRefusalLog(path: path) } catch { kmsgError = error }
            do {
                let lines = try JournalKernelLines()
                logger.info("\(kmsgError); reading the kernel's refusal lines from the journal instead")
                return lines
            } catch {
                logger.notice("\(kmsgError), and \(error); \(fallback)")
                return nil
            }
        }
    }

    /// One poll: discover, read, judge, send.
    func poll(now: Int64) {
        readFileChanges()  // what happened since the queue last turned: a new cgroup is found now
        discover(now: now)
        flushGoneRefusals(now: SystemClock.monotonicNanos())
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
                sample = try self.sample(watched, at: now)
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
                outlet.send(.hostPids(f))
            }
        }
    }

    /// `pids.current` every time; the limit and the refusals only when they may have changed.
    @inline(__always)
    private func sample(_ watched: Watched, at now: Int64) throws(CgroupReadError) -> PidsSample {
        let current = try watched.files.readCurrent()
        if watched.limitStale || now - watched.limitReadAt >= Self.limitRecheckInterval.nanoseconds {
            watched.limit = try watched.files.readLimit()
            watched.limitStale = false
            watched.limitReadAt = now
        }
        if watched.readsEvents { watched.refusedForks = try watched.files.readRefusedForks() }
        var sample = PidsSample(current: current, limit: watched.limit, refusedForks: watched.refusedForks)
        if isAtRisk(watched, sample) { sample.peak = watched.files.readPeak() }
        return sample
    }

    /// Whether `pids.peak` belongs with this sample: the container has
    /// refused forks, has an episode open, or is at its warn ratio of its
    /// ceiling. The peak is read with the sample, before the detector
    /// decides, so a finding carries it as a fact; reading it for every
    /// container every poll would double the poll's cost.
    @inline(__always)
    private func isAtRisk(_ watched: Watched, _ sample: PidsSample) -> Bool {
        if watched.readsEvents || watched.detector.isAlerting { return true }
        guard let ceiling = sample.ceiling(host: lastHostSample), ceiling > 0 else { return false }
        return Double(sample.current) >= watched.policy.warnRatio * Double(ceiling)
    }

    // MARK: Refused forks, as the kernel tells them

    private func readKernelLog() {
        guard let log = refusalLog else { return }
        var ids: [ContainerID] = []
        let outcome = log.drain { path in
            if let id = CgroupDiscovery.containerID(inCgroupPath: path) { ids.append(id) }
        }
        switch outcome {
        case .overrun where !overrunLogged:
            overrunLogged = true
            logger.warning("the kernel's message buffer overran before dockward read it (\(log.name)); refusals lost there are still counted at each poll of the containers that refused before")
        case .closed:
            // A writer that went away (a FIFO in tests): stop, or the source spins.
            refusalSource?.cancel()
            refusalSource = nil
        default:
            break
        }
        let now = SystemClock.monotonicNanos()
        for id in ids { refusalReported(id, at: now) }
    }

    private func readFileChanges() {
        guard let watcher = fileWatcher else { return }
        var refused: [ContainerID] = []
        let overflowed = watcher.drain { file in
            switch file {
            case .parent: parentsChanged = true
            case .limit(let id): containers[id]?.limitStale = true
            case .events(let id): refused.append(id)
            }
        }
        if overflowed {
            parentsChanged = true
            for w in pollOrder { w.limitStale = true }
        }
        let now = SystemClock.monotonicNanos()
        for id in refused { refusalReported(id, at: now) }
    }

    /// A fork was refused in this container's cgroup: read its counters now
    /// and judge, rather than at the next poll. From now on its `pids.events`
    /// is read every poll (the kernel logs only the first refusal).
    func refusalReported(_ id: ContainerID, at now: Int64) {
        if containers[id] == nil {
            // Forked and refused within milliseconds of its start: look now.
            nextFullRescan = .min
            discover(now: now)
        }
        guard let watched = containers[id] else {
            refusedWithoutCgroup(id, lastKnown: nil)
            return
        }
        startReadingEvents(watched)
        let sample: PidsSample
        do {
            sample = try self.sample(watched, at: now)
        } catch .vanished {
            refusedWithoutCgroup(id, lastKnown: watched)
            drop(id, reason: "its cgroup is gone")
            return
        } catch {
            logger.warning("container \(id.short) refused a fork but its counters cannot be read: \(error)")
            return
        }
        watched.lastSample = sample
        watched.lastSampleAt = now
        // Waiting for its name (an inspect takes milliseconds): judged on
        // this sample when the name comes, or when the grace ends.
        guard watched.judged else { return }
        judge(watched, sample, at: now, timing: AlertTiming(config))
    }

    /// The container refused forks and its cgroup is already gone (it died of
    /// it): the entry says so with what is known, its name from the engine.
    private func refusedWithoutCgroup(_ id: ContainerID, lastKnown watched: Watched?) {
        let last = watched?.lastSample
        let finding = PidsFinding(kind: .pidsExhausted, priority: .crit, current: last?.current ?? 0,
                                  limit: last.flatMap { $0.isUnlimited ? nil : $0.limit },
                                  refusedForks: nil, cgroupGone: true)
        let gone = GoneRefusal(finding: finding, cgroupPath: watched?.cgroup.path,
                               deadline: SystemClock.monotonicNanos() + Self.metadataGrace.nanoseconds)
        if let metadata = watched?.metadata ?? names.metadata(for: id) {
            sendGone(id, gone, metadata)
        } else {
            // The engine still has its record: ask, and say it with the name.
            goneRefusals[id] = gone
            names.lookUp(id)
        }
    }

    /// A refusal of a container already gone, waiting for its name.
    struct GoneRefusal {
        var finding: PidsFinding
        var cgroupPath: String?
        var deadline: Int64
    }

    private func sendGone(_ id: ContainerID, _ gone: GoneRefusal, _ metadata: ContainerMetadata?) {
        guard !config.policy(for: metadata).ignore else { return }
        outlet.send(.containerPids(gone.finding, ContainerRef(id: id, metadata: metadata, cgroupPath: gone.cgroupPath),
                                   peak: nil))
    }

    /// Those whose name did not come in time go out by id alone.
    private func flushGoneRefusals(now: Int64) {
        guard !goneRefusals.isEmpty else { return }
        for (id, gone) in goneRefusals where now >= gone.deadline {
            goneRefusals[id] = nil
            sendGone(id, gone, nil)
        }
    }

    private func startReadingEvents(_ watched: Watched) {
        guard !watched.readsEvents else { return }
        watched.readsEvents = true
        if eventsKeptOpen < eventsBudget {
            watched.files.keepEventsOpen()
            if watched.files.keepsEventsOpen { eventsKeptOpen += 1 }
        }
    }

    /// The engine's answer about a container: its metadata, or nil when the
    /// engine does not know it. A container waiting for its name is judged
    /// at once on its last sample.
    func learn(_ id: ContainerID, _ metadata: ContainerMetadata?, hasOwnLimit: Bool? = nil) {
        if let gone = goneRefusals.removeValue(forKey: id) { sendGone(id, gone, metadata) }
        guard let watched = containers[id] else { return }
        if let hasOwnLimit { watched.detector.hasOwnLimit = hasOwnLimit }
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

    // MARK: What containment asks

    /// A watched container as containment sees it, or nil when it is not watched.
    func facts(for id: ContainerID) -> ContainerFacts? {
        containers[id].map(Self.facts)
    }

    /// Every watched container that has been read at least once.
    func allFacts() -> [ContainerFacts] {
        pollOrder.compactMap { $0.lastSample == nil ? nil : Self.facts($0) }
    }

    private static func facts(_ w: Watched) -> ContainerFacts {
        let unlimited = w.lastSample?.isUnlimited ?? true
        return ContainerFacts(ref: w.ref, current: w.lastSample?.current, limit: unlimited ? nil : w.lastSample?.limit,
                              // A number in pids.max the engine says it did not ask for is a ceiling set around it.
                              hasOwnLimit: !unlimited && (w.detector.hasOwnLimit ?? true),
                              lastRefusalAt: w.detector.lastRefusalAt, rate: w.detector.trend.averageRate)
    }

    /// Containment gave the container a limit: it is its own from now on,
    /// and `pids.max` is read again at the next poll.
    func limitGiven(_ id: ContainerID) {
        guard let w = containers[id] else { return }
        w.detector.hasOwnLimit = true
        w.limitStale = true
    }

    func shutdown() {
        refusalSource?.cancel()
        refusalSource = nil
        fileSource?.cancel()
        fileSource = nil
        for id in Array(containers.keys) { drop(id, reason: nil) }
    }

    // MARK: Inside

    private func judge(_ watched: Watched, _ sample: PidsSample, at now: Int64, timing: AlertTiming) {
        let findings = watched.detector.observe(sample, at: now, policy: watched.policy, timing: timing,
                                                host: lastHostSample, ceilingOrigin: watched.ceilingOrigin)
        for f in findings {
            outlet.send(.containerPids(f, watched.ref, peak: sample.peak))
        }
    }

    /// Where a ceiling the container did not ask for comes from.
    static func ceilingOrigin(_ driver: CgroupDriver) -> String {
        switch driver {
        case .systemd: return "systemd's DefaultTasksMax on its scope"
        case .rootless: return "the user manager's TasksMax on its scope"
        case .cgroupfs: return "a parent cgroup's pids.max"
        }
    }

    private func discover(now: Int64) {
        guard parentsChanged || now >= nextFullRescan else { return }
        parentsChanged = fileWatcher == nil
        nextFullRescan = now + Self.fullRescanInterval.nanoseconds
        // A generation mark instead of a set of what was found: a rescan of
        // thousands of containers allocates nothing for those already watched.
        scanGeneration &+= 1
        let generation = scanGeneration
        discovery.scan { id, driver, path in
            if let watched = containers[id] {
                watched.seenInScan = generation
            } else {
                watch(DiscoveredCgroup(id: id, path: path(), driver: driver), now: now)
                containers[id]?.seenInScan = generation
            }
        }
        watchParents(discovery.listedParents)
        initialScanDone = true
        resumable.removeAll()  // containers gone while dockward was down
        let gone = pollOrder.filter { $0.seenInScan != generation }
        for watched in gone { drop(watched.cgroup.id, reason: "removed") }
    }

    /// Watches each parent that exists; forgets the watches of those gone.
    private func watchParents(_ folders: [String]) {
        guard let watcher = fileWatcher else { return }
        let wanted = Set(folders)
        for (path, wd) in parentWatches where !wanted.contains(path) {
            watcher.unwatch(wd)
            parentWatches[path] = nil
        }
        for path in folders where parentWatches[path] == nil {
            if let wd = watcher.watchFolder(path, as: .parent) { parentWatches[path] = wd }
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
            let refusedSoFar = try files.readRefusedForks()
            let metadata = names.metadata(for: cgroup.id)
            let policy = config.policy(for: metadata)
            var detector = ContainerPidsDetector(policy: policy,
                                                 countsEarlierRefusals: initialScanDone)
            if let saved = resumable.removeValue(forKey: cgroup.id) { detector.resume(saved, at: now) }
            detector.hasOwnLimit = names.hasOwnPidsLimit(cgroup.id)
            let watched = Watched(cgroup: cgroup, files: files, detector: detector, policy: policy,
                                  metadata: metadata, discoveredAt: now)
            watched.refusedForks = refusedSoFar
            if refusedSoFar > 0 || refusalLog == nil { startReadingEvents(watched) }
            if let watcher = fileWatcher {
                watched.limitWatch = watcher.watchFile(cgroup.path + "/pids.max", as: .limit(cgroup.id)) ?? -1
                var ok = watched.limitWatch >= 0
                if notifiesEvents {
                    watched.eventsWatch = watcher.watchFile(cgroup.path + "/pids.events", as: .events(cgroup.id)) ?? -1
                    ok = ok && watched.eventsWatch >= 0
                }
                if !ok && !fileWatchesRefused {
                    fileWatchesRefused = true
                    logger.notice("inotify refused a watch on \(cgroup.path) (fs.inotify.max_user_watches?); limits are re-read every \(Self.limitRecheckInterval)")
                }
            }
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
        if watched.files.keepsEventsOpen { eventsKeptOpen -= 1 }
        if let watcher = fileWatcher {
            if watched.limitWatch >= 0 { watcher.unwatch(watched.limitWatch) }
            if watched.eventsWatch >= 0 { watcher.unwatch(watched.eventsWatch) }
        }
        watched.files.close()
        if let reason { logger.debug("stopped watching container \(id.short): \(reason)") }
    }
}

/// What containment needs of a watched container.
struct ContainerFacts {
    let ref: ContainerRef
    var id: ContainerID { ref.id }
    var metadata: ContainerMetadata? { ref.metadata }
    /// Its task count and `pids.max` (nil: "max") at the last read.
    let current: Int64?
    let limit: Int64?
    /// A limit in `pids.max` that the container asked for (or was given).
    let hasOwnLimit: Bool
    /// When the kernel last refused one of its forks (the daemon's clock).
    let lastRefusalAt: Int64?
    /// Tasks per second across the trend window.
    let rate: Double
}

/// Where the kernel's "fork rejected" lines come from: /dev/kmsg, or the
/// journal's kernel entries. Driven by a read source on `fd`.
protocol KernelLineSource: AnyObject {
    var fd: Int32 { get }
    var name: String { get }
    /// Hands each refusal's cgroup path to `onRefusal`.
    func drain(_ onRefusal: (Substring) -> Void) -> KernelRefusalLog.Outcome
}

extension KernelRefusalLog: KernelLineSource {
    var name: String { path }
}

extension JournalKernelLines: KernelLineSource {
    var name: String { "the journal's kernel entries" }

    func drain(_ onRefusal: (Substring) -> Void) -> KernelRefusalLog.Outcome {
        readNew { line in
            if let path = KernelRefusalLog.refusedCgroup(inRecord: line) { onRefusal(path) }
        }
        return .drained
    }
}
