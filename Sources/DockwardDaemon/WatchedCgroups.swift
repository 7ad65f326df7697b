import Dispatch
import DockwardCgroup
import DockwardCore
import Logging

/// How many cgroup files may stay open: `pids.current` for this many
/// containers, `pids.events` besides for this many of them.
public struct DescriptorBudget: Equatable, Sendable {
    public var containers: Int
    public var events: Int

    public init(containers: Int, events: Int) {
        self.containers = containers
        self.events = events
    }

    /// The budget under an open-file limit.
    public init(openFileLimit limit: Int) {
        self.init(containers: PidsCounterFiles.containersFitting(descriptors: limit),
                  events: PidsCounterFiles.eventsFitting(descriptors: limit))
    }
}

/// The registry of watched container cgroups, and the one owner of their
/// files: discovery (when inotify says a parent folder changed, and every
/// `fullRescanInterval` as a safety net), the descriptors kept open under
/// the budget, the inotify watches on parents, on `pids.max` and (v2) on
/// `pids.events`, and the stable poll order. What a container's entry holds
/// beyond its files is the watch's to make (`discover`'s `make`). Runs on
/// the daemon's queue.
@DaemonActor
final class WatchedCgroups {
    /// Re-list the cgroup parents at least this often even when inotify is
    /// quiet: the safety net for a lost event.
    nonisolated static let fullRescanInterval = Interval.seconds(30)

    /// What the inotify instance follows.
    enum WatchedFile: Hashable {
        /// A folder where container cgroups appear (discovery's parents).
        case parent
        case limit(ContainerID)
        case events(ContainerID)
        /// The `pids.events` of a cgroup above containers whose limit holds
        /// them (a pod's, in kubelet's tree): where the kernel counts and
        /// notifies their refusals from Linux 6.11.
        case eventsAbove(String)
    }

    /// The cgroups above containers whose `pids.events` is watched, by
    /// their directory: the watch and the containers it speaks for.
    private var watchesAbove: [String: (wd: Int32, members: Set<ContainerID>)] = [:]

    private let discovery: CgroupDiscovery
    private let logger: Logger
    private(set) var byID: [ContainerID: WatchedContainer] = [:]
    /// The same containers in a stable order: the poll walks this array, in
    /// the order the descriptors were opened, rather than hash order, which
    /// keeps the kernel's file structures and ours warm in cache.
    private(set) var pollOrder: [WatchedContainer] = []
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
    /// More containers than the budget: some are reopened every poll.
    private(set) var budgetExceeded = false
    /// Containers whose `pids.events` may stay open beside `pids.current`.
    private let eventsBudget: Int
    private var eventsKeptOpen = 0
    private var scanGeneration: UInt32 = 0
    /// Parent folders, pids.max writes, and pids.events notifications on cgroup v2.
    private let fileWatcher = CgroupFileWatcher<WatchedFile>()
    private var fileSource: DispatchSourceRead?
    /// inotify refused a watch (`fs.inotify.max_user_watches`): limits are
    /// then only re-read every `PidsWatch.limitRecheckInterval`.
    private(set) var fileWatchesRefused = false
    /// v2 notifies each refused fork in `pids.events`.
    private let notifiesEvents: Bool
    /// A `pids.events` notification: the kernel refused one of its forks.
    var onRefusal: ((ContainerID) -> Void)?
    /// A refusal the kernel counted in a watched cgroup above containers:
    /// its directory and the containers under it.
    var onRefusalAbove: ((String, Set<ContainerID>) -> Void)?
    /// A container no longer watched here (its cgroup gone, or moved).
    var onRemoved: ((WatchedContainer) -> Void)?

