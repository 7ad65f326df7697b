import CSystemd
import DockwardCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's messages as journald keeps them (`_TRANSPORT=kernel`), read
/// live through libsystemd: the same lines as /dev/kmsg, for a process
/// that may read the system journal (root, or the `systemd-journal` group)
/// but holds no CAP_SYSLOG. journald reads /dev/kmsg as the kernel writes
/// it, so a line arrives here within milliseconds.
///
/// The caller drives `drain` from a read source on `fd` (libsystemd's
/// inotify descriptor). Not thread-safe: one owner, one queue.
public final class JournalKernelLines {
    public enum OpenError: Error, CustomStringConvertible {
        case cannotOpen(String)
        case noSystemJournal

        public var description: String {
            switch self {
            case .cannotOpen(let reason): return "cannot open the journal for kernel messages: \(reason)"
            case .noSystemJournal:
                return "the system journal is not readable (kernel messages need root or the systemd-journal group)"
            }
        }
    }

    private let journal: OpaquePointer
    public let fd: Int32

    public init() throws(OpenError) {
        var j: OpaquePointer?
        let rc = sd_journal_open(&j, Int32(SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM))
        guard rc >= 0, let opened = j else { throw .cannotOpen(String(cString: strerror(-rc))) }
        let match = Array("_TRANSPORT=kernel".utf8)
        _ = match.withUnsafeBytes { sd_journal_add_match(opened, $0.baseAddress, $0.count) }
        // From now on: the last kernel entry is the position, next() gives
        // new ones. Without read access to the system journal only the
        // caller's own user journal opens, which holds no kernel entry at all.
        _ = sd_journal_seek_tail(opened)
        guard sd_journal_previous(opened) > 0 else {
            sd_journal_close(opened)
            throw .noSystemJournal
        }
        let fd = sd_journal_get_fd(opened)
        guard fd >= 0 else {
            sd_journal_close(opened)
            throw .cannotOpen(String(cString: strerror(-fd)))
        }
        journal = opened
        self.fd = fd
    }

    deinit { sd_journal_close(journal) }

    /// Hands the MESSAGE of every kernel entry written since the last call to `onLine`.
    public func readNew(_ onLine: (Substring) -> Void) {
        _ = sd_journal_process(journal)
        while sd_journal_next(journal) > 0 {
            var ptr: UnsafeRawPointer?
            var len = 0
            guard sd_journal_get_data(journal, "MESSAGE", &ptr, &len) >= 0, let p = ptr, len > 8 else { continue }
            let text = String(decoding: UnsafeRawBufferPointer(start: p + 8, count: len - 8), as: UTF8.self)
            onLine(Substring(text))
        }
    }
}
