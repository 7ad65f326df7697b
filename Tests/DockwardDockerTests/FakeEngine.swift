import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-response-per-connection HTTP server on a Unix socket, for the
/// client's behaviour on answers a healthy engine never gives.
final class FakeEngine: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let respond: @Sendable (_ requestHead: String) -> String
    private let lock = NSLock()
    private var heads: [String] = []

    var requestHeads: [String] { lock.withLock { heads } }

    init(respond: @escaping @Sendable (_ requestHead: String) -> String) throws {
        path = NSTemporaryDirectory() + "dockward-fake-\(UUID().uuidString.prefix(8)).sock"
        self.respond = respond
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        try Self.bind(fd, path)
        guard listen(fd, 16) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// A socket file nobody listens on: connecting to it is refused.
    static func deadSocket() throws -> String {
        let path = NSTemporaryDirectory() + "dockward-dead-\(UUID().uuidString.prefix(8)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        try bind(fd, path)
        return path
    }

    private static func bind(_ fd: Int32, _ path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// Wakes the serving thread, which closes the socket itself: closed
    /// here, its number could be reused by the next test's engine while the
    /// thread still sits in accept(), which would then answer that test
    /// with this one's responses.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        unlink(path)
    }

    private func serve() {
        defer { close(fd) }
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 { return }
            var head = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            // A POST's body may come in the same read as its head.
            while !head.contains(Array("\r\n\r\n".utf8)) {
                let n = read(connection, &buffer, buffer.count)
                if n <= 0 { break }
                head += buffer[0..<n]
            }
            let text = String(decoding: head, as: UTF8.self)
            lock.withLock { heads.append(text) }
            let response = Array(respond(text).utf8)
            var sent = 0
            while sent < response.count {
                let n = response[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                sent += n
            }
            close(connection)
        }
    }

    static func response(status: String, headers: [String: String] = [:], body: String) -> String {
        var text = "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n" + body
    }
}

private extension Array where Element == UInt8 {
    func contains(_ part: [UInt8]) -> Bool {
        guard count >= part.count else { return false }
        return (0...(count - part.count)).contains { Array(self[$0..<($0 + part.count)]) == part }
    }
}
