import DockwardCgroup
import DockwardCore

/// One watched container: its cgroup files as last read (the registry's
/// side) and its judgement state (the watch's side). Lives on the daemon's
/// queue.
@DaemonActor
final class WatchedContainer {
    let cgroup: DiscoveredCgroup
    /// Its cgroup relative to the hierarchy, as the kernel prints it.
    let relativePath: String
    let files: PidsCounterFiles
    /// `pids.max` as last read.
    var limit: Int64 = PidsSample.unlimited
    var limitStale = true
    /// The limit kubelet's tree holds above it when that one holds, being
    /// no higher than its own (`limit` is then that one's value).
    var kubeletLimit: KubeletLimit?
    var limitReadAt: Int64 = 0
    /// The `max` count of `pids.events` as last read.
    var refusedForks: Int64 = 0
    /// Counts of its refused forks kept elsewhere in the tree: a cgroup
    /// inside it that forked, a cgroup above it whose limit refused (see
    /// `RefusalCounterFile`). Read with `pids.events`; added to its count.
    var otherRefusalCounters: [RefusalCounterFile] = []
    /// The cgroup inside it the kernel last named as refusing a fork
    /// (relative to the hierarchy), where the walk for the refusing limit starts.
    var forkingCgroup: String?
    /// The limit that refused, when not its own, while its episode lasts.
    var refusingLimit: RefusingLimit?
    /// Found by asking the kernel (its main process's cgroup, or the path in
    /// a refusal line) rather than by a scan: a scan that misses it does not
    /// end its watch; its cgroup vanishing does.
    var located = false
    /// Read every poll: it has refused forks, or the kernel's word cannot be had.
    var readsEvents = false
    /// inotify watches on its pids.max (and pids.events on v2), -1 for none.
    var limitWatch: Int32 = -1
    var eventsWatch: Int32 = -1
    /// The cgroup above it whose `pids.events` is watched for it (the one
    /// whose limit holds it, on v2), absolute; nil for none.
    var eventsAboveDirectory: String?
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
    /// Index in the registry's poll order.
    var slot = 0
    /// The last discovery scan that found it.
    var seenInScan: UInt32 = 0

    init(cgroup: DiscoveredCgroup, relativePath: String, files: PidsCounterFiles, detector: ContainerPidsDetector,
         policy: PidsPolicy, metadata: ContainerMetadata?, discoveredAt: Int64) {
        self.cgroup = cgroup
        self.relativePath = relativePath
        self.files = files
        self.detector = detector
        self.policy = policy
        self.metadata = metadata
        self.judged = metadata != nil
        self.discoveredAt = discoveredAt
    }

    /// Under kubelet's `kubepods` (a Kubernetes pod's container).
    var isInKubeletTree: Bool {
        KubernetesCgroups.nodeFolders.contains { relativePath.hasPrefix("/\($0)/") }
    }

    var ref: ContainerRef { ContainerRef(id: cgroup.id, metadata: metadata, cgroupPath: cgroup.path) }

    /// Its own `pids.events` count and those kept elsewhere in the tree.
    func readRefusals() throws(CgroupReadError) -> Int64 {
        var total = try files.readRefusedForks()
        for i in otherRefusalCounters.indices { total += otherRefusalCounters[i].refusals() }
        return total
    }

    /// Where a ceiling the container did not ask for comes from.
    var ceilingOrigin: String { cgroup.driver.ceilingOrigin }

    /// What containment needs of it.
    var facts: ContainerFacts {
        let unlimited = lastSample?.isUnlimited ?? true
        return ContainerFacts(ref: ref, current: lastSample?.current, limit: unlimited ? nil : lastSample?.limit,
                              // A number in pids.max the engine says it did not ask for is a ceiling set around it.
                              hasOwnLimit: !unlimited && (detector.hasOwnLimit ?? true),
                              lastRefusalAt: detector.lastRefusalAt, rate: detector.trend.averageRate)
    }
}

/// What containment needs of a watched container, read after the pass.
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
