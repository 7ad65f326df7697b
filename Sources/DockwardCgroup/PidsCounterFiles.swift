import DockwardCore
import Glibc

public enum CgroupReadError: Error, Equatable, CustomStringConvertible {
    /// The cgroup was removed (its container stopped): ENOENT, ENODEV or ESRCH,
    /// or an empty read from a directory that is gone.
    case vanished(path: String)
    case unreadable(path: String, errno: Int32)
    /// `content` is truncated and has control characters escaped, ready to log.
    case malformed(path: String, content: String)

    public var description: String {
        switch self {
        case .vanished(let path):
            return "cgroup \(path) is gone"
        case .unreadable(let path, let code):
            return "cannot read \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .malformed(let path, let content):
            return "unexpected content in \(path): \"\(content)\""
        }
    }

    static func isVanishedErrno(_ code: Int32) -> Bool {
        code == ENOENT || code == ENODEV || code == ESRCH
    }

    /// Truncates and escapes file content for a log line.
    static func printable(_ bytes: UnsafeRawBufferPointer, limit: Int = 64) -> String {
        var out = ""
        for byte in bytes.prefix(limit) {
            switch byte {
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\t"): out += "\\t"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        if bytes.count > limit { out += "..." }
        return out
    }
}

/// A container's pids counters, kept open and re-read with pread from offset 0:
/// cgroupfs regenerates the content on each read, and this costs a tenth of
/// open/read/close. One owner at a time; not thread-safe.
public final class PidsCounterFiles {
    /// Descriptors a container keeps open: current, max, events and peak.
    public static let descriptorsPerContainer = 4
    /// Left for the engine connections, the journal, inotify and the metrics server.
    public static let reservedDescriptors = 256

    /// How many containers can keep their files open under an open-file limit.
    public static func containersFitting(descriptors limit: Int) -> Int {
        max(0, (limit - reservedDescriptors) / descriptorsPerContainer)
    }

    public let directory: String

    private var currentFD: Int32
    private var maxFD: Int32
    private var eventsFD: Int32
    private var peakFD: Int32  // -1 where the kernel has no pids.peak
    /// False for containers read with open/read/close each time.
    public let keepOpen: Bool
    private let peakExists: Bool
    private var isClosed = false

    // Large enough for v2's multi-line pids.events; the other files are one number.
    private static let bufferSize = 256

    /// Opens `pids.current`, `pids.max`, `pids.events` and, if present, `pids.peak`.
    /// A missing directory is `.vanished`; a directory without the pids files (say,
    /// a v2 cgroup whose parent does not delegate pids) is `.unreadable`.
    ///
    /// With `keepOpen: false` the files are checked now and reopened on every
    /// read: ten times the cost, for containers beyond the descriptor budget
    /// (a host whose open-file limit cannot be raised far enough).
    public init(directory: String, keepOpen: Bool = true) throws(CgroupReadError) {
        let directory = FileSystem.normalized(directory)
        let fds = try Self.openFiles(directory)
        self.directory = directory
        self.keepOpen = keepOpen
        self.peakExists = fds.peak >= 0
        self.currentFD = fds.current
        self.maxFD = fds.max
        self.eventsFD = fds.events
        self.peakFD = fds.peak
        if !keepOpen { closeFiles() }
    }

    private static func openFiles(_ directory: String) throws(CgroupReadError)
        -> (current: Int32, max: Int32, events: Int32, peak: Int32) {
        var opened: [Int32] = []
        func openFile(_ name: String, optional: Bool = false) throws(CgroupReadError) -> Int32 {
            let path = FileSystem.join(directory, name)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                opened.append(fd)
                return fd
            }
            let code = errno
            if optional && code == ENOENT && FileSystem.isDirectory(directory) { return -1 }
            for fd in opened { Glibc.close(fd) }
            if CgroupReadError.isVanishedErrno(code) && !FileSystem.isDirectory(directory) {
                throw .vanished(path: directory)
            }
            throw .unreadable(path: path, errno: code)
        }
        let current = try openFile("pids.current")
        let max = try openFile("pids.max")
        let events = try openFile("pids.events")
        let peak = try openFile("pids.peak", optional: true)
        return (current, max, events, peak)
    }

    deinit {
        close()
    }

    public var hasPeak: Bool { peakExists }

    /// `pids.peak` alone, where the kernel has it.
    public func readPeak() -> Int64? {
        guard !isClosed, peakExists else { return nil }
        if keepOpen { return try? readValue(peakFD, "pids.peak", PidsFileParser.parseCount) }
        return try? read(includePeak: true).peak
    }

    /// The poll loop passes `includePeak: false`: nothing is decided on the
    /// peak, so it is read only for an alert's figures, sparing a quarter of
    /// the syscalls per tick.
    public func read(includePeak: Bool = true) throws(CgroupReadError) -> PidsSample {
        guard !isClosed else { throw .unreadable(path: directory, errno: EBADF) }
        if !keepOpen {
            let fds = try Self.openFiles(directory)
            (currentFD, maxFD, eventsFD, peakFD) = fds
        }
        defer { if !keepOpen { closeFiles() } }
        let current = try readValue(currentFD, "pids.current", PidsFileParser.parseCount)
        let limit = try readValue(maxFD, "pids.max", PidsFileParser.parseLimit)
        let refused = try readValue(eventsFD, "pids.events", PidsFileParser.parseRefusedForks)
        let peak = try includePeak && peakFD >= 0 ? readValue(peakFD, "pids.peak", PidsFileParser.parseCount) : nil
        return PidsSample(current: current, limit: limit, refusedForks: refused, peak: peak)
    }

    /// Idempotent.
    public func close() {
        isClosed = true
        closeFiles()
    }

    private func closeFiles() {
        for fd in [currentFD, maxFD, eventsFD, peakFD] where fd >= 0 {
            Glibc.close(fd)
        }
        currentFD = -1
        maxFD = -1
        eventsFD = -1
        peakFD = -1
    }

    /// `name` is only turned into a path when reporting an error. The buffer
    /// lives on the stack: one hot cache line for every read, and the
    /// kernel's usercopy check on a stack buffer is cheaper than on a heap one.
    @inline(__always)
    private func readValue(
        _ fd: Int32, _ name: StaticString, _ parse: (UnsafeRawBufferPointer) -> Int64?
    ) throws(CgroupReadError) -> Int64 {
        var count = 0
        var code: Int32 = 0
        var value: Int64?
        var content: String?
        withUnsafeTemporaryAllocation(byteCount: Self.bufferSize, alignment: 8) { buffer in
            repeat {
                count = pread(fd, buffer.baseAddress, buffer.count, 0)
            } while count < 0 && errno == EINTR
            if count < 0 { code = errno; return }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            value = parse(bytes)
            if value == nil { content = CgroupReadError.printable(bytes) }
        }
        if let value { return value }
        if count < 0 {
            if CgroupReadError.isVanishedErrno(code) { throw .vanished(path: directory) }
            throw .unreadable(path: path(name), errno: code)
        }
        if count == 0 && !FileSystem.isDirectory(directory) { throw .vanished(path: directory) }
        throw .malformed(path: path(name), content: content ?? "")
    }

    private func path(_ name: StaticString) -> String {
        FileSystem.join(directory, name.description)
    }
}
