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
}
