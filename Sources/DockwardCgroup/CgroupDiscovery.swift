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
    /// a new container's cgroup would appear. `CgroupChangeWatcher` watches them.
    public private(set) var listedParents: [String] = []

    public init(layout: CgroupLayout) {
        self.layout = layout
    }

    /// Every container cgroup present now, sorted by id then path. Missing parents
    /// are not errors: they just hold no containers.
    public func scan() -> [DiscoveredCgroup] {
        let root = layout.hierarchyRoot
        var found: [DiscoveredCgroup] = []
        listedParents = [root, FileSystem.join(root, "docker"), FileSystem.join(root, "system.slice"),
                         FileSystem.join(root, "user.slice")]

        let dockerParent = FileSystem.join(root, "docker")
        for name in FileSystem.subdirectories(of: dockerParent) {
            if let id = ContainerID(name) {
                found.append(DiscoveredCgroup(id: id, path: FileSystem.join(dockerParent, name), driver: .cgroupfs))
            }
        }

        let systemSlice = FileSystem.join(root, "system.slice")
        for name in FileSystem.subdirectories(of: systemSlice) {
            if let id = Self.scopeID(name) {
                found.append(DiscoveredCgroup(id: id, path: FileSystem.join(systemSlice, name), driver: .systemd))
            }
        }

        walkUserSlice(FileSystem.join(root, "user.slice"), depth: 1, into: &found)

        return found.sorted { ($0.id, $0.path) < ($1.id, $1.path) }
    }

    /// Descends only into `*.slice` and `user@*.service` (where systemd puts a user's
    /// manager and its slices); session and app scopes are never entered.
    private func walkUserSlice(_ dir: String, depth: Int, into found: inout [DiscoveredCgroup]) {
        guard depth <= Self.maxUserSliceDepth else { return }
        for name in FileSystem.subdirectories(of: dir) {
            let path = FileSystem.join(dir, name)
            if let id = Self.scopeID(name) {
                found.append(DiscoveredCgroup(id: id, path: path, driver: .rootless))
            } else if name.hasSuffix(".slice") || (name.hasPrefix("user@") && name.hasSuffix(".service")) {
                listedParents.append(path)
                walkUserSlice(path, depth: depth + 1, into: &found)
            }
        }
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
    /// The container a cgroup path names, as the kernel prints it in a
    /// refusal (relative to its hierarchy: `/docker/<id>`,
    /// `/system.slice/docker-<id>.scope`, or nested deeper), else nil.
    public static func containerID(inCgroupPath path: Substring) -> ContainerID? {
        guard let last = path.split(separator: "/").last else { return nil }
        return ContainerID(last) ?? scopeID(String(last))
    }
}
