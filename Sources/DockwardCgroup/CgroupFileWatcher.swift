import Glibc

/// Tells when a cgroup file was written: `pids.max` when an operator or
/// `docker update --pids-limit` changes a limit (on v1 and v2, a write
/// through the VFS notifies `IN_MODIFY`), and `pids.events` on cgroup v2,
/// where the kernel notifies each refused fork itself (kernfs_notify, at
/// most about 100 a second per file; v1 stays silent). Non-blocking; the
/// caller drives `drain` from a read source or its poll.
public final class CgroupFileWatcher<Key: Hashable> {
    public let fd: Int32
    private var keys: [Int32: Key] = [:]
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// nil when inotify cannot be used (limits, seccomp): the caller then re-reads.
    public init?() {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    /// The watch descriptor, for `unwatch`; nil when the kernel refused the
    /// watch (say, `max_user_watches`).
    @discardableResult
    public func watch(_ path: String, as key: Key) -> Int32? {
        let wd = inotify_add_watch(fd, path, UInt32(IN_MODIFY))
        guard wd >= 0 else { return nil }
        keys[wd] = key
        return wd
    }

    public func unwatch(_ wd: Int32) {
        guard keys.removeValue(forKey: wd) != nil else { return }
        inotify_rm_watch(fd, wd)
    }

    /// Hands each written file's key to `onChange` (once per read even when
    /// it was written several times); true when the kernel's queue
    /// overflowed, so every file should be read again.
    @discardableResult
    public func drain(_ onChange: (Key) -> Void) -> Bool {
        var overflowed = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return overflowed }
            var seen = Set<Int32>()
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true }
                    if event.mask & UInt32(IN_MODIFY) != 0 { seen.insert(event.wd) }
                    if event.mask & UInt32(IN_IGNORED) != 0 { keys[event.wd] = nil }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
            for wd in seen { if let key = keys[wd] { onChange(key) } }
        }
    }
}
