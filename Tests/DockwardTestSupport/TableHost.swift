import DockwardCore
#if canImport(Glibc)
import Glibc
#endif

/// A hand-built host filesystem: files with identities, directory symlinks,
/// and bind mounts (a second path showing the same tree).
public struct TableHost: HostPathInspector {
    public var files: [String: FileIdentity]
    public var symlinks: [String: String] = [:]
    /// Mount point -> the tree it shows (`mount --bind /run /mnt/run`).
    public var binds: [String: String] = [:]
    /// Folders the inspector may not search, with the error it gets.
    public var closed: [String: String] = [:]

    public init(files: [String: FileIdentity], symlinks: [String: String] = [:], binds: [String: String] = [:],
                closed: [String: String] = [:]) {
        self.files = files
        self.symlinks = symlinks
        self.binds = binds
        self.closed = closed
    }

    public func resolve(_ path: String) -> String? {
        if resolutionFailure(path) != nil { return nil }
        var current = SocketExposureAnalysis.normalize(path)
        for _ in 0..<40 {
            var changed = false
            let parts = current.split(separator: "/")
            for i in stride(from: parts.count, through: 1, by: -1) {
                let prefix = "/" + parts[..<i].joined(separator: "/")
                if let target = symlinks[prefix] {
                    current = SocketExposureAnalysis.normalize(target + "/" + parts[i...].joined(separator: "/"))
                    changed = true
                    break
                }
            }
            if !changed { break }
        }
        return exists(current) ? current : nil
    }

    public func resolutionFailure(_ path: String) -> String? {
        let lexical = SocketExposureAnalysis.normalize(path)
        return closed.first { lexical.hasPrefix($0.key + "/") }?.value
    }

    public func exists(_ path: String) -> Bool {
        path == "/" || files[path] != nil || files.keys.contains { $0.hasPrefix(path + "/") } || binds[path] != nil
            || binds.keys.contains { path.hasPrefix($0 + "/") }
    }

    public func identity(_ path: String) -> FileIdentity? {
        guard let p = resolve(path) else { return nil }
        if let id = files[p] { return id }
        for (mountPoint, tree) in binds where p.hasPrefix(mountPoint + "/") {
            return files[tree + p.dropFirst(mountPoint.count)]
        }
        return nil
    }
}

/// A table host that also knows link counts, block devices and globs.
public struct RichHost: HostPathInspector {
    public var table: TableHost
    public var links: [String: [String]] = [:]
    public var blockDevices: Set<String> = []

    public init(table: TableHost, links: [String: [String]] = [:], blockDevices: Set<String> = [],
                folders: [String: FileIdentity] = ["/var/lib/docker": FileIdentity(device: 8, inode: 2)]) {
        self.table = table
        self.links = links
        self.blockDevices = blockDevices
        self.folders = folders
    }

    public func resolve(_ path: String) -> String? { table.resolve(path) }
    /// Folders have identities too here: a bind mount point has its tree's.
    public func identity(_ path: String) -> FileIdentity? {
        if let tree = table.binds[path] { return identity(tree) }
        return table.identity(path) ?? folders[path]
    }
    public var folders: [String: FileIdentity] = ["/var/lib/docker": FileIdentity(device: 8, inode: 2)]
    public func expand(_ pattern: String) -> [String] {
        table.files.keys.filter { fnmatch(pattern, $0, FNM_PATHNAME) == 0 }.sorted()
    }
    public func linkCount(_ path: String) -> Int { (links[path]?.count ?? 0) + 1 }
    public func otherNames(of path: String, identity: FileIdentity, wanted: Int) -> [String] { links[path] ?? [] }
    public func isBlockDevice(_ path: String) -> Bool { blockDevices.contains(path) }
    /// The table's files named `*.sock`, and any named in `sockets`.
    public var sockets: Set<String> = []
    public func isSocket(_ path: String) -> Bool {
        guard let p = table.resolve(path), table.files[p] != nil else { return false }
        return p.hasSuffix(".sock") || sockets.contains(p)
    }
}

