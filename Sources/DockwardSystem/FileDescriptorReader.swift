import Glibc

/// Reads a raw descriptor to its end, for the small files dockward reads
/// whole (the engine's unit files and daemon.json, the Alertmanager's
/// secrets and PEM files): the one read loop they share.
public enum FileDescriptorReader {
    public enum Outcome: Equatable, Sendable {
        case bytes([UInt8])
        /// More than the limit: a wrong file, not read on.
        case tooLarge
        /// `read` failed with this errno.
        case failed(Int32)
    }

    /// Every byte up to the end of file, retrying EINTR; `.tooLarge` once
    /// more than `limit` bytes came.
    public static func readAll(_ fd: Int32, limit: Int) -> Outcome {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if n == 0 { return .bytes(bytes) }
            bytes.append(contentsOf: chunk[..<n])
            if bytes.count > limit { return .tooLarge }
        }
    }

    /// At most `count` bytes from the start of the file at `path` (the
    /// config, state and kubelet files, read one byte past their limit so
    /// the caller can say a file is too big); `.failed` with the errno of
    /// the open or read that failed. Never `.tooLarge`.
    public static func readFile(_ path: String, upTo count: Int) -> Outcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < count {
            let want = min(chunk.count, count - bytes.count)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return .bytes(bytes)
    }

    /// The C library's sentence for an errno.
    public static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
