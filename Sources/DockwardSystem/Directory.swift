import Glibc

/// One entry of a folder, as readdir(3) gives it.
public struct DirectoryEntry {
    public var name: String
    /// `d_type`: `DT_DIR`, `DT_REG`, ...; `DT_UNKNOWN` where the filesystem
    /// does not fill it in.
    public var type: UInt8
    public var inode: UInt64

    public var isDirectoryOrUnknown: Bool { type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) }
    /// `.` or `..`.
    public var isSelfOrParent: Bool { name == "." || name == ".." }
}

/// The one readdir loop of the adapters that want names as strings (cold
/// paths: it makes a string an entry).
public enum Directory {
    /// Hands each entry of `path`, `.` and `..` included (a walk that
    /// budgets its work counts them), to `body`, until `body` returns false. Returns false, with `errno` set by opendir(3), when
    /// the folder cannot be opened.
    @discardableResult
    public static func forEachEntry(in path: String, _ body: (DirectoryEntry) -> Bool) -> Bool {
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard body(DirectoryEntry(name: name, type: entry.pointee.d_type, inode: UInt64(entry.pointee.d_ino))) else { break }
        }
        return true
    }
}
