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

/// Finds containers' cgroups by listing only the parents the registered
/// engines use (their `CgroupNaming`s: Docker's `docker/<id>` and
/// `system.slice/docker-<id>.scope`, Podman's `libpod_parent` and
/// `machine.slice` with its pods, ...), so a scan costs a few readdirs
/// however big the rest of the tree is; rootless scopes of any of them
/// under `user.slice`, and the parents learned by asking the kernel.
public final class CgroupDiscovery {
    public let layout: CgroupLayout
    /// What the registered engines' cgroup names say.
    public let names: CgroupNames

    /// Rootless scopes sit at user.slice/user-U.slice/user@U.service/[user.slice/]docker-ID.scope;
    /// this leaves room for one more nesting level without walking the whole session tree.
    static let maxUserSliceDepth = 5
    /// Folders that hold containers in turn, one inside another, below a
    /// nesting parent: Podman's pod slices (one level), kubelet's QoS
    /// classes and pods (two: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice`).
    static let maxNestingDepth = 2

    /// The directories the last scan listed, plus the hierarchy root: where
    /// a new container's cgroup would appear. The pids watch's `CgroupFileWatcher` watches them.
    public private(set) var listedParents: [String] = []

    /// Parents found by asking where containers are (a `--cgroup-parent`
    /// slice or folder, per container or daemon-wide): listed by every scan
    /// from then on, and kept across restarts in the state file.
    public private(set) var learnedParents: Set<String> = []

    public init(layout: CgroupLayout, names: CgroupNames) {
        self.layout = layout
        self.names = names
    }

    /// Lists `dir` (absolute, under the hierarchy) in every scan from now on,
    /// unless a scan lists it already. Returns whether it is new.
    @discardableResult
    public func learnParent(_ dir: String) -> Bool {
        let dir = FileSystem.normalized(dir)
        let root = layout.hierarchyRoot
        let relative = dir.hasPrefix(root + "/") ? String(dir.dropFirst(root.count + 1)) : ""
        let parts = relative.split(separator: "/").map(String.init)
        guard !parts.isEmpty, !names.containerParents.contains(relative), parts[0] != "user.slice",
              // A pod's slice (or anything in it) is listed with its parent.
              !(parts.count >= 2 && names.nestingParents.contains(parts[0])
                  && parts[1...].prefix(Self.maxNestingDepth).allSatisfy(names.holdsContainers)
                  && parts.count - 1 <= Self.maxNestingDepth)
        else { return false }
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
        listedParents = [root]
        let nesting = names.nestingParents
        for parent in names.containerParents {
            let dir = FileSystem.join(root, parent)
            listedParents.append(dir)
            list(dir, named: parent, nesting: nesting.contains(parent) ? Self.maxNestingDepth : 0, visit)
        }
        let userSlice = FileSystem.join(root, "user.slice")
        listedParents.append(userSlice)
        walkUserSlice(userSlice, depth: 1, visit)
        for parent in learnedParents.sorted() {
            listedParents.append(parent)
            list(parent, named: nil, nesting: 0, visit)
        }
    }

    /// Visits each subdirectory of `parent` whose name names a container;
    /// with `nesting` levels left, lists the ones that hold containers in
    /// turn (pods, QoS classes). `parentName`: the registered parent listed
    /// (its engines' shapes there, at every level below it), nil for a
    /// learned one (any shape).
    private func list(_ parent: String, named parentName: String?, nesting: Int,
                      _ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        let nested = nesting > 0
        var holders: [String] = []
        FileSystem.forEachSubdirectoryName(of: parent) { name in
            if let id = names.containerID(inName: name, inParent: parentName) {
                visit(id, Self.driver(ofName: name)) { self.limitDirectory(of: FileSystem.join(parent, String(decoding: name, as: UTF8.self))) }
            } else if nested {
                let text = String(decoding: name, as: UTF8.self)
                if names.holdsContainers(text) { holders.append(text) }
            }
        }
        for holder in holders {
            let dir = FileSystem.join(parent, holder)
            listedParents.append(dir)
            list(dir, named: parentName, nesting: nesting - 1, visit)
        }
    }

    private static let scopeSuffix = Array(".scope".utf8)

    /// A `.scope` is systemd's; anything else cgroupfs.
    static func driver(ofName name: UnsafeRawBufferPointer) -> CgroupDriver {
        name.count > scopeSuffix.count && name.suffix(scopeSuffix.count).elementsEqual(scopeSuffix) ? .systemd : .cgroupfs
    }

    /// Where the container's own limit lives: inside its folder when its
    /// engine's naming says its runtime makes a subfolder for it (and that
    /// one exists, with a limit), otherwise the folder itself.
    public func limitDirectory(of path: String) -> String {
        guard let name = path.split(separator: "/").last,
              let sub = names.limitSubfolder(ofContainerFolderNamed: String(name)) else { return path }
        let inner = FileSystem.join(path, sub)
        return FileSystem.exists(FileSystem.join(inner, "pids.max")) ? inner : path
    }

    /// Descends only into `*.slice` and `user@*.service` (where systemd puts a user's
    /// manager and its slices); session and app scopes are never entered.
    private func walkUserSlice(_ dir: String, depth: Int, _ visit: (ContainerID, CgroupDriver, () -> String) -> Void) {
        guard depth <= Self.maxUserSliceDepth else { return }
        for name in FileSystem.subdirectories(of: dir) {
            let path = FileSystem.join(dir, name)
            if name.hasSuffix(".scope"), let id = names.containerID(inName: name) {
                visit(id, .rootless) { self.limitDirectory(of: path) }
            } else if name.hasSuffix(".slice") || (name.hasPrefix("user@") && name.hasSuffix(".service")) {
                listedParents.append(path)
                walkUserSlice(path, depth: depth + 1, visit)
            }
        }
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
