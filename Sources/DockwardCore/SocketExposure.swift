/// A file's identity on the host: device and inode. Two paths with the same
/// identity are the same file, whatever their names.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// What the analysis may ask of the host's filesystem. The daemon passes the
/// real one (realpath, stat); tests pass a table. Keeping it a parameter keeps
/// the analysis itself pure.
public protocol HostPathInspector: Sendable {
    /// The canonical path (symlinks resolved), or nil when it does not exist.
    func resolve(_ path: String) -> String?
    /// Device and inode of the file at `path` (following symlinks), or nil.
    func identity(_ path: String) -> FileIdentity?
    /// Why `path` cannot be resolved, when `resolve` fails for another reason
    /// than the path not existing: a folder on the way that dockward may not
    /// search (`Permission denied`), a symlink loop. nil when it resolves or
    /// does not exist.
    func resolutionFailure(_ path: String) -> String?
    /// The paths a glob (`*`, `?`, `[...]`) matches now, sorted; a path
    /// without glob characters is returned as it is.
    func expand(_ pattern: String) -> [String]
    /// How many names (hard links) the file at `path` has; 1 when unknown.
    func linkCount(_ path: String) -> Int
    /// Other names of the file `identity` on its own filesystem, at most
    /// `wanted` of them, found by a bounded walk of that filesystem.
    func otherNames(of path: String, identity: FileIdentity, wanted: Int) -> [String]
    /// True when `path` (following symlinks) is a block device.
    func isBlockDevice(_ path: String) -> Bool
    /// True when `path` (following symlinks) is a socket: a mount of it
    /// reaches the socket alone, not the folder it sits in.
    func isSocket(_ path: String) -> Bool
}

extension HostPathInspector {
    public func resolutionFailure(_ path: String) -> String? { nil }
    public func expand(_ pattern: String) -> [String] { [pattern] }
    public func linkCount(_ path: String) -> Int { 1 }
    public func otherNames(of path: String, identity: FileIdentity, wanted: Int) -> [String] { [] }
    public func isBlockDevice(_ path: String) -> Bool { false }
    public func isSocket(_ path: String) -> Bool { false }
}

/// A socket that gives control of the host, resolved once per check so a
/// socket recreated by an engine restart is compared by its new inode.
public struct ProtectedSocket: Equatable, Sendable {
    /// As configured (or as the engine endpoint names it).
    public var path: String
    /// Canonical path; the lexical form when the socket does not exist.
    public var resolved: String
    public var identity: FileIdentity?
    /// For another name (hard link) of a socket: that socket's path. The
    /// link's own name is `path`.
    public var hardLinkOf: String?

    public init(path: String, resolved: String, identity: FileIdentity?, hardLinkOf: String? = nil) {
        self.path = path
        self.resolved = resolved
        self.identity = identity
        self.hardLinkOf = hardLinkOf
    }

    /// Each path (globs expanded) once, by its resolved form. A glob that
    /// matches nothing protects nothing yet; it is expanded again at the
    /// next check.
    public static func resolve(_ paths: [String], on host: HostPathInspector) -> [ProtectedSocket] {
        var seen = Set<String>()
        var out: [ProtectedSocket] = []
        for pattern in paths {
            let expanded = isGlob(pattern) ? host.expand(pattern) : [pattern]
            for path in expanded {
                let (lexical, resolved) = SocketExposureAnalysis.canonical(path, on: host)
                guard seen.insert(resolved).inserted else { continue }
                out.append(ProtectedSocket(path: lexical, resolved: resolved, identity: host.identity(resolved)))
            }
        }
        return out
    }

