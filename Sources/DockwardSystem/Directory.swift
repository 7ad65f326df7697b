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

/// One entry of a folder with its name as readdir(3)'s bytes, valid only
/// during the call that hands it out: for listings that must not make a
/// string per entry.
public struct RawDirectoryEntry {
    public var name: UnsafeRawBufferPointer
    /// `d_type`, as in ``DirectoryEntry/type``.
    public var type: UInt8
    public var inode: UInt64

    /// `.` or `..`.
    public var isSelfOrParent: Bool { name.elementsEqual(".".utf8) || name.elementsEqual("..".utf8) }
}

/// The one readdir loop of the adapters.
public enum Directory {
    /// Hands each entry of `path`, `.` and `..` included (a walk that
    /// budgets its work counts them), to `body`, until `body` returns
    /// false. Returns false, with `errno` set by opendir(3), when the
    /// folder cannot be opened. Makes a string an entry: for cold paths.
    @discardableResult
    public static func forEachEntry(in path: String, _ body: (DirectoryEntry) -> Bool) -> Bool {
        forEachRawEntry(in: path) { raw in
            body(DirectoryEntry(name: String(decoding: raw.name, as: UTF8.self), type: raw.type, inode: raw.inode))
        }
    }

    /// ``forEachEntry(in:_:)`` without the string: the name's bytes are
    /// valid only during each call of `body`.
    @discardableResult
    public static func forEachRawEntry(in path: String, _ body: (RawDirectoryEntry) -> Bool) -> Bool {
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let goOn = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let name = UnsafeRawBufferPointer(rebasing: raw.prefix { $0 != 0 })
                return body(RawDirectoryEntry(name: name, type: entry.pointee.d_type, inode: UInt64(entry.pointee.d_ino)))
            }
            guard goOn else { break }
        }
        return true
    }
}
