import DockwardCore
import DockwardSystem
import Glibc

/// The real filesystem behind the exposure analysis: realpath(3), stat(2),
/// glob(3) and a bounded directory walk, as dockward sees the host.
public struct HostPaths: HostPathInspector {
    /// A walk for a socket's other names visits at most this many entries
    /// of its filesystem (a tmpfs `/run` holds a few thousand).
    public static let defaultHardLinkSearchBudget = 200_000

    /// Entries one walk for a socket's other names may visit (`.` and `..`
    /// of each folder count).
    public let hardLinkSearchBudget: Int

    public init(hardLinkSearchBudget: Int = HostPaths.defaultHardLinkSearchBudget) {
        self.hardLinkSearchBudget = hardLinkSearchBudget
    }

    public func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// realpath(3)'s error, unless it is ENOENT or ENOTDIR (the path is not
    /// there, so nothing can be reached through it).
    public func resolutionFailure(_ path: String) -> String? {
        errno = 0
        if let resolved = realpath(path, nil) {
            free(resolved)
            return nil
        }
        let code = errno
        if code == ENOENT || code == ENOTDIR { return nil }
        return String(cString: strerror(code))
    }

    public func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public func expand(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { i in matches.gl_pathv[i].map { String(cString: $0) } }.sorted()
    }

    public func linkCount(_ path: String) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { return 1 }
        return Int(st.st_nlink)
    }

    public func isBlockDevice(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK
    }

    public func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Walks the file's own filesystem nearest first: its folder, then each
    /// folder above it (without the part already walked) up to the top of
    /// that filesystem, never crossing into another mount, comparing inode
    /// numbers; at most `hardLinkSearchBudget` entries. A hard link can
    /// only live on the same filesystem, and is usually made near the
    /// original.
    public func otherNames(of path: String, identity: FileIdentity, wanted: Int) -> [String] {
        searchOtherNames(of: path, identity: identity, wanted: wanted).names
    }

    /// `otherNames`, with how many entries the walk visited.
    func searchOtherNames(of path: String, identity: FileIdentity, wanted: Int) -> (names: [String], visited: Int) {
        var search = LinkSearch(original: path, identity: identity, wanted: wanted, budget: hardLinkSearchBudget)
        var walked: String?
        var folder = Self.parent(of: SocketExposureAnalysis.normalize(path))
        while search.canGoOn {
            search.walk(folder, skipping: walked)
            let parent = Self.parent(of: folder)
            guard folder != "/", self.identity(parent)?.device == identity.device else { break }
            walked = folder
            folder = parent
        }
        return (search.found.sorted(), search.visited)
    }

    private struct LinkSearch {
        let original: String
        let identity: FileIdentity
        let wanted: Int
        let budget: Int
        var found: [String] = []
        var visited = 0

        var canGoOn: Bool { found.count < wanted && visited < budget }

        mutating func walk(_ root: String, skipping walked: String?) {
            // Breadth first: names close to the top of the walk come first.
            var pending = [root]
            var next = 0
            while canGoOn, next < pending.count {
                let folder = pending[next]
                next += 1
                Directory.forEachEntry(in: folder) { entry in
                    visited += 1
                    if entry.isSelfOrParent { return canGoOn }
                    let full = folder == "/" ? "/" + entry.name : folder + "/" + entry.name
                    if entry.isDirectoryOrUnknown {
                        var st = stat()
                        guard lstat(full, &st) == 0 else { return canGoOn }
                        if (st.st_mode & S_IFMT) == S_IFDIR {
                            if UInt64(st.st_dev) == identity.device, full != walked { pending.append(full) }
                            return canGoOn
                        }
                    }
                    guard entry.inode == identity.inode, full != original else { return canGoOn }
                    var st = stat()
                    if lstat(full, &st) == 0, UInt64(st.st_dev) == identity.device, UInt64(st.st_ino) == identity.inode {
                        found.append(full)
                    }
                    return canGoOn
                }
            }
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
