import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardJournal
import DockwardMetrics
import DockwardSystem
import Logging

/// Where a container's cgroup is, asked of the kernel (its main process's
/// `/proc/<pid>/cgroup`) when the names do not say, and the parent folders
/// learned that way.
extension PidsWatch {

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
    func locate(_ id: ContainerID, mainPid: Int32) {
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
    func adopt(_ id: ContainerID, directory named: String, now: Int64) {
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

    func learnParent(_ parent: String) {
        guard discovery.learnParent(parent) else { return }
        cgroups.rescanNow()
        logger.info("containers also sit in \(parent) (a cgroup parent of the engine's or the container's): every scan lists it from now on")
        onParentLearned?()
    }
}
