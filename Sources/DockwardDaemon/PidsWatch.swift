import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardJournal
import DockwardMetrics
import DockwardSystem
import Logging

/// Where the pids watch learns containers' names: the engine link, or a
/// table in tests.
@DaemonActor
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
/// locks. Its sources are its own parts: the registry of watched cgroups
/// (`WatchedCgroups`, which owns their files and inotify watches) and the
/// kernel's refusal lines (`KernelRefusalSource`).
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
@DaemonActor
final class PidsWatch {
    /// An inspect takes milliseconds; past this a container is judged by its
    /// id alone (the engine may be away).
    nonisolated static let metadataGrace = Interval.seconds(2)

    /// The safety net for a missed `pids.max` notification.
    nonisolated static let limitRecheckInterval = Interval.seconds(30)

    private(set) var config: DockwardConfig
    private let hostReader: HostPidsReader
    private let names: ContainerNames
    private let outlet: AlertOutlet
    private let logger: Logger
    private let discovery: CgroupDiscovery
    /// Where `/proc` is: a container's main process tells where its cgroup is.
    private let procRoot: String
    let cgroups: WatchedCgroups
    private(set) var refusals: KernelRefusalSource!
    private var host = HostPidsDetector()
    /// Containers found by the first scan were there before dockward; later
    /// ones are new, and forks refused before their first poll count.
    private var initialScanDone = false
    private var goneRefusals = GoneRefusals()
    /// Containers no longer watched while their pids-exhausted episode was
    /// open (most died of it), with when (monotonic): the kernel's line for
    /// that refusal can reach dockward after the cgroup went (through the
    /// journal, seconds late), and is then said already.
    private var goneWhileExhausted: [ContainerID: Int64] = [:]
    nonisolated static let goneWhileExhaustedMemory = Interval.minutes(5)
    private var hostProblemLogged = false
    /// The last host reading: the ceiling for containers without a limit.
    private var lastHostSample: HostPidsSample?
    /// Episodes carried over from the last run, taken up by the first scan.
    private var resumable: [ContainerID: PidsEpisodes] = [:]
    /// Containers with an open pids episode, as of the last poll.
    private(set) var alertingCount = 0
    /// How this kernel counts refusals in `pids.events`, told by the first
    /// container's cgroup.
    private var counting: PidsEventCounting?
    /// The time of the last poll: when a container found between polls was found.
    private var lastPollAt: Int64 = 0
    /// A parent folder was learned (`--cgroup-parent`): the state file should keep it.
    var onParentLearned: (() -> Void)?
    /// The daemon's monotonic clock: the time of a report that comes
    /// between polls (the kernel's line, a v2 notification).
    private let clock: @Sendable () -> Int64

    /// Sources are registered on `queue`, the daemon's.
    init(config: DockwardConfig, discovery: CgroupDiscovery, hostReader: HostPidsReader, names: ContainerNames,
         outlet: AlertOutlet, budget: DescriptorBudget, kernelMessages: KernelMessages,
         procRoot: String = "/proc", clock: @escaping @Sendable () -> Int64, queue: DispatchQueue, logger: Logger) {
        self.config = config
        self.clock = clock
        self.hostReader = hostReader
        self.names = names
        self.outlet = outlet
        self.logger = logger
        self.discovery = discovery
        self.procRoot = procRoot
        cgroups = WatchedCgroups(discovery: discovery, budget: budget, queue: queue, logger: logger)
        refusals = KernelRefusalSource(kernelMessages, queue: queue, logger: logger) { [weak self] path in
            guard let self else { return }
            refusalReported(inCgroup: path, at: clock())
        }
        refusals.onClosed = { [weak self] in self?.refusalSourceClosed() }
        cgroups.onRefusal = { [weak self] id in
            guard let self else { return }
            refusalReported(id, at: clock())
        }
        cgroups.onRemoved = { [weak self] watched in
            guard let self, watched.detector.openEpisodes.exhausted else { return }
            goneWhileExhausted[watched.cgroup.id] = clock()
        }
    }

