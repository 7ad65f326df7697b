import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardJournal
import DockwardMetrics
import DockwardSystem
import Logging

/// The kernel's refused forks, attributed: which container (and which of
/// its cgroups, or one above it) a refusal line names, and what is said of
/// a container that refused and was gone. The pids watch judges; this is
/// where a refusal is found to be whose.
extension PidsWatch {

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
            if goneRefusals.wasReported(id) {
                logger.debug("the refusal in container \(id.short), whose cgroup is gone, was reported already")
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

    /// The kernel counted a refusal in the `pids.events` of a cgroup above
    /// containers, whose limit holds them (a pod's): one of them forked,
    /// and the notification does not say which. The one holding the most
    /// tasks is judged now, as if the kernel had named it (its entry
    /// speaks for the pod and names every container's tasks); the
    /// kernel's line, when it comes, finds the episode open.
    func refusalAbove(_ dir: String, members: Set<ContainerID>, at now: Int64) {
        var busiest: (watched: WatchedContainer, tasks: Int64)?
        for id in members.sorted() {
            guard let watched = cgroups[id], watched.metadata?.isSandbox != true,
                  let tasks = try? watched.files.readCurrent() else { continue }
            if tasks > busiest?.tasks ?? -1 { busiest = (watched, tasks) }
        }
        guard let busiest else { return }
        logger.debug("the kernel counted a refused fork in \(dir); judging container \(busiest.watched.cgroup.id.short), which holds the most of its tasks (\(busiest.tasks))")
        refusalReported(busiest.watched.cgroup.id, at: now, kernelPath: busiest.watched.relativePath)
    }

    /// The kernel named a cgroup inside the container's: the walk for the
    /// refusing limit starts there, and where the kernel counts refusals in
    /// the cgroup that forked, that cgroup's `pids.events` counts for the
    /// container from now on.
    func noteForkingCgroup(_ watched: WatchedContainer, _ path: String) {
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
    func countAboveIfRefusing(_ watched: WatchedContainer, _ sample: PidsSample) -> Bool {
        guard counting(for: watched) == .hierarchical,
              let limit = limitAtItsCount(walkingUpFrom: watched), limit.place == .parent else { return false }
        let file = discovery.directory(of: limit.cgroup) + "/pids.events.local"
        guard !watched.otherRefusalCounters.contains(where: { $0.path == file }),
              let base = RefusalCounterFile.read(file) else { return false }
        watched.otherRefusalCounters.append(RefusalCounterFile(path: file, base: base, alreadyCounted: 1))
        return true
    }

    func counting(for watched: WatchedContainer) -> PidsEventCounting {
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
    func refusalSourceClosed() {
        for watched in cgroups.pollOrder { cgroups.startReadingEvents(watched) }
    }

    /// The container refused forks and its cgroup is already gone (it died of
    /// it): the entry says so with what is known, its name from the engine.
    func refusedWithoutCgroup(_ id: ContainerID, lastKnown watched: WatchedContainer?) {
        goneRefusals.reportedAndGone(id, at: clock())
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

    func sendGone(_ id: ContainerID, _ gone: GoneRefusals.Waiting, _ metadata: ContainerMetadata?) {
        guard !config.policy(for: metadata).ignore else { return }
        outlet.send(.containerPids(gone.finding, ContainerRef(id: id, metadata: metadata, cgroupPath: gone.cgroupPath),
                                   peak: nil))
    }
}