    init(discovery: CgroupDiscovery, budget: DescriptorBudget, queue: DispatchQueue, logger: Logger) {
        self.discovery = discovery
        self.logger = logger
        keepOpenBudget = budget.containers
        eventsBudget = budget.events
        notifiesEvents = discovery.layout.version == .v2
        if let watcher = fileWatcher {
            let source = DispatchSource.makeReadSource(fileDescriptor: watcher.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readFileChanges() }
            source.resume()
            fileSource = source
        }
    }

    /// Whether inotify can be had at all.
    var hasInotify: Bool { fileWatcher != nil }

    subscript(id: ContainerID) -> WatchedContainer? { byID[id] }

    var count: Int { byID.count }

    /// What changed since the queue last turned: parents to rescan, limits
    /// to re-read, refusals (v2) handed to `onRefusal`.
    func readFileChanges() {
        guard let watcher = fileWatcher else { return }
        var refused: [ContainerID] = []
        var refusedAbove: [String] = []
        let overflowed = watcher.drain { file in
            switch file {
            case .parent: parentsChanged = true
            case .limit(let id): byID[id]?.limitStale = true
            case .events(let id): refused.append(id)
            case .eventsAbove(let dir): refusedAbove.append(dir)
            }
        }
        if overflowed {
            parentsChanged = true
            for w in pollOrder { w.limitStale = true }
        }
        for id in refused { onRefusal?(id) }
        for dir in refusedAbove {
            if let members = watchesAbove[dir]?.members { onRefusalAbove?(dir, members) }
        }
    }

    /// Watches the `pids.events` of `dir` (absolute), a cgroup above the
    /// container whose limit holds it, for the container; moves the
    /// container's watch when its limit is held elsewhere now (nil: none).
    /// One watch per cgroup, however many containers it holds.
    func watchEventsAbove(_ dir: String?, for watched: WatchedContainer) {
        guard notifiesEvents, let watcher = fileWatcher, watched.eventsAboveDirectory != dir else { return }
        let id = watched.cgroup.id
        if let old = watched.eventsAboveDirectory { leaveWatchAbove(old, id, watcher) }
        watched.eventsAboveDirectory = dir
        guard let dir else { return }
        if watchesAbove[dir] != nil {
            watchesAbove[dir]?.members.insert(id)
        } else if let wd = watcher.watchFile(dir + "/pids.events", as: .eventsAbove(dir)) {
            watchesAbove[dir] = (wd, [id])
        }
    }

    private func leaveWatchAbove(_ dir: String, _ id: ContainerID, _ watcher: CgroupFileWatcher<WatchedFile>) {
        watchesAbove[dir]?.members.remove(id)
        if let entry = watchesAbove[dir], entry.members.isEmpty {
            watcher.unwatch(entry.wd)
            watchesAbove[dir] = nil
        }
    }

    /// The next `discover` scans, due or not (a refusal from a cgroup not yet seen).
    func rescanNow() { nextFullRescan = .min }

    /// Scans when a parent changed or the safety net is due: `make` builds
    /// the entry of each new cgroup from its opened files; cgroups gone are
    /// dropped. Returns whether it scanned.
    func discover(now: Int64, make: (DiscoveredCgroup, PidsCounterFiles) throws(CgroupReadError) -> WatchedContainer) -> Bool {
        guard parentsChanged || now >= nextFullRescan else { return false }
        parentsChanged = fileWatcher == nil
        nextFullRescan = now + Self.fullRescanInterval.nanoseconds
        // A generation mark instead of a set of what was found: a rescan of
        // thousands of containers allocates nothing for those already watched.
        scanGeneration &+= 1
        let generation = scanGeneration
        discovery.scan { id, driver, path in
            if let watched = byID[id] {
                watched.seenInScan = generation
            } else if let watched = add(DiscoveredCgroup(id: id, path: path(), driver: driver), make) {
                watched.seenInScan = generation
            }
        }
        watchParents(discovery.listedParents)
        for watched in pollOrder where watched.seenInScan != generation {
            // One found by asking the kernel may sit where no scan looks; it
            // goes when its cgroup does (the poll's read says so).
            if watched.located && CgroupDiscovery.isCgroup(watched.cgroup.path) { continue }
            remove(watched.cgroup.id, reason: "removed")
        }
        return true
    }

