import Glibc

/// Tells the poll loop when a container cgroup may have appeared or gone, so
/// discovery re-lists the parents only then instead of on every tick.
///
/// cgroupfs reports mkdir and rmdir of cgroups through inotify on the parent
/// (they go through the VFS), on v1 and v2 alike; only the counters inside
/// are silent on v1. The daemon still re-lists periodically as a safety net
/// (a queue overflow, a parent that appears between two watches).
public final class CgroupChangeWatcher {
    private let fd: Int32
    private var watches: [String: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR)

    /// nil when inotify cannot be used (limits, seccomp); the caller then
    /// re-lists every tick.
    public init?() {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    /// Watches each directory that exists; forgets watches on those gone.
    public func watch(_ directories: [String]) {
        let wanted = Set(directories)
        for (path, wd) in watches where !wanted.contains(path) {
            inotify_rm_watch(fd, wd)
            watches[path] = nil
        }
        for path in directories where watches[path] == nil {
            let wd = inotify_add_watch(fd, path, Self.mask)
            if wd >= 0 { watches[path] = wd }
        }
    }

    /// Reads every pending event without blocking; true if any arrived (or
    /// the kernel's queue overflowed), meaning the parents should be re-listed.
    public func drainChanges() -> Bool {
        var changed = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { changed = true; continue }
            if n < 0 && errno == EINTR { continue }
            return changed
        }
    }
}
