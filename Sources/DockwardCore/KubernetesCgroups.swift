/// kubelet's cgroup tree, the same whichever runtime runs the pods: every
/// pod under `kubepods` (the node's allocatable), burstable and besteffort
/// pods one level down in their QoS class, guaranteed pods directly under
/// it, and each container inside its pod's cgroup.
///
///     systemd:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/<container>
///               kubepods.slice/kubepods-pod<uid>.slice/<container>           (guaranteed)
///     cgroupfs: kubepods/burstable/pod<uid>/<container>, kubepods/pod<uid>/<container>
///
/// (`<uid>` with its dashes as underscores in a slice's name.) The
/// container's folder is its runtime's: `cri-containerd-<id>.scope`,
/// `crio-<id>.scope`, or the bare id with cgroupfs.
public enum KubernetesCgroups {
    /// The node-level folders, under the hierarchy's root.
    public static let nodeFolders = ["kubepods.slice", "kubepods"]

    /// Whether a folder below `kubepods` holds pods or containers in turn:
    /// a QoS class or a pod.
    public static func holdsContainers(_ name: String) -> Bool {
        if name.hasSuffix(".slice") { return name.hasPrefix("kubepods-") }
        return name == "burstable" || name == "besteffort" || name.hasPrefix("pod")
    }

    /// Where a limit sits in kubelet's tree, as `PIDS_MAX_SOURCE` names it.
    public enum Level: String, Sendable, Equatable {
        /// kubelet's podPidsLimit, on the pod's cgroup.
        case pod
        /// A QoS class's cgroup (burstable, besteffort).
        case qos
        /// `kubepods`: the node's allocatable pids (capacity minus
        /// systemReserved and kubeReserved).
        case node
    }

    /// The level of a cgroup (relative to the hierarchy, as the kernel
    /// prints it), or nil when it is not one of kubelet's pod-side folders.
    public static func level(ofCgroup path: String) -> Level? {
        let parts = path.split(separator: "/")
        guard let first = parts.first, nodeFolders.contains(String(first)), let last = parts.last else { return nil }
        if parts.count == 1 { return .node }
        let name = String(last)
        if name.hasSuffix(".slice") {
            guard name.hasPrefix("kubepods-") else { return nil }
            return name.contains("-pod") ? .pod : .qos
        }
        guard first == "kubepods" else { return nil }
        if name.hasPrefix("pod") { return .pod }
        return name == "burstable" || name == "besteffort" ? .qos : nil
    }
}

/// A runtime whose containers live in kubelet's tree (containerd's CRI
/// plugin, CRI-O): its parents and the folders that hold containers are
/// kubelet's, and the container's folder holds its limit. Such a naming
/// gives only its names for a container's folder.
public protocol KubeletTreeNaming: CgroupNaming {}

extension KubeletTreeNaming {
    public var containerParents: [String] { KubernetesCgroups.nodeFolders }
    public var nestingParents: [String] { KubernetesCgroups.nodeFolders }
    public func holdsContainers(_ folderName: String) -> Bool { KubernetesCgroups.holdsContainers(folderName) }
    public func limitSubfolder(ofContainerFolderNamed name: String) -> String? { nil }
}

/// The limit kubelet's tree puts above a container without one of its own:
/// the smallest `pids.max` of its pod, its QoS class and `kubepods`.
public struct KubeletLimit: Equatable, Sendable {
    public var limit: Int64
    public var level: KubernetesCgroups.Level
    /// Relative to the hierarchy, as the kernel prints it.
    public var cgroup: String

    public init(limit: Int64, level: KubernetesCgroups.Level, cgroup: String) {
        self.limit = limit
        self.level = level
        self.cgroup = cgroup
    }

    /// From the chain read up from a container's cgroup (its own at
    /// `containerIndex`): the smallest limit above it in kubelet's tree
    /// (the lowest such cgroup on a tie: the kernel stops at the first
    /// limit it meets), or nil when none of them has one.
    public static func find(chain: [CgroupLimitReading], containerIndex: Int) -> KubeletLimit? {
        var best: KubeletLimit?
        for reading in chain.dropFirst(containerIndex + 1) {
            guard let limit = reading.limit, let level = KubernetesCgroups.level(ofCgroup: reading.cgroup) else { continue }
            if best == nil || limit < best!.limit { best = KubeletLimit(limit: limit, level: level, cgroup: reading.cgroup) }
        }
        return best
    }
}