    /// Watches a container found by asking the kernel (its main process's
    /// cgroup, or the path in a refusal line), not by a scan; its parent
    /// folder is listed from the next scan on, which is made at once.
    func adopt(_ cgroup: DiscoveredCgroup,
               make: (DiscoveredCgroup, PidsCounterFiles) throws(CgroupReadError) -> WatchedContainer) -> WatchedContainer? {
        if let watched = byID[cgroup.id] { return watched }
        guard let watched = add(cgroup, make) else { return nil }
        watched.seenInScan = scanGeneration
        parentsChanged = true
        return watched
    }

    /// Reads its `pids.events` every poll from now on, kept open within the budget.
    func startReadingEvents(_ watched: WatchedContainer) {
        guard !watched.readsEvents else { return }
        watched.readsEvents = true
        if eventsKeptOpen < eventsBudget {
            watched.files.keepEventsOpen()
            if watched.files.keepsEventsOpen { eventsKeptOpen += 1 }
        }
    }

    /// Forgets a container and closes its files; `reason` is logged.
    func remove(_ id: ContainerID, reason: String?) {
        guard let watched = byID.removeValue(forKey: id) else { return }
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
            if let dir = watched.eventsAboveDirectory { leaveWatchAbove(dir, id, watcher) }
        }
        watched.files.close()
        if let reason { logger.debug("stopped watching container \(id.short): \(reason)") }
        onRemoved?(watched)
    }

    func shutdown() {
        fileSource?.cancel()
        fileSource = nil
        for id in Array(byID.keys) { remove(id, reason: nil) }
    }

    // MARK: Inside

    private func add(_ cgroup: DiscoveredCgroup,
                     _ make: (DiscoveredCgroup, PidsCounterFiles) throws(CgroupReadError) -> WatchedContainer) -> WatchedContainer? {
        do {
            let keepOpen = keptOpen < keepOpenBudget
            if !keepOpen && !budgetExceeded {
                budgetExceeded = true
                logger.warning("open-file limit reached after \(keptOpen) containers; further containers are read with open/read/close each poll (raise LimitNOFILE)")
            }
            let files = try PidsCounterFiles(directory: cgroup.path, keepOpen: keepOpen)
            let watched = try make(cgroup, files)
            if keepOpen { keptOpen += 1 }
            if let watcher = fileWatcher {
                watched.limitWatch = watcher.watchFile(cgroup.path + "/pids.max", as: .limit(cgroup.id)) ?? -1
                var ok = watched.limitWatch >= 0
                if notifiesEvents {
                    watched.eventsWatch = watcher.watchFile(cgroup.path + "/pids.events", as: .events(cgroup.id)) ?? -1
                    ok = ok && watched.eventsWatch >= 0
                }
                if !ok && !fileWatchesRefused {
                    fileWatchesRefused = true
                    logger.notice("inotify refused a watch on \(cgroup.path) (fs.inotify.max_user_watches?); limits are re-read every \(PidsWatch.limitRecheckInterval)")
                }
            }
            watched.slot = pollOrder.count
            pollOrder.append(watched)
            byID[cgroup.id] = watched
            logger.debug("watching container \(cgroup.id.short) at \(cgroup.path)")
            return watched
        } catch .vanished {
            return nil  // created and removed between scan and open
        } catch {
            logger.warning("cannot watch container \(cgroup.id.short) at \(cgroup.path): \(error)")
            return nil
        }
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
            guard let wd = watcher.watchFolder(path, as: .parent) else { continue }
            parentWatches[path] = wd
            // A folder watched only now (a slice made a moment ago) may have
            // got a container between the scan and the watch: scan again.
            parentsChanged = true
        }
    }
}
