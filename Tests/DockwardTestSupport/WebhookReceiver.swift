import Foundation
import Glibc

/// An Alertmanager `webhook_configs` receiver on 127.0.0.1: takes each
/// notification POST (HTTP/1.1, one request per connection, answered 200
/// and closed) on a thread of its own and keeps what it said of each alert.
public final class WebhookReceiver: @unchecked Sendable {
    /// One alert as one notification carried it.
    public struct Notified: Equatable, Sendable {
        public var status: String
        public var fingerprint: String
        public var labels: [String: String]
    }

    public let port: UInt16
    public var url: String { "http://127.0.0.1:\(port)/notify" }
    private let fd: Int32
    private let lock = NSLock()
    private var received: [Notified] = []
    private var stopped = false

    public init() throws {
        let listener = try LoopbackTCP.silentListener()
        fd = listener.fd
        port = listener.port
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    deinit { stop() }

    /// Every alert of every notification so far, in order.
    public var notified: [Notified] { lock.withLock { received } }

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // closed by stop()
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var bodyStart: Int?
        var length = 0
        while bodyStart.map({ bytes.count - $0 < length }) ?? true {
            let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[..<n])
            if bodyStart == nil, let end = Self.headerEnd(bytes) {
                bodyStart = end
                let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
        guard let bodyStart else { return }
        record(Data(bytes[bodyStart...]))
    }

    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    private func record(_ body: Data) {
        struct Message: Decodable {
            struct Alert: Decodable {
                var status: String
                var fingerprint: String
                var labels: [String: String]
            }
            var alerts: [Alert]
        }
        guard let message = try? JSONDecoder().decode(Message.self, from: body) else { return }
        let alerts = message.alerts.map { Notified(status: $0.status, fingerprint: $0.fingerprint, labels: $0.labels) }
        lock.withLock { received += alerts }
    }
}
