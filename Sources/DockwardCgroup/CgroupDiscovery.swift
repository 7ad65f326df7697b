import DockwardCore

/// A container's pids cgroup directory as found in the tree.
public struct DiscoveredCgroup: Hashable, Sendable {
    public let id: ContainerID
    /// Absolute directory holding the container's `pids.*` files.
    public let path: String
    public let driver: CgroupDriver

    public init(id: ContainerID, path: String, driver: CgroupDriver) {
        self.id = id
        self.path = path
        self.driver = driver
    }
}

/// Finds containers' cgroups by listing only the parents Docker and Podman
/// use, so a scan costs a few readdirs however big the rest of the tree is:
/// `docker/<id>` and `system.slice/docker-<id>.scope` (Docker's cgroupfs and
/// systemd drivers), `libpod_parent/libpod-<id>` and
/// `machine.slice/[machine-libpod_pod_<pod>.slice/]libpod-<id>.scope`
/// (Podman's cgroupfs and systemd managers, pods included), rootless scopes
/// of either under `user.slice`, and the parents learned by asking the kernel.
public final class CgroupDiscovery {
    public let layout: CgroupLayout

    /// Rootless scopes sit at user.slice/user-U.slice/user@U.service/[user.slice/]docker-ID.scope;
    /// this leaves room for one more nesting level without walking the whole session tree.
    static let maxUserSliceDepth = 5

    /// The directories the last scan listed, plus the hierarchy root: where
    /// a new container's cgroup would appear. The pids watch's `CgroupFileWatcher` watches them.
    public private(set) var listedParents: [String] = []

    /// Parents found by asking where containers are (a `--cgroup-parent`
    /// slice or folder, per container or daemon-wide): listed by every scan
    /// from then on, and kept across restarts in the state file.
    public private(set) var learnedParents: Set<String> = []

    public init(layout: CgroupLayout) {
        self.layout = layout
    }

    /// Lists `dir` (absolute, under the hierarchy) in every scan from now on,
    /// unless a scan lists it already. Returns whether it is new.
    @discardableResult
    public func learnParent(_ dir: String) -> Bool {
        let dir = FileSystem.normalized(dir)
        let root = layout.hierarchyRoot
        let scanned = ["docker", "system.slice", "libpod_parent", "machine.slice"].map { FileSystem.join(root, $0) }
        guard dir.hasPrefix(root + "/"), !scanned.contains(dir),
              !dir.hasPrefix(FileSystem.join(root, "machine.slice/machine-libpod_pod_")),
              !dir.hasPrefix(FileSystem.join(root, "user.slice")) else { return false }
        return learnedParents.insert(dir).inserted
    }

    /// The folder a container's `HostConfig.CgroupParent` names: a systemd
    /// slice unit (`acme-web.slice` is `acme.slice/acme-web.slice`, as
    /// systemd nests slices by their dashes) or, with cgroupfs, a path from
    /// the hierarchy's root (`/acme`, `acme/web`). Nil for an empty or
    /// malformed one (`..`, a slice name systemd would refuse).
    public func directory(ofCgroupParent parent: String) -> String? {
        let root = layout.hierarchyRoot
        if parent.hasSuffix(".slice") && !parent.contains("/") {
            let stem = parent.dropLast(".slice".count)
            guard !stem.isEmpty, !stem.hasPrefix("-"), !stem.hasSuffix("-"), !stem.contains("--") else { return nil }
            var path = root, prefix = ""
            for part in stem.split(separator: "-") {
                prefix += (prefix.isEmpty ? "" : "-") + part
                path = FileSystem.join(path, prefix + ".slice")
            }
            return path
        }
        let parts = parent.split(separator: "/")
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        return parts.reduce(root) { FileSystem.join($0, String($1)) }
    }

    /// Every container cgroup present now, in directory order: `visit` gets
    /// its id and driver, and builds its path only if it asks (`path()`), so
    /// a rescan allocates nothing for the containers already watched.
    /// Missing parents are not errors: they just hold no containers.
    public func scan(_ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        let root = layout.hierarchyRoot
        let dockerParent = FileSystem.join(root, "docker")
        let systemSlice = FileSystem.join(root, "system.slice")
        let libpodParent = FileSystem.join(root, "libpod_parent")
        let machineSlice = FileSystem.join(root, "machine.slice")
        listedParents = [root, dockerParent, systemSlice, libpodParent, machineSlice, FileSystem.join(root, "user.slice")]

        FileSystem.forEachSubdirectoryName(of: dockerParent) { name in
            guard let id = ContainerID(utf8: name) else { return }
            visit(id, .cgroupfs) { FileSystem.join(dockerParent, String(decoding: name, as: UTF8.self)) }
        }
        FileSystem.forEachSubdirectoryName(of: systemSlice) { name in
            guard let id = Self.scopeID(bytes: name) else { return }
            visit(id, .systemd) { FileSystem.join(systemSlice, String(decoding: name, as: UTF8.self)) }
        }
        walkUserSlice(FileSystem.join(root, "user.slice"), depth: 1, visit)
        listNamed(libpodParent, visit)
        listNamed(machineSlice, visit)
        for name in FileSystem.subdirectories(of: machineSlice) where name.hasPrefix("machine-libpod_pod_") && name.hasSuffix(".slice") {
            let pod = FileSystem.join(machineSlice, name)
            listedParents.append(pod)
            listNamed(pod, visit)
        }
        for parent in learnedParents.sorted() {
            listedParents.append(parent)
            listNamed(parent, visit)
        }
    }