    var containers: [ContainerID: WatchedContainer] { cgroups.byID }

    /// One poll: discover, read, judge, send.
    func poll(now: Int64) {
        lastPollAt = now
        cgroups.readFileChanges()  // what happened since the queue last turned: a new cgroup is found now
        discover(now: now)
        for (id, gone) in goneRefusals.takeExpired(at: now) { sendGone(id, gone, nil) }
        if !goneWhileExhausted.isEmpty {
            let oldest = now - Self.goneWhileExhaustedMemory.nanoseconds
            goneWhileExhausted = goneWhileExhausted.filter { $0.value > oldest }
        }
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
        for watched in cgroups.pollOrder {
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
        for id in gone { cgroups.remove(id, reason: "its cgroup is gone") }
        if let hostSample = lastHostSample {
            for f in host.observe(hostSample, at: now, policy: config.pids, timing: timing) {
                outlet.send(.hostPids(f))
            }
        }
    }

    /// `pids.current` every time; the limit and the refusals only when they may have changed.
    @inline(__always)
    private func sample(_ watched: WatchedContainer, at now: Int64) throws(CgroupReadError) -> PidsSample {
        let current = try watched.files.readCurrent()
        if watched.limitStale || now - watched.limitReadAt >= Self.limitRecheckInterval.nanoseconds {
            watched.limit = try watched.files.readLimit()
            watched.limitStale = false
            watched.limitReadAt = now
        }
        let refusedBefore = watched.refusedForks
        if watched.readsEvents { watched.refusedForks = try watched.readRefusals() }
        var sample = PidsSample(current: current, limit: watched.limit, refusedForks: watched.refusedForks)
        // Its first sample may already hold refusals (a bomb that starts with the container).
        if sample.refusedForks > refusedBefore || (watched.lastSample == nil && sample.refusedForks > 0) {
            watched.refusingLimit = refusingLimit(watched, sample)
        } else if !watched.detector.isAlerting {
            watched.refusingLimit = nil
        }
        sample.refusingLimit = watched.refusingLimit
        if isAtRisk(watched, sample, refusedBefore: refusedBefore) { sample.peak = watched.files.readPeak() }
        return sample
    }

    /// The limit that refused the container's forks when its own did not:
    /// its own `pids.max` at (or one below) its count explains a refusal
    /// from its own cgroup; otherwise the walk from the cgroup that forked
    /// up the tree tells (`RefusingLimitFinder`). A few small reads, made
    /// only when its refusal count moved.
    private func refusingLimit(_ watched: WatchedContainer, _ sample: PidsSample) -> RefusingLimit? {
        if watched.forkingCgroup == nil && !sample.isUnlimited && sample.current >= sample.limit - 1 { return nil }
        return limitAtItsCount(walkingUpFrom: watched)
    }

    /// The limit the chain of cgroups from the one that forked upwards
    /// shows as reached, when it is not the container's own.
    private func limitAtItsCount(walkingUpFrom watched: WatchedContainer) -> RefusingLimit? {
        let own = watched.relativePath
        guard let read = CgroupLimitChain.read(root: discovery.layout.hierarchyRoot,
                                               forking: watched.forkingCgroup ?? own, container: own) else { return nil }
        return RefusingLimitFinder.find(chain: read.chain, containerIndex: read.containerIndex)
    }

    /// Whether `pids.peak` belongs with this sample: the container refused
    /// forks since the last sample, has an episode open, or is at its warn
    /// ratio of its ceiling. The peak is read with the sample, before the
    /// detector decides, so a finding carries it as a fact; reading it for
    /// every container every poll would cost an open and a close each (five
    /// times the poll's cost where `pids.events` is read every poll because
    /// the kernel's word can't be had: `make bench`'s poll figures).
    @inline(__always)
    private func isAtRisk(_ watched: WatchedContainer, _ sample: PidsSample, refusedBefore: Int64) -> Bool {
        if watched.detector.isAlerting { return true }
        if sample.refusedForks > refusedBefore { return true }
        guard let ceiling = sample.ceiling(host: lastHostSample), ceiling > 0 else { return false }
        return Double(sample.current) >= watched.policy.warnRatio * Double(ceiling)
    }

    // MARK: Refused forks, as the kernel tells them

    /// The kernel refused a fork in the cgroup at `path` (relative to the
    /// hierarchy, as its line prints it). It is the container's that a
    /// component of the path names, if that one is watched; else the watched
    /// container's whose cgroup is the longest prefix of it (an engine
    /// inside a container names its own containers' cgroups, which the
    /// host's engine does not know); else the named one, found now.
    func refusalReported(inCgroup path: String, at now: Int64) {
        let named = ContainerCgroupPath(Substring(path), names: discovery.names)
        if let named, cgroups[named.id] != nil {
            refusalReported(named.id, at: now, kernelPath: path)
            return
        }
        var enclosing: WatchedContainer?
        for w in cgroups.pollOrder where w.relativePath.count > (enclosing?.relativePath.count ?? 0)
            && Self.path(path, isWithin: w.relativePath) {
            enclosing = w
        }
        if let enclosing {
            refusalReported(enclosing.cgroup.id, at: now, kernelPath: path)
        } else if let named {
            refusalReported(named.id, at: now, kernelPath: path, containerPath: named.container)
        } else {
            logger.debug("the kernel refused a fork in \(path), which is no container's cgroup")
        }
    }

    /// A fork was refused in this container's cgroup or one inside it: read
    /// its counters now and judge, rather than at the next poll. From now on
    /// its `pids.events` is read every poll (the kernel logs only the first
    /// refusal of each cgroup). `kernelPath` is the cgroup the kernel named,
    /// `containerPath` the container's part of it (where to look for a
    /// container no scan has found: one under a `--cgroup-parent`).
    func refusalReported(_ id: ContainerID, at now: Int64, kernelPath: String? = nil, containerPath: String? = nil) {
        if cgroups[id] == nil {
            // Forked and refused within milliseconds of its start: look now.
            cgroups.rescanNow()
            discover(now: now)
        }
        if cgroups[id] == nil, let containerPath { adopt(id, directory: discovery.directory(of: containerPath), now: now) }
        guard let watched = cgroups[id] else {
            if goneWhileExhausted[id] != nil {
                logger.debug("the kernel's refusal in container \(id.short), whose cgroup is gone, was reported while it ran")
            } else {
                refusedWithoutCgroup(id, lastKnown: nil)
            }
            return
        }
        cgroups.startReadingEvents(watched)
        if let kernelPath { noteForkingCgroup(watched, kernelPath) }
        let before = watched.refusedForks
        var sample: PidsSample
        do {
            sample = try self.sample(watched, at: now)
            if kernelPath != nil && sample.refusedForks <= before && countAboveIfRefusing(watched, sample) {
                sample = try self.sample(watched, at: now)
            }
        } catch .vanished {
            if !watched.detector.openEpisodes.exhausted { refusedWithoutCgroup(id, lastKnown: watched) }
            cgroups.remove(id, reason: "its cgroup is gone")
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

    /// The kernel named a cgroup inside the container's: the walk for the
    /// refusing limit starts there, and where the kernel counts refusals in
    /// the cgroup that forked, that cgroup's `pids.events` counts for the
    /// container from now on.
    private func noteForkingCgroup(_ watched: WatchedContainer, _ path: String) {
        guard path != watched.relativePath, Self.path(path, isWithin: watched.relativePath) else { return }
        watched.forkingCgroup = path
        guard counting(for: watched) == .forking else { return }
        let file = discovery.directory(of: path) + "/pids.events"
        guard !watched.otherRefusalCounters.contains(where: { $0.path == file }) else { return }
        watched.otherRefusalCounters.append(RefusalCounterFile(path: file, base: 0))
    }

    /// A refusal the kernel reported and the container's counts did not
    /// show: where the kernel counts in the cgroup whose limit refused
    /// (Linux 6.11+), a limit above it did. That cgroup's
    /// `pids.events.local` counts for the container from now on, the one
    /// reported included. Returns whether a counter was added.
    private func countAboveIfRefusing(_ watched: WatchedContainer, _ sample: PidsSample) -> Bool {
        guard counting(for: watched) == .hierarchical,
              let limit = limitAtItsCount(walkingUpFrom: watched), limit.place == .parent else { return false }
        let file = discovery.directory(of: limit.cgroup) + "/pids.events.local"
        guard !watched.otherRefusalCounters.contains(where: { $0.path == file }),
              let base = RefusalCounterFile.read(file) else { return false }
        watched.otherRefusalCounters.append(RefusalCounterFile(path: file, base: base, alreadyCounted: 1))
        return true
    }

    private func counting(for watched: WatchedContainer) -> PidsEventCounting {
        if let counting { return counting }
        let detected = PidsEventCounting.detect(layout: discovery.layout, sampleCgroup: watched.cgroup.path)
        counting = detected
        logger.info("pids.events counts refused forks \(detected == .forking ? "in the cgroup that forked" : "in the cgroup whose limit refused and those above it (Linux 6.11+)")")
        return detected
    }

    /// `path` is `dir` or inside it (both relative to the hierarchy).
    static func path(_ path: String, isWithin dir: String) -> Bool {
        path == dir || (path.hasPrefix(dir) && path.dropFirst(dir.count).first == "/")
    }

    /// The kernel's lines went away: every container's `pids.events` is
    /// read every poll from now on, so no refusal goes unseen.
    private func refusalSourceClosed() {
        for watched in cgroups.pollOrder { cgroups.startReadingEvents(watched) }
    }

    /// The container refused forks and its cgroup is already gone (it died of
    /// it): the entry says so with what is known, its name from the engine.
    private func refusedWithoutCgroup(_ id: ContainerID, lastKnown watched: WatchedContainer?) {
        let last = watched?.lastSample
        let finding = PidsFinding(kind: .pidsExhausted, current: last?.current ?? 0,
                                  limit: last.flatMap { $0.isUnlimited ? nil : $0.limit },
                                  refusedForks: nil, cgroupGone: true)
        let gone = GoneRefusals.Waiting(finding: finding, cgroupPath: watched?.cgroup.path,
                                        deadline: clock() + Self.metadataGrace.nanoseconds)
        if let metadata = watched?.metadata ?? names.metadata(for: id) {
            sendGone(id, gone, metadata)
        } else {
            // The engine still has its record: ask, and say it with the name.
            goneRefusals.hold(id, gone)
            names.lookUp(id)
        }
    }

    private func sendGone(_ id: ContainerID, _ gone: GoneRefusals.Waiting, _ metadata: ContainerMetadata?) {
        guard !config.policy(for: metadata).ignore else { return }
        outlet.send(.containerPids(gone.finding, ContainerRef(id: id, metadata: metadata, cgroupPath: gone.cgroupPath),
                                   peak: nil))
    }

    // MARK: What the engine says

    /// The engine's answer about a container: its metadata, or nil when the
    /// engine does not know it. A container waiting for its name is judged
    /// at once on its last sample.
    /// A running container's `mainPid` says where its cgroup is, found
    /// even where no scan looks (a `--cgroup-parent`). Called again when the
    /// container starts or is updated: a limit given later (`docker update
    /// --pids-limit`) is its own from then on. A `cgroupParent` given at
    /// create is listed by every scan from then on, so the container is
    /// found the moment its cgroup appears, before it has a main process.
    func learn(_ id: ContainerID, _ metadata: ContainerMetadata?, hasOwnLimit: Bool? = nil, mainPid: Int32? = nil,
               cgroupParent: String = "") {
        if let gone = goneRefusals.take(id) { sendGone(id, gone, metadata) }
        if !cgroupParent.isEmpty, cgroups[id] == nil, let parent = discovery.directory(ofCgroupParent: cgroupParent) {
            learnParent(parent)
        }
        if let mainPid { locate(id, mainPid: mainPid) }
        guard let watched = cgroups[id] else { return }
        if let hasOwnLimit, watched.detector.hasOwnLimit != hasOwnLimit {
            watched.detector.hasOwnLimit = hasOwnLimit
            watched.limitStale = true
        }
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
        for watched in cgroups.pollOrder {
            watched.policy = newConfig.policy(for: watched.metadata)
            watched.detector.adopt(policy: watched.policy)
        }
    }

    // MARK: State carried across restarts

    /// Open episodes per container, and the host's, for the state file.
    func openEpisodes() -> (containers: [ContainerID: PidsEpisodes], host: Priority?) {
        var out: [ContainerID: PidsEpisodes] = [:]
        for watched in cgroups.pollOrder {
            let episodes = watched.detector.openEpisodes
            if episodes.openCount > 0 { out[watched.cgroup.id] = episodes }
        }
        return (out, host.openPriority)
    }

    /// Whether the container's episode of `kind` (pids-high, -exhausted,
    /// -forecast, -unlimited) is still open: the Alertmanager feed asks
    /// after each pass. A container no longer watched has none.
    func episodeIsOpen(_ id: ContainerID, _ kind: EntryKind) -> Bool {
        // An override that now ignores the container (or its missing limit)
        // ends what it had open: nothing would ever close it otherwise.
        guard let watched = cgroups[id], !watched.policy.ignore else { return false }
        let episodes = watched.detector.openEpisodes
        switch kind {
        case .pidsHigh: return episodes.high != nil
        case .pidsExhausted: return episodes.exhausted
        case .pidsForecast: return episodes.forecast
        case .pidsUnlimited: return episodes.unlimitedReported && watched.policy.unlimited == .warn
        default: return false
        }
    }

    /// The host's host-pids-high episode is open.
    var hostEpisodeIsOpen: Bool { host.openPriority != nil }

    /// Call before the first poll: the first scan takes these up for the
    /// containers still there and forgets the rest.
    func resume(containers saved: [ContainerID: PidsEpisodes], host hostPriority: Priority?, at now: Int64) {
        resumable = saved
        if let hostPriority { host.resume(priority: hostPriority, at: now) }
    }

    /// Per-container figures for a scrape. Call on the daemon's queue.
    func metricsSnapshot() -> [ContainerMetrics] {
        cgroups.pollOrder.compactMap { w in
            guard let sample = w.lastSample else { return nil }  // not read yet
            return ContainerMetrics(id: w.cgroup.id, metadata: w.metadata, sample: sample,
                                    trend: w.detector.trend, host: lastHostSample)
        }
    }

    // MARK: What containment asks, after the pass

    /// A watched container as containment sees it, or nil when it is not watched.
    func facts(for id: ContainerID) -> ContainerFacts? { cgroups[id]?.facts }

    /// Every watched container that has been read at least once.
    func allFacts() -> [ContainerFacts] {
        cgroups.pollOrder.compactMap { $0.lastSample == nil ? nil : $0.facts }
    }

    /// Containment gave the container a limit: it is its own from now on,
    /// and `pids.max` is read again at the next poll.
    func limitGiven(_ id: ContainerID) {
        guard let w = cgroups[id] else { return }
        w.detector.hasOwnLimit = true
        w.limitStale = true
    }

    func shutdown() {
        refusals.cancel()
        cgroups.shutdown()
    }

    // MARK: Asking the kernel where a container is

    /// Parents learned so far, for the state file.
    var learnedParents: [String] { discovery.learnedParents.sorted() }

    /// Lists these parents from the first scan on (from the state file).
    func resume(parents: [String]) {
        for parent in parents { discovery.learnParent(parent) }
    }

    /// Reads the main process's cgroup and watches the container there if
    /// the path names it (a process of another pid namespace, or one that
    /// has already exited and whose pid was reused, names something else).
    /// A container watched at its scope whose limit turns out to live in a
    /// cgroup inside it (crun makes that one a moment after the scope, and
    /// a scan may have come between) is watched there from now on.
    private func locate(_ id: ContainerID, mainPid: Int32) {
        guard let path = ProcessCgroup.pidsPath(ofProcess: mainPid, procRoot: procRoot, version: discovery.layout.version),
              let place = ContainerCgroupPath(Substring(path), names: discovery.names), place.id == id else { return }
        let named = discovery.directory(of: place.container)
        if let watched = cgroups[id] {
            let limitDirectory = discovery.limitDirectory(of: named)
            guard watched.cgroup.path != limitDirectory, watched.cgroup.path == named else { return }
            cgroups.remove(id, reason: "its limit lives in \(limitDirectory)")
        }
        adopt(id, directory: named, now: lastPollAt)
    }

    /// Watches a container found by asking the kernel, and lists its parent
    /// folder in every scan from now on.
    private func adopt(_ id: ContainerID, directory named: String, now: Int64) {
        guard CgroupDiscovery.isCgroup(named) else { return }
        let directory = discovery.limitDirectory(of: named)
        let cgroup = DiscoveredCgroup(id: id, path: directory, driver: CgroupDriver(cgroupPath: directory))
        guard let watched = cgroups.adopt(cgroup, make: { cgroup, files throws(CgroupReadError) in
            try makeWatched(cgroup, files, now: now)
        }) else { return }
        watched.located = true
        logger.debug("container \(id.short) found at \(directory) by asking the kernel")
        learnParent(CgroupLimitChain.parent(of: named))
    }

    private func learnParent(_ parent: String) {
        guard discovery.learnParent(parent) else { return }
        cgroups.rescanNow()
        logger.info("containers also sit in \(parent) (a cgroup parent of the engine's or the container's): every scan lists it from now on")
        onParentLearned?()
    }

    // MARK: Inside

    private func judge(_ watched: WatchedContainer, _ sample: PidsSample, at now: Int64, timing: AlertTiming) {
        let findings = watched.detector.observe(sample, at: now, policy: watched.policy, timing: timing,
                                                host: lastHostSample, ceilingOrigin: watched.ceilingOrigin)
        for f in findings {
            outlet.send(.containerPids(f, watched.ref, peak: sample.peak))
        }
    }

    private func discover(now: Int64) {
        let scanned = cgroups.discover(now: now) { cgroup, files throws(CgroupReadError) in
            try makeWatched(cgroup, files, now: now)
        }
        guard scanned else { return }
        initialScanDone = true
        resumable.removeAll()  // containers gone while dockward was down
    }

    /// The watch's side of a newly found cgroup: its detector under its
    /// policy, episodes resumed from the last run, and the engine asked for its name.
    private func makeWatched(_ cgroup: DiscoveredCgroup, _ files: PidsCounterFiles,
                             now: Int64) throws(CgroupReadError) -> WatchedContainer {
        let refusedSoFar = try files.readRefusedForks()
        let metadata = names.metadata(for: cgroup.id)
        let policy = config.policy(for: metadata)
        var detector = ContainerPidsDetector(policy: policy, countsEarlierRefusals: initialScanDone)
        if let saved = resumable.removeValue(forKey: cgroup.id) { detector.resume(saved, at: now) }
        detector.hasOwnLimit = names.hasOwnPidsLimit(cgroup.id)
        let watched = WatchedContainer(cgroup: cgroup, relativePath: discovery.relativePath(of: cgroup.path), files: files,
                                       detector: detector, policy: policy, metadata: metadata, discoveredAt: now)
        watched.refusedForks = refusedSoFar
        if refusedSoFar > 0 || !refusals.isListening { cgroups.startReadingEvents(watched) }
        if metadata == nil { names.lookUp(cgroup.id) }
        return watched
    }
}
