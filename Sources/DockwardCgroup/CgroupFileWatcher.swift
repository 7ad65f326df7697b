import Glibc

/// The pids watch's one inotify instance: what changed in the cgroup tree.
///
/// - Parents (`watchFolder`): cgroupfs reports mkdir and rmdir of cgroups
///   through inotify on the parent (they go through the VFS), on v1 and v2
///   alike, so discovery re-lists the parents only then instead of on every
///   poll (and periodically, as a safety net for a lost event).
/// - Files (`watchFile`): `pids.max` when an operator or `docker update
///   --pids-limit` writes a limit (a write through the VFS notifies
///   `IN_MODIFY`, on v1 and v2), and `pids.events` on cgroup v2, where the
///   kernel notifies each refused fork itself (kernfs_notify, at most about
///   100 a second per file; v1 stays silent).
///
/// Non-blocking; the caller drives `drain` from a read source or its poll.
public final class CgroupFileWatcher<Key: Hashable> {
    public let fd: Int32
    private var keys: [Int32: Key] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    private static var folderMask: UInt32 {
        UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR)
    }

    /// nil when inotify cannot be used (limits, seccomp): the caller then re-reads.
    public init?() {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    /// Writes to the file at `path`. The watch descriptor, for `unwatch`;
    /// nil when the kernel refused the watch (say, `max_user_watches`).
    @discardableResult
    public func watchFile(_ path: String, as key: Key) -> Int32? {
        add(path, UInt32(IN_MODIFY), key)
    }

    /// Entries made, removed or moved in the folder at `path` (and the
    /// folder itself going). Watching a folder again returns the same descriptor.
    @discardableResult
    public func watchFolder(_ path: String, as key: Key) -> Int32? {
        add(path, Self.folderMask, key)
    }

    private func add(_ path: String, _ mask: UInt32, _ key: Key) -> Int32? {
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { return nil }
        keys[wd] = key
        return wd
    }

    public func unwatch(_ wd: Int32) {
        guard keys.removeValue(forKey: wd) != nil else { return }
        inotify_rm_watch(fd, wd)
    }

    /// Hands the key of each watch that saw a change to `onChange` (once per
    /// drain even when it changed several times); true when the kernel's
    /// queue overflowed, so everything should be read again.
    @discardableResult
    public func drain(_ onChange: (Key) -> Void) -> Bool {
        var overflowed = false
        var changed: [Key] = []
        var seen = Set<Key>()
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true }
                    // The key is taken before IN_IGNORED (the watch's end,
                    // after a folder's IN_DELETE_SELF) drops it.
                    if event.mask & ~UInt32(IN_IGNORED | IN_Q_OVERFLOW) != 0, let key = keys[event.wd],
                       seen.insert(key).inserted {
                        changed.append(key)
                    }
                    if event.mask & UInt32(IN_IGNORED) != 0 { keys[event.wd] = nil }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
        }
        for key in changed { onChange(key) }
        return overflowed
    }
}
