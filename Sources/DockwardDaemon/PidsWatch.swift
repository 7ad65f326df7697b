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
    let hostReader: HostPidsReader
    let names: ContainerNames
    let outlet: AlertOutlet
    let logger: Logger
    let discovery: CgroupDiscovery
    /// Where `/proc` is: a container's main process tells where its cgroup is.
    let procRoot: String
    let cgroups: WatchedCgroups
    private(set) var refusals: KernelRefusalSource!
    /// `rehearseRefusalReads` made its reads.
    private var refusalReadsRehearsed = false
    var host = HostPidsDetector()
    /// Containers found by the first scan were there before dockward; later
    /// ones are new, and forks refused before their first poll count.
    var initialScanDone = false
    /// Containers that refused and are gone: waiting for a name, or said already.
    var goneRefusals = GoneRefusals()
    /// A pod that exhausted its pod-level limit is one incident: the
    /// container whose entry speaks for it, by the pod's cgroup.
    var podSpeakers: [String: ContainerID] = [:]
    /// Containers whose exhaustion of their pod's limit another container
    /// reported: their own entries (and its recovery) stay unsaid.
    var silencedForPod: Set<ContainerID> = []
    var hostProblemLogged = false
    /// The last host reading: the ceiling for containers without a limit.
    var lastHostSample: HostPidsSample?
    /// Episodes carried over from the last run, taken up by the first scan.
    var resumable: [ContainerID: PidsEpisodes] = [:]
    /// Containers with an open pids episode, as of the last poll.
    private(set) var alertingCount = 0
    /// How this kernel counts refusals in `pids.events`, told by the first
    /// container's cgroup.
    var counting: PidsEventCounting?
    /// The time of the last poll: when a container found between polls was found.
    var lastPollAt: Int64 = 0
    /// A parent folder was learned (`--cgroup-parent`): the state file should keep it.
    var onParentLearned: (() -> Void)?
    /// The daemon's monotonic clock: the time of a report that comes
    /// between polls (the kernel's line, a v2 notification).
    let clock: @Sendable () -> Int64

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
        cgroups.onRefusalAbove = { [weak self] dir, members in
            guard let self else { return }
            refusalAbove(dir, members: members, at: clock())
        }
        cgroups.onRemoved = { [weak self] watched in
            guard let self else { return }
            forgetPodIncidents(of: watched.cgroup.id)
            silencedForPod.remove(watched.cgroup.id)
            guard watched.detector.openEpisodes.exhausted else { return }
            goneRefusals.reportedAndGone(watched.cgroup.id, at: clock())
        }
    }

    var containers: [ContainerID: WatchedContainer] { cgroups.byID }

    /// One poll: discover, read, judge, send.
    func poll(now: Int64) {
        lastPollAt = now
        cgroups.readFileChanges()  // what happened since the queue last turned: a new cgroup is found now
        discover(now: now)
        for (id, gone) in goneRefusals.takeExpired(at: now) { sendGone(id, gone, nil) }
        goneRefusals.forgetOldReports(at: now)
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
        rehearseRefusalReads()
    }

    /// The reads a refusal makes (the limits up its tree, its pod's
    /// containers), made once on the first container a poll has, for
    /// their first-use costs (`AlertRehearsal`). In a poll, never in
    /// `discover`: a refusal from a container not yet seen calls that
    /// itself, and its bomb may be gone (its count back below the limit
    /// that refused it) by the time it reads its own.
    private func rehearseRefusalReads() {
        guard !refusalReadsRehearsed, let first = cgroups.pollOrder.first else { return }
        refusalReadsRehearsed = true
        _ = limitAtItsCount(walkingUpFrom: first)
        let path = first.relativePath
        _ = podTasks(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
    }

    /// `pids.current` every time; the limit and the refusals only when they may have changed.
    @inline(__always)
    func sample(_ watched: WatchedContainer, at now: Int64) throws(CgroupReadError) -> PidsSample {
        let current = try watched.files.readCurrent()
        if watched.limitStale || now - watched.limitReadAt >= Self.limitRecheckInterval.nanoseconds {
            watched.limit = try watched.files.readLimit()
            // A pod's container: the smallest limit of its own cgroup (its
            // scope's, often only systemd's DefaultTasksMax) and kubelet's
            // above it holds.
            watched.kubeletLimit = nil
            if watched.isInKubeletTree, let kubelet = kubeletLimit(above: watched),
               watched.limit < 0 || kubelet.limit <= watched.limit {
                watched.kubeletLimit = kubelet
                watched.limit = kubelet.limit
            }
            // From 6.11 the kernel counts (and notifies) a refusal only where
            // the limit that refused sits: watched there, a pod's bomb is
            // seen within milliseconds, without waiting for the kernel's line.
            cgroups.watchEventsAbove(watched.kubeletLimit.map { discovery.directory(of: $0.cgroup) }, for: watched)
            watched.limitStale = false
            watched.limitReadAt = now
        }
        let refusedBefore = watched.refusedForks
        if watched.readsEvents { watched.refusedForks = try watched.readRefusals() }
        var sample = PidsSample(current: current, limit: watched.limit, refusedForks: watched.refusedForks,
                                limitLevel: watched.kubeletLimit?.level)
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
    func refusingLimit(_ watched: WatchedContainer, _ sample: PidsSample) -> RefusingLimit? {
        if watched.forkingCgroup == nil && !sample.isUnlimited && sample.current >= sample.limit - 1 { return nil }
        return limitAtItsCount(walkingUpFrom: watched)
    }

    /// The limit the chain of cgroups from the one that forked upwards
    /// shows as reached, when it is not the container's own.
    func limitAtItsCount(walkingUpFrom watched: WatchedContainer) -> RefusingLimit? {
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
    func isAtRisk(_ watched: WatchedContainer, _ sample: PidsSample, refusedBefore: Int64) -> Bool {
        if watched.detector.isAlerting { return true }
        if sample.refusedForks > refusedBefore { return true }
        guard let ceiling = sample.ceiling(host: lastHostSample), ceiling > 0 else { return false }
        return Double(sample.current) >= watched.policy.warnRatio * Double(ceiling)
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

    // MARK: Inside

    func judge(_ watched: WatchedContainer, _ sample: PidsSample, at now: Int64, timing: AlertTiming) {
        let findings = watched.detector.observe(sample, at: now, policy: watched.policy, timing: timing,
                                                host: lastHostSample, ceilingOrigin: watched.ceilingOrigin)
        for var f in findings {
            if let kubelet = watched.kubeletLimit {
                f.limitLevel = kubelet.level
                f.limitCgroup = kubelet.cgroup
            }
            guard speaksForItsPod(&f, watched) else { continue }
            outlet.send(.containerPids(f, watched.ref, peak: sample.peak))
        }
    }

    /// The smallest limit kubelet's tree holds above a pod's container (its
    /// pod's podPidsLimit, its QoS class's, the node's): a few small reads,
    /// with each read of its own `pids.max`.
    func kubeletLimit(above watched: WatchedContainer) -> KubeletLimit? {
        let own = watched.relativePath
        guard let read = CgroupLimitChain.read(root: discovery.layout.hierarchyRoot, forking: own, container: own)
        else { return nil }
        return KubeletLimit.find(chain: read.chain, containerIndex: read.containerIndex)
    }

    /// One entry for a pod that exhausted its pod-level limit: the first of
    /// its containers to report it speaks for the pod (naming the tasks of
    /// each container), the others say nothing of it, nor of its end,
    /// while that one's episode is open. Anything else passes.
    func speaksForItsPod(_ f: inout PidsFinding, _ watched: WatchedContainer) -> Bool {
        let id = watched.cgroup.id
        switch f.kind {
        case .pidsExhausted:
            guard let pod = Self.podCgroup(of: f) else { return true }
            if let speaker = podSpeakers[pod], speaker != id, cgroups[speaker]?.detector.openEpisodes.exhausted == true {
                silencedForPod.insert(id)
                logger.debug("pod limit on \(pod) exhausted, seen from container \(id.short): said by \(speaker.short)")
                return false
            }
            podSpeakers[pod] = id
            f.podTasks = podTasks(pod)
            return true
        case .pidsRecovered:
            forgetPodIncidents(of: id)
            return silencedForPod.remove(id) == nil
        default:
            return true
        }
    }

    /// The container speaks for no pod any more (its episode ended, or it is gone).
    func forgetPodIncidents(of id: ContainerID) {
        guard podSpeakers.values.contains(id) else { return }
        podSpeakers = podSpeakers.filter { $0.value != id }
    }

    /// The pod's cgroup when the limit a finding names is a pod's.
    static func podCgroup(of f: PidsFinding) -> String? {
        if let r = f.refusingLimit {
            return KubernetesCgroups.level(ofCgroup: r.cgroup) == .pod ? r.cgroup : nil
        }
        return f.limitLevel == .pod ? f.limitCgroup : nil
    }

    /// The tasks each container in a pod's cgroup holds now, by its name in
    /// the pod (its short id while unnamed); its sandbox left out.
    func podTasks(_ podCgroup: String) -> [PodTasks] {
        PodCgroup.containerTasks(directory: discovery.directory(of: podCgroup), names: discovery.names).compactMap { id, tasks in
            let metadata = cgroups[id]?.metadata ?? names.metadata(for: id)
            if metadata?.isSandbox == true { return nil }
            let name = metadata?.pod?.container ?? ""
            return PodTasks(name: name.isEmpty ? id.short : name, tasks: tasks)
        }
    }

    func discover(now: Int64) {
        let scanned = cgroups.discover(now: now) { cgroup, files throws(CgroupReadError) in
            try makeWatched(cgroup, files, now: now)
        }
        guard scanned else { return }
        // How the kernel counts refusals is read once, before the first one
        // (it reads the mount table: tens of ms on a busy node), so a
        // refusal's path pays nothing for it.
        if counting == nil, let first = cgroups.pollOrder.first { _ = counting(for: first) }
        initialScanDone = true
        resumable.removeAll()  // containers gone while dockward was down
    }

    /// The watch's side of a newly found cgroup: its detector under its
    /// policy, episodes resumed from the last run, and the engine asked for its name.
    func makeWatched(_ cgroup: DiscoveredCgroup, _ files: PidsCounterFiles,
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
