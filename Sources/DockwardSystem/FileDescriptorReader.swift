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
        let outcome = read(fd, upTo: limit + 1)
        if case .bytes(let bytes) = outcome, bytes.count > limit { return .tooLarge }
        return outcome
    }

    /// At most `count` bytes from the start of the file at `path` (the
    /// config, state and kubelet files, read one byte past their limit so
    /// the caller can say a file is too big); `.failed` with the errno of
    /// the open or read that failed. Never `.tooLarge`.
    public static func readFile(_ path: String, upTo count: Int) -> Outcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        return read(fd, upTo: count)
    }

    /// The one read loop: bytes until the end of file or `count` of them,
    /// retrying EINTR; `.failed` with read's errno.
    static func read(_ fd: Int32, upTo count: Int) -> Outcome {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < count {
            let want = min(chunk.count, count - bytes.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
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
