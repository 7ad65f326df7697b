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

/// A container's pids counters. At rest only `pids.current` stays open, read
/// with pread from offset 0 each poll (cgroupfs regenerates the content on
/// each read; this costs a tenth of open/read/close): one descriptor a
/// container. `pids.max` changes rarely and is read when it changes (the
/// caller watches it) and now and then; `pids.events` is read when the kernel
/// says a fork was refused, and kept open, read every poll, only for
/// containers that have refused forks (or on hosts where the kernel's word
/// cannot be had). One owner at a time; not thread-safe.
public final class PidsCounterFiles {
    /// Descriptors a container keeps open at rest: `pids.current`.
    public static let descriptorsPerContainer = 1
    /// Left for the engine connections, the journal, inotify and the metrics server.
    public static let reservedDescriptors = 256
    /// Of the rest, the share kept for the `pids.events` of containers that
    /// refuse forks (read every poll while they do).
    public static let eventsShare = 10

    /// How many containers can keep `pids.current` open under an open-file
    /// limit: 17,769 of 20,000 descriptors, with 1,974 left for `pids.events`.
    public static func containersFitting(descriptors limit: Int) -> Int {
        let usable = max(0, limit - reservedDescriptors)
        return (usable - usable / eventsShare) / descriptorsPerContainer
    }

    /// How many containers can keep `pids.events` open beside them.
    public static func eventsFitting(descriptors limit: Int) -> Int {
        max(0, limit - reservedDescriptors) / eventsShare
    }

    public let directory: String

    private var currentFD: Int32 = -1
    private var eventsFD: Int32 = -1
    /// False for containers read with open/read/close each time.
    public let keepOpen: Bool
    public let hasPeak: Bool
    private var isClosed = false

    // Large enough for v2's multi-line pids.events; the other files are one number.
    private static let bufferSize = 256

    /// Checks that `pids.current`, `pids.max` and `pids.events` are there and
    /// keeps `pids.current` open. A missing directory is `.vanished`; a
    /// directory without the pids files (say, a v2 cgroup whose parent does
    /// not delegate pids) is `.unreadable`.
    ///
    /// With `keepOpen: false` every read opens and closes its file: ten times
    /// the cost, for containers beyond the descriptor budget (a host whose
    /// open-file limit cannot be raised far enough).
    public init(directory: String, keepOpen: Bool = true) throws(CgroupReadError) {
        let directory = FileSystem.normalized(directory)
        self.directory = directory
        self.keepOpen = keepOpen
        let current = try Self.openFile(directory, "pids.current")
        for name in ["pids.max", "pids.events"] as [StaticString] {
            let fd: Int32
            do { fd = try Self.openFile(directory, name) } catch {
                Glibc.close(current)
                throw error
            }
            Glibc.close(fd)
        }
        hasPeak = access(FileSystem.join(directory, "pids.peak"), R_OK) == 0
        if keepOpen { currentFD = current } else { Glibc.close(current) }
    }

    private static func openFile(_ directory: String, _ name: StaticString) throws(CgroupReadError) -> Int32 {
        let path = FileSystem.join(directory, name.description)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { return fd }
        let code = errno
        if CgroupReadError.isVanishedErrno(code) && !FileSystem.isDirectory(directory) {
            throw .vanished(path: directory)
        }
        throw .unreadable(path: path, errno: code)
    }

    deinit {
        close()
    }

    /// `pids.current`: the one read of every poll.
    @inline(__always)
    public func readCurrent() throws(CgroupReadError) -> Int64 {
        guard !isClosed else { throw .unreadable(path: directory, errno: EBADF) }
        if keepOpen { return try readValue(currentFD, "pids.current", PidsFileParser.parseCount) }
        return try readOnce("pids.current", PidsFileParser.parseCount)
    }

    /// `pids.max` (`PidsSample.unlimited` for "max").
    public func readLimit() throws(CgroupReadError) -> Int64 {
        guard !isClosed else { throw .unreadable(path: directory, errno: EBADF) }
        return try readOnce("pids.max", PidsFileParser.parseLimit)
    }

    /// The `max` count of `pids.events`: forks refused so far.
    public func readRefusedForks() throws(CgroupReadError) -> Int64 {
        guard !isClosed else { throw .unreadable(path: directory, errno: EBADF) }
        if eventsFD >= 0 { return try readValue(eventsFD, "pids.events", PidsFileParser.parseRefusedForks) }
        return try readOnce("pids.events", PidsFileParser.parseRefusedForks)
    }

    /// Keeps `pids.events` open from now on: for a container whose refusals
    /// are read every poll. A no-op beyond the descriptor budget.
    public func keepEventsOpen() {
        guard keepOpen, !isClosed, eventsFD < 0 else { return }
        eventsFD = (try? Self.openFile(directory, "pids.events")) ?? -1
    }

    public var keepsEventsOpen: Bool { eventsFD >= 0 }

    /// `pids.peak` alone, where the kernel has it: read only for an alert's figures.
    public func readPeak() -> Int64? {
        guard !isClosed, hasPeak else { return nil }
        return try? readOnce("pids.peak", PidsFileParser.parseCount)
    }

    /// Idempotent.
    public func close() {
        isClosed = true
        for fd in [currentFD, eventsFD] where fd >= 0 { Glibc.close(fd) }
        currentFD = -1
        eventsFD = -1
    }

    private func readOnce(_ name: StaticString, _ parse: (UnsafeRawBufferPointer) -> Int64?) throws(CgroupReadError) -> Int64 {
        let fd = try Self.openFile(directory, name)
        defer { Glibc.close(fd) }
        return try readValue(fd, name, parse)
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
