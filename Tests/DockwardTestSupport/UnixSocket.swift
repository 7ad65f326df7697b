import Glibc

/// A Unix stream socket bound to, or connected to, a path: for tests that
/// stand in for the engine's socket or sit in front of it.
public enum UnixSocket {
    public enum Use { case bind, connect }

    /// The socket's descriptor, or the errno of the failing call (the socket closed).
    public static func open(_ path: String, _ use: Use) -> Result<Int32, Errno> {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failure(Errno(errno)) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { use == .bind ? bind(fd, $0, size) : connect(fd, $0, size) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            return .failure(Errno(code))
        }
        return .success(fd)
    }

    public struct Errno: Error, CustomStringConvertible {
        public let code: Int32
        public init(_ code: Int32) { self.code = code }
        public var description: String { "errno \(code)" }
    }
}