    /// True when `pattern` holds a glob character.
    public static func isGlob(_ pattern: String) -> Bool {
        pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// The socket's other names as protected sockets of their own, so a
    /// folder holding a hard link of the socket counts like the socket's.
    public func hardLinks(_ names: [String]) -> [ProtectedSocket] {
        names.filter { $0 != resolved && $0 != path }.map {
            ProtectedSocket(path: $0, resolved: $0, identity: identity, hardLinkOf: path)
        }
    }
}


/// How a container reaches a protected socket.
public enum ExposureKind: String, Sendable {
    /// The socket itself is mounted (whatever the destination).
    case direct
    /// A directory above the socket is mounted (`/var/run`, `/run`, `/`).
    case parentDir = "parent-dir"
    /// Another path to the same file: a symlink, or a directory that is a
    /// second view of the socket's own.
    case alias
    /// A second name of the socket (a hard link), or a folder holding one.
    case hardLink = "hard-link"
}

public struct SocketExposure: Equatable, Sendable {
    public var socket: String
    /// The hard link of `socket` that the mount reaches, for `.hardLink`.
    public var hardLink: String?
    public var mountSource: String
    public var mountDestination: String
    /// The volume that binds `mountSource`, when the mount is one.
    public var viaVolume: String?
    /// `ro` does not stop `connect()` on a socket; reported, never a reason to pass.
    public var readWrite: Bool
    public var kind: ExposureKind

    public init(socket: String, mountSource: String, mountDestination: String, readWrite: Bool, kind: ExposureKind,
                hardLink: String? = nil) {
        self.socket = socket
        self.hardLink = hardLink
        self.mountSource = mountSource
        self.mountDestination = mountDestination
        self.readWrite = readWrite
        self.kind = kind
    }
}

/// A mount whose host path could not be resolved, so whether it reaches a
/// socket is unknown: reported as such, never passed as clean.
public struct UnresolvedMount: Equatable, Sendable {
    public var source: String
    public var destination: String
    public var reason: String

    public init(source: String, destination: String, reason: String) {
        self.source = source
        self.destination = destination
        self.reason = reason
    }
}

/// Decides from a container's mounts whether it can reach a protected socket.
/// Compares resolved paths and device/inode identity, never mere strings, so
/// `/var/run` (a symlink to `/run`), `/` and a second bind of the socket's
/// folder are all caught, and `docker.sock.bak` or `docker.sock.d/` are not.
public enum SocketExposureAnalysis {
    /// `volumes`: their local-driver binds count as binds of the folder
    /// they name.
    public static func exposures(mounts: [MountPoint], binds: [String], volumes: [VolumeMount] = [],
                                 sockets: [ProtectedSocket], host: HostPathInspector) -> [SocketExposure] {
        var out: [SocketExposure] = []
        let links = sockets.filter { $0.hardLinkOf != nil }
        for mount in hostMounts(mounts: mounts, binds: binds, volumes: volumes) {
            for socket in sockets where socket.hardLinkOf == nil {
                let kind = reach(source: mount.source, socket: socket, host: host)
                var exposure = SocketExposure(socket: socket.path, mountSource: mount.source,
                                              mountDestination: mount.destination, readWrite: mount.readWrite,
                                              kind: kind ?? .alias)
                // A hard link explains more than "the same file" does: it
                // wins over an alias, never over the socket's own path.
                if kind == nil || kind == .alias,
                   let link = links.first(where: { $0.hardLinkOf == socket.path
                                                       && reach(source: mount.source, socket: $0, host: host) != nil }) {
                    exposure.kind = .hardLink
                    exposure.hardLink = link.path
                } else if kind == nil {
                    continue
                }
                exposure.viaVolume = mount.viaVolume
                out.append(exposure)
            }
        }
        return out
    }

    /// The mounts whose host path cannot be resolved (see
    /// `HostPathInspector.resolutionFailure`): for those the analysis above
    /// can only compare strings, so a symlink or a second view of the
    /// socket's folder behind them would go unseen.
    public static func unresolved(mounts: [MountPoint], binds: [String], volumes: [VolumeMount] = [],
                                  host: HostPathInspector) -> [UnresolvedMount] {
        hostMounts(mounts: mounts, binds: binds, volumes: volumes).compactMap { mount in
            let lexical = normalize(mount.source)
            guard host.resolve(lexical) == nil, let reason = host.resolutionFailure(lexical) else { return nil }
            return UnresolvedMount(source: mount.source, destination: mount.destination, reason: reason)
        }
    }

