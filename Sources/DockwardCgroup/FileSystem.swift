import DockwardSystem
import Glibc

/// Small syscall helpers shared by the readers. Cold paths only: they allocate.
enum FileSystem {
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Hands the name of each subdirectory of `path` to `body` as raw bytes,
    /// valid during the call: a rescan of 10,000 containers then makes no
    /// string for the ones already known. Nothing when `path` is missing.
    static func forEachSubdirectoryName(of path: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        Directory.forEachRawEntry(in: path) { entry in
            guard !entry.isSelfOrParent else { return true }
            switch Int32(entry.type) {
            case Int32(DT_DIR):
                body(entry.name)
            case Int32(DT_UNKNOWN), Int32(DT_LNK):
                // Some filesystems (and bind-mounted copies of the tree) don't fill d_type.
                if isDirectory(join(path, String(decoding: entry.name, as: UTF8.self))) { body(entry.name) }
            default:
                break
            }
            return true
        }
    }

    /// Names of the subdirectories of `path`, or [] when it is missing or unreadable
    /// (a missing parent just means no containers of that kind).
    static func subdirectories(of path: String) -> [String] {
        var names: [String] = []
        Directory.forEachEntry(in: path) { entry in
            guard !entry.isSelfOrParent else { return true }
            switch Int32(entry.type) {
            case Int32(DT_DIR):
                names.append(entry.name)
            case Int32(DT_UNKNOWN), Int32(DT_LNK):
                // Some filesystems (and bind-mounted copies of the tree) don't fill d_type.
                if isDirectory(join(path, entry.name)) { names.append(entry.name) }
            default:
                break
            }
            return true
        }
        return names
    }

    /// Reads a small file whole, retrying EINTR. Returns the bytes or the errno.
    static func readSmall(_ path: String, limit: Int = 4096) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(ReadFailure(errno: errno)) }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.read(fd, buf.baseAddress! + filled, limit - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(errno: errno))
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return .success(bytes)
    }

    struct ReadFailure: Error { let errno: Int32 }

    /// The path without trailing slashes ("/" stays "/").
    static func normalized(_ path: String) -> String {
        // The common case keeps the caller's storage: no copy per container.
        guard path.count > 1 && path.hasSuffix("/") else { return path }
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    static func join(_ base: String, _ name: String) -> String {
        base == "/" ? "/" + name : base + "/" + name
    }
}
