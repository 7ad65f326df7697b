import Foundation
import Glibc

/// TCP on 127.0.0.1 for tests: free ports, a listener that never answers,
/// and a plain HTTP GET (no client library, so the test support stays free
/// of the code under test).
public enum LoopbackTCP {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A port nothing listens on right now (bound to port 0, read, closed).
    /// Another process could take it before the test does; on a test
    /// machine that has not been seen.
    public static func freePort() throws -> UInt16 {
        let fd = try bound(port: 0)
        defer { close(fd) }
        return try boundPort(of: fd)
    }

    /// A socket listening on `port` (0: any) that never accepts: connections
    /// complete in the kernel's backlog and then hear nothing, as from a
    /// hung server. Returns the descriptor and the port; close it to stop.
    public static func silentListener(port: UInt16 = 0) throws -> (fd: Int32, port: UInt16) {
        let fd = try bound(port: port)
        guard listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "listen: \(String(cString: strerror(code)))")
        }
        return (fd, try boundPort(of: fd))
    }

    /// `GET path` on 127.0.0.1:port as HTTP/1.0 (so the answer is never
    /// chunked and ends when the server closes): the status and the body.
    public static func get(port: UInt16, path: String, headers: [String: String] = [:],
                           timeout: TimeInterval = 5) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw Failure(description: "connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(description: "read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            answer.append(contentsOf: chunk[..<n])
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
              let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw Failure(description: "no HTTP answer from 127.0.0.1:\(port)\(path): \(text.prefix(200))") }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (code, body)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func bound(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "bind 127.0.0.1:\(port): \(String(cString: strerror(code)))")
        }
        return fd
    }

    private static func boundPort(of fd: Int32) throws -> UInt16 {
        var address = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        guard rc == 0 else { throw Failure(description: "getsockname: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }
}