    /// Visits each subdirectory of `parent` whose name names a container.
    private func listNamed(_ parent: String, _ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        for name in FileSystem.subdirectories(of: parent) {
            guard let id = Self.containerID(inName: name) else { continue }
            let path = FileSystem.join(parent, name)
            visit(id, CgroupDriver(cgroupPath: path)) { Self.limitDirectory(of: path) }
        }
    }

    /// Where the container's own limit lives: crun under Podman's systemd
    /// manager puts the container's processes, and the limit, in a
    /// `container` cgroup inside its `libpod-<id>.scope` (the scope keeps
    /// systemd's DefaultTasksMax); otherwise its own directory.
    public static func limitDirectory(of path: String) -> String {
        guard path.hasSuffix(".scope"), path.split(separator: "/").last?.hasPrefix(libpodPrefix) == true else { return path }
        let inner = FileSystem.join(path, "container")
        return FileSystem.exists(FileSystem.join(inner, "pids.max")) ? inner : path
    }

    /// Descends only into `*.slice` and `user@*.service` (where systemd puts a user's
    /// manager and its slices); session and app scopes are never entered.
    private func walkUserSlice(_ dir: String, depth: Int, _ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        guard depth <= Self.maxUserSliceDepth else { return }
        for name in FileSystem.subdirectories(of: dir) {
            let path = FileSystem.join(dir, name)
            if let id = Self.scopeID(name) {
                visit(id, .rootless) { Self.limitDirectory(of: path) }
            } else if name.hasSuffix(".slice") || (name.hasPrefix("user@") && name.hasSuffix(".service")) {
                listedParents.append(path)
                walkUserSlice(path, depth: depth + 1, visit)
            }
        }
    }

    /// `docker-<64hex>.scope` as raw bytes.
    private static let scopePrefix = Array("docker-".utf8)
    private static let scopeSuffix = Array(".scope".utf8)

    static func scopeID(bytes: UnsafeRawBufferPointer) -> ContainerID? {
        let prefix = scopePrefix, suffix = scopeSuffix
        guard bytes.count == prefix.count + 64 + suffix.count, bytes.starts(with: prefix),
              bytes.suffix(suffix.count).elementsEqual(suffix) else { return nil }
        return ContainerID(utf8: bytes[prefix.count..<(prefix.count + 64)])
    }

    static let libpodPrefix = "libpod-"

    /// The id in `docker-<64hex>.scope` or `libpod-<64hex>.scope` (Podman's
    /// systemd manager), else nil; `libpod-conmon-<id>.scope` holds Podman's
    /// monitor, not the container.
    static func scopeID(_ name: String) -> ContainerID? {
        let suffix = ".scope"
        guard name.hasSuffix(suffix) else { return nil }
        for prefix in ["docker-", libpodPrefix] where name.hasPrefix(prefix) {
            return ContainerID(name.dropFirst(prefix.count).dropLast(suffix.count))
        }
        return nil
    }

    /// The container a cgroup's name names: `<64hex>`, `docker-<id>.scope`,
    /// `libpod-<id>.scope`, or `libpod-<id>` (Podman's cgroupfs manager).
    public static func containerID(inName name: String) -> ContainerID? {
        if let id = ContainerID(name) ?? scopeID(name) { return id }
        guard name.hasPrefix(libpodPrefix) else { return nil }
        return ContainerID(name.dropFirst(libpodPrefix.count))
    }
}

/// Which naming scheme a container's cgroup follows, as discovery reports it.
public enum CgroupDriver: String, Sendable {
    /// `docker/<id>` (Docker's cgroupfs driver).
    case cgroupfs
    /// `system.slice/docker-<id>.scope`.
    case systemd
    /// `user.slice/.../docker-<id>.scope` (rootless Docker).
    case rootless
}

extension CgroupDiscovery {
    /// The absolute directory of a path relative to the hierarchy, as the
    /// kernel prints it (`/acme.slice/docker-<id>.scope`).
    public func directory(of relativePath: String) -> String {
        FileSystem.join(layout.hierarchyRoot, String(relativePath.drop { $0 == "/" }))
    }

    /// The path relative to the hierarchy of an absolute directory under it.
    public func relativePath(of directory: String) -> String {
        let root = layout.hierarchyRoot
        guard directory.hasPrefix(root) else { return directory }
        let rest = directory.dropFirst(root.count)
        return rest.isEmpty ? "/" : (rest.hasPrefix("/") ? String(rest) : "/" + rest)
    }

    /// Whether a directory exists.
    public static func isCgroup(_ directory: String) -> Bool { FileSystem.isDirectory(directory) }
}