    /// Mounts, `Binds` entries and volumes that bind a host folder, with a
    /// host path, each source/destination pair once.
    public static func hostMounts(mounts: [MountPoint], binds: [String], volumes: [VolumeMount] = []) -> [MountPoint] {
        var out: [MountPoint] = []
        var seen = Set<String>()
        // A volume that binds a host folder is judged by that folder, not
        // by the engine's `_data` path for the same mount.
        let volumeBinds = volumes.compactMap(\.hostBind)
        let boundDestinations = Set(volumeBinds.map(\.destination))
        let engineMounts = mounts.filter { $0.kind != .volume || !boundDestinations.contains($0.destination) }
        for mount in volumeBinds + engineMounts + binds.compactMap(parseBind) {
            guard mount.kind != .tmpfs, mount.kind != .npipe else { continue }
            // Relative or empty sources are not host paths (named volumes in
            // Binds, odd engine output): nothing to compare.
            guard mount.source.hasPrefix("/"), !mount.source.contains("\0") else { continue }
            let key = "\(mount.source)\u{0}\(mount.destination)"
            guard seen.insert(key).inserted else { continue }
            out.append(mount)
        }
        return out
    }

    /// How (if at all) a mount of `source` reaches `socket`.
    static func reach(source: String, socket: ProtectedSocket, host: HostPathInspector) -> ExposureKind? {
        let (lexical, resolved) = canonical(source, on: host)
        if lexical == socket.path || lexical == socket.resolved {
            return .direct
        }
        if resolved == socket.resolved {
            return .alias
        }
        // Only the resolved path counts: Docker resolves a bind source's
        // symlinks when it mounts, but a symlink *inside* a mounted folder
        // (`/var` holding `run -> /run`) resolves in the container's own root.
        if isAncestor(resolved, of: socket.resolved) {
            return .parentDir
        }
        guard let target = socket.identity else { return nil }
        if host.identity(resolved) == target {
            return .alias
        }
        // A directory that is another view of one of the socket's ancestors
        // (a bind of /run at /mnt/run, a volume whose data is /var/run): look
        // for the socket under it by each tail of the socket's path. A path
        // that only gets there through a symlink leaving the mounted tree
        // does not count: inside the container that symlink resolves against
        // the container's own root.
        let components = socket.resolved.split(separator: "/")
        for start in stride(from: components.count - 1, through: 0, by: -1) {
            let tail = components[start...].joined(separator: "/")
            let candidate = resolved == "/" ? "/" + tail : resolved + "/" + tail
            guard let real = host.resolve(candidate), isAncestor(resolved, of: real) else { continue }
            if host.identity(real) == target { return .alias }
        }
        return nil
    }

    public static func isAncestor(_ dir: String, of path: String) -> Bool {
        if dir == "/" { return path.hasPrefix("/") && path != "/" }
        return path.hasPrefix(dir + "/")
    }

    /// A host path as written (normalized) and as the host resolves it;
    /// the written form stands for both when it does not resolve (a
    /// missing socket is still compared by its path).
    public static func canonical(_ path: String, on host: HostPathInspector) -> (lexical: String, resolved: String) {
        let lexical = normalize(path)
        return (lexical, host.resolve(lexical) ?? lexical)
    }

    /// Collapses `//`, `.` and `..` and drops a trailing slash, without
    /// touching the filesystem.
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `HostConfig.Binds` entry `src:dst[:opts]`; only host paths count
    /// (a named volume's name is not a path).
    static func parseBind(_ bind: String) -> MountPoint? {
        let parts = bind.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts[0].hasPrefix("/") else { return nil }
        let options = parts.count >= 3 ? parts[2].split(separator: ",").map(String.init) : []
        return MountPoint(kind: .bind, source: parts[0], destination: parts[1], readWrite: !options.contains("ro"))
    }
}
