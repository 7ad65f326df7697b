import DockwardCore
import Glibc

/// The host's task count and process-table ceiling, for containers without a pids
/// limit: they can only be stopped by the host running out.
public struct HostPidsReader: Sendable {
    public let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = FileSystem.normalized(procRoot)
    }

    /// tasks: the total of /proc/loadavg's "running/total" field (all threads);
    /// ceiling: min(kernel.pid_max, kernel.threads-max), whichever stops forks first.
    /// Throws `CgroupReadError.unreadable` or `.malformed`.
    public func read() throws -> HostPidsSample {
        let tasks = try readFile("loadavg", HostPidsReader.parseLoadavgTotal)
        let pidMax = try readFile("sys/kernel/pid_max", PidsFileParser.parseCount)
        let threadsMax = try readFile("sys/kernel/threads-max", PidsFileParser.parseCount)
        return HostPidsSample(tasks: tasks, ceiling: min(pidMax, threadsMax))
    }

    /// "0.28 0.32 0.15 2/105 4273\n" -> 105.
    static func parseLoadavgTotal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var field = 0, i = 0
        while i < bytes.count {
            while i < bytes.count && PidsFileParser.isSpace(bytes[i]) { i += 1 }
            guard i < bytes.count else { return nil }
            let start = i
            while i < bytes.count && !PidsFileParser.isSpace(bytes[i]) { i += 1 }
            field += 1
            if field == 4 {
                let token = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                guard let slash = token.firstIndex(of: UInt8(ascii: "/")) else { return nil }
                let running = UnsafeRawBufferPointer(rebasing: token[..<slash])
                guard PidsFileParser.parseDecimal(running) != nil else { return nil }
                return PidsFileParser.parseDecimal(UnsafeRawBufferPointer(rebasing: token[(slash + 1)...]))
            }
        }
        return nil
    }

    private func readFile(_ relative: String, _ parse: (UnsafeRawBufferPointer) -> Int64?) throws -> Int64 {
        let path = FileSystem.join(procRoot, relative)
        switch FileSystem.readSmall(path) {
        case .failure(let failure):
            throw CgroupReadError.unreadable(path: path, errno: failure.errno)
        case .success(let bytes):
            let value = bytes.withUnsafeBytes { parse($0) }
            guard let value else {
                throw CgroupReadError.malformed(path: path, content: bytes.withUnsafeBytes { CgroupReadError.printable($0) })
            }
            return value
        }
    }
}
