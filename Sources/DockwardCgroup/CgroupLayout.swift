import DockwardCore
import Glibc

/// Where the pids controller lives under a cgroup root.
public struct CgroupLayout: Equatable, Sendable {
    public let version: CgroupVersion
    /// Absolute directory of the hierarchy that has the pids controller:
    /// `<root>/pids` (v1), `<root>` (pure v2) or `<root>/unified` (hybrid, pids on v2).
    public let hierarchyRoot: String

    public init(version: CgroupVersion, hierarchyRoot: String) {
        self.version = version
        self.hierarchyRoot = FileSystem.normalized(hierarchyRoot)
    }

    /// One line for the start-up log.
    public var summary: String {
        "cgroup \(version.rawValue) pids hierarchy at \(hierarchyRoot)"
    }
}

public enum CgroupLayoutError: Error, Equatable, CustomStringConvertible {
    case rootNotFound(root: String)
    case noPidsController(root: String)

    public var description: String {
        switch self {
        case .rootNotFound(let root):
            return "cgroup root \(root) does not exist or is not a directory (check cgroup.root)"
        case .noPidsController(let root):
            return "no pids cgroup controller under \(root): "
                + "\(root)/cgroup.controllers and \(root)/unified/cgroup.controllers do not list pids, "
                + "and \(root)/pids is not a mounted v1 pids hierarchy (check cgroup.root)"
        }
    }
}

public enum CgroupLayoutDetector {
    /// Looks for the hierarchy that actually has the pids controller. A v2
    /// `cgroup.controllers` listing `pids` is authoritative (a controller is bound to
    /// one hierarchy only), so it wins over a `pids` directory, which may be a bare
    /// mount point; a v1 hierarchy is recognised by its `cgroup.procs`.
    public static func detect(root: String) throws -> CgroupLayout {
        let root = FileSystem.normalized(root)
        guard FileSystem.isDirectory(root) else { throw CgroupLayoutError.rootNotFound(root: root) }

        if listsPids(FileSystem.join(root, "cgroup.controllers")) {
            return CgroupLayout(version: .v2, hierarchyRoot: root)
        }
        let unified = FileSystem.join(root, "unified")
        if listsPids(FileSystem.join(unified, "cgroup.controllers")) {
            return CgroupLayout(version: .v2, hierarchyRoot: unified)
        }
        let v1 = FileSystem.join(root, "pids")
        if FileSystem.isDirectory(v1) && FileSystem.exists(FileSystem.join(v1, "cgroup.procs")) {
            return CgroupLayout(version: .v1, hierarchyRoot: v1)
        }
        throw CgroupLayoutError.noPidsController(root: root)
    }

    /// `cgroup.controllers` is one line of space-separated names.
    static func listsPids(_ path: String) -> Bool {
        guard case .success(let bytes) = FileSystem.readSmall(path) else { return false }
        return bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 })
            .contains { $0.elementsEqual("pids".utf8) }
    }
}

/// Which cgroup hierarchy holds the pids controller: the unified v2 tree or
/// the v1 `pids` hierarchy.
public enum CgroupVersion: String, Sendable { case v1, v2 }
