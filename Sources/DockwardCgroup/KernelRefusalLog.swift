import DockwardCore
import Glibc

/// The kernel's own word that a fork was refused: on the first refused fork
/// in a cgroup, kernel/cgroup/pids.c logs
/// `cgroup: fork rejected by pids controller in /docker/<id>` (once per
/// cgroup, on v1 and v2 alike). Followed live from `/dev/kmsg`, it tells the
/// pids watch within milliseconds, whatever the poll interval, and also for
/// a container that dies right after. Reading it needs CAP_SYSLOG when
/// `kernel.dmesg_restrict=1`; without it the watch reads `pids.events` every
/// poll instead.
///
/// Opened non-blocking at the end of the log (history is not news); the
/// caller drives `drain` from a read source on its queue. One record per
/// read on /dev/kmsg; a FIFO (tests) may hand over several lines at once,
/// which parse the same way.
public final class KernelRefusalLog {
    public static let defaultPath = "/dev/kmsg"
    /// /dev/kmsg records are at most about 1 KiB of text plus their dictionary.
    static let bufferSize = 8192

    public enum OpenError: Error, CustomStringConvertible {
        case notPermitted(path: String, errno: Int32)
        case unavailable(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .notPermitted(let path, let code):
                return "cannot read kernel messages at \(path) (\(String(cString: strerror(code)))): reading them needs CAP_SYSLOG while kernel.dmesg_restrict=1"
            case .unavailable(let path, let code):
                return "cannot read kernel messages at \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    public let path: String
    public let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: KernelRefusalLog.bufferSize)

    public init(path: String = KernelRefusalLog.defaultPath) throws(OpenError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == EPERM || code == EACCES { throw .notPermitted(path: path, errno: code) }
            throw .unavailable(path: path, errno: code)
        }
        // Only what happens from now on; on a FIFO this fails harmlessly.
        _ = lseek(fd, 0, SEEK_END)
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    public enum Outcome: Equatable {
        case drained
        /// The kernel overwrote records before they were read (EPIPE); reading goes on.
        case overrun
        /// The writer went away (a FIFO's end); a read source would spin.
        case closed
    }

    /// Reads every record available now and hands each refusal's cgroup path
    /// (as the kernel prints it, e.g. `/docker/<id>`) to `onRefusal`.
    @discardableResult
    public func drain(_ onRefusal: (Substring) -> Void) -> Outcome {
        var outcome = Outcome.drained
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                for line in text.split(separator: "\n") {
                    if let path = Self.refusedCgroup(inRecord: line) { onRefusal(path) }
                }
                continue
            }
            if n == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EPIPE:
                outcome = .overrun
                continue
            default:  // EAGAIN: nothing more now
                return outcome
            }
        }
    }

    static let marker = "cgroup: fork rejected by pids controller in "

    /// The cgroup path of a refusal record, else nil. A /dev/kmsg record is
    /// `<prio>,<seq>,<usec>,<flags>[,...];<text>`; `dmesg` and the journal
    /// show the text alone. Dictionary lines (a leading space) and every
    /// other message are not refusals.
    public static func refusedCgroup(inRecord line: Substring) -> Substring? {
        guard !line.hasPrefix(" "), let range = line.firstRange(of: marker) else { return nil }
        // In a kmsg record the text starts after the first ';'.
        if let semicolon = line.firstIndex(of: ";"), semicolon < range.lowerBound,
           line[line.index(after: semicolon)..<range.lowerBound].contains(where: { $0 != " " }) {
            return nil  // the marker is not at the start of the text
        }
        let path = line[range.upperBound...].prefix { $0 != "\n" && $0 != "\r" && $0 != " " }
        guard path.hasPrefix("/") else { return nil }
        return path
    }
}
