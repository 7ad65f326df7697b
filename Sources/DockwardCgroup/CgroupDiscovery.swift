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

/// Finds Docker containers' cgroups by listing only the parents Docker uses, so a
/// scan costs a few readdirs however big the rest of the tree is.
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
        guard dir.hasPrefix(root + "/"), dir != FileSystem.join(root, "docker"),
              dir != FileSystem.join(root, "system.slice"),
              !dir.hasPrefix(FileSystem.join(root, "user.slice")) else { return false }
        return learnedParents.insert(dir).inserted
    }

    /// Every container cgroup present now, in directory order: `visit` gets
    /// its id and driver, and builds its path only if it asks (`path()`), so
    /// a rescan allocates nothing for the containers already watched.
    /// Missing parents are not errors: they just hold no containers.
    public func scan(_ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        let root = layout.hierarchyRoot
        let dockerParent = FileSystem.join(root, "docker")
        let systemSlice = FileSystem.join(root, "system.slice")
        listedParents = [root, dockerParent, systemSlice, FileSystem.join(root, "user.slice")]

        FileSystem.forEachSubdirectoryName(of: dockerParent) { name in
            guard let id = ContainerID(utf8: name) else { return }
            visit(id, .cgroupfs) { FileSystem.join(dockerParent, String(decoding: name, as: UTF8.self)) }
        }
        FileSystem.forEachSubdirectoryName(of: systemSlice) { name in
            guard let id = Self.scopeID(bytes: name) else { return }
            visit(id, .systemd) { FileSystem.join(systemSlice, String(decoding: name, as: UTF8.self)) }
        }
        walkUserSlice(FileSystem.join(root, "user.slice"), depth: 1, visit)
        for parent in learnedParents.sorted() {
            listedParents.append(parent)
            for name in FileSystem.subdirectories(of: parent) {
                let path = FileSystem.join(parent, name)
                if let id = ContainerID(name) {
                    visit(id, .cgroupfs) { path }
                } else if let id = Self.scopeID(name) {
                    visit(id, CgroupDriver(cgroupPath: path)) { path }
                }
            }
        }
    }

    /// Descends only into `*.slice` and `user@*.service` (where systemd puts a user's
    /// manager and its slices); session and app scopes are never entered.
    private func walkUserSlice(_ dir: String, depth: Int, _ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        guard depth <= Self.maxUserSliceDepth else { return }
        for name in FileSystem.subdirectories(of: dir) {
            let path = FileSystem.join(dir, name)
            if let id = Self.scopeID(name) {
                visit(id, .rootless) { path }
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

    /// The id in `docker-<64hex>.scope`, else nil.
    static func scopeID(_ name: String) -> ContainerID? {
        let prefix = "docker-", suffix = ".scope"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return ContainerID(name.dropFirst(prefix.count).dropLast(suffix.count))
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
