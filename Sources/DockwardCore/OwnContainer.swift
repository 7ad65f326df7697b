/// The container dockward itself runs in, as the kernel says it: the cgroup
/// paths in `/proc/self/cgroup` name it (`docker-<id>.scope`,
/// `/docker/<id>`, `cri-containerd-<id>.scope`, `libpod-<id>.scope`, a
/// kubelet pod's `<id>`), read through the same engine namings discovery
/// uses. A process cannot choose that path for itself short of writing
/// another cgroup's `cgroup.procs`, which needs the host's cgroup tree
/// writable: no name, image or label (all of which anyone can give a
/// container) decides it. dockward in a container needs the engine's socket
/// mounted, so its own container reaches it; this is the one container
/// whose socket mount the watch does not report (`self-exempt` says so).
///
/// In a private cgroup namespace (Docker's default on cgroup v2, containerd's
/// under Kubernetes) `/proc/self/cgroup` reads `0::/` and names nothing:
/// the daemon then looks for the container cgroup that lists its own pid
/// in the host's tree (`OwnContainerSearch`).
public struct OwnContainer: Equatable, Sendable {
    public var id: ContainerID
    /// The cgroup path the id was read from, as `/proc/self/cgroup` gives it.
    public var cgroupPath: String

    public init(id: ContainerID, cgroupPath: String) {
        self.id = id
        self.cgroupPath = cgroupPath
    }

    /// The container `/proc/self/cgroup`'s text names, or nil: none (not in
    /// a container, or a private cgroup namespace), or lines that disagree.
    /// Each line is `hierarchy-ID:controllers:path` (v1: one per hierarchy;
    /// v2: `0::path`); in each path the innermost folder an engine's naming
    /// recognises counts (crun's `container` subfolder sits below it).
    public static func parse(procSelfCgroup text: String, names: CgroupNames) -> OwnContainer? {
        var found: OwnContainer?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].hasPrefix("/") else { continue }
            let path = String(parts[2])
            guard let id = innermostContainer(in: path, names: names) else { continue }
            if let earlier = found, earlier.id != id { return nil }
            if found == nil { found = OwnContainer(id: id, cgroupPath: path) }
        }
        return found
    }

    /// True when every path is `/`: a private cgroup namespace (or the
    /// root cgroup, where no process but the kernel's own runs).
    public static func isNamespaceRoot(procSelfCgroup text: String) -> Bool {
        let paths = text.split(separator: "\n").compactMap { line -> Substring? in
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            return parts.count == 3 ? parts[2] : nil
        }
        return !paths.isEmpty && paths.allSatisfy { $0 == "/" }
    }

    static func innermostContainer(in path: String, names: CgroupNames) -> ContainerID? {
        let folders = path.split(separator: "/")
        for index in folders.indices.reversed() {
            if let id = names.containerID(inName: folders[index], inParent: nil) { return id }
        }
        return nil
    }
}
