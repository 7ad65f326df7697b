import Glibc

/// The one write dockward makes into the cgroup tree, and only when
/// `actions:` asks for it: a new limit in a container's `pids.max`. The
/// kernel applies it at once (the next fork over it is refused), engine or
/// no engine.
public enum PidsLimitFile {
    public enum WriteError: Error, Equatable, CustomStringConvertible {
        case vanished(path: String)
        /// EACCES/EPERM (no right to write the cgroup tree), EROFS (mounted
        /// read-only, as under ProtectControlGroups=yes), EINVAL, ...
        case refused(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .vanished(let path): return "cgroup \(path) is gone"
            case .refused(let path, let code): return "cannot write \(path): \(String(cString: strerror(code))) (errno \(code))"
            }
        }
    }

    /// Writes `limit` into `<cgroupDirectory>/pids.max` in one write(2).
    /// Not `FileDescriptorWriter.writeAll`: the kernel parses each write
    /// of a cgroup file on its own, so finishing a short write with a
    /// second one would set a limit made of the first digits.
    public static func write(_ limit: Int64, cgroupDirectory: String) throws(WriteError) {
        let path = cgroupDirectory + "/pids.max"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if CgroupReadError.isVanishedErrno(code) { throw .vanished(path: path) }
            throw .refused(path: path, errno: code)
        }
        defer { close(fd) }
        let bytes = Array("\(limit)\n".utf8)
        var written = 0
        repeat {
            written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        } while written < 0 && errno == EINTR
        guard written == bytes.count else {
            let code = written < 0 ? errno : EIO
            if CgroupReadError.isVanishedErrno(code) { throw .vanished(path: path) }
            throw .refused(path: path, errno: code)
        }
    }
}
