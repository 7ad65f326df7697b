import DockwardCore
import DockwardMetrics
import Foundation
import Glibc
import Logging
import XCTest

/// The HTTP endpoint for real, over loopback, with a plain socket.
final class MetricsServerTests: XCTestCase {
    static let id = ContainerID(String(repeating: "0123456789abcdef", count: 4))!

    /// A server on a port the kernel picks (port 0 is only reachable
    /// through ListenAddress(host:port:), never through config text).
    func makeServer(_ address: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0),
                    registry: MetricsRegistry = MetricsRegistry(),
                    snapshot: @escaping @Sendable () -> [ContainerMetrics] = { [] }) -> MetricsServer {
        MetricsServer(address: address, registry: registry, snapshot: snapshot, logger: Logger(label: "test"))
    }

    /// A server from `metrics.listen` text, as the daemon makes it.
    func makeServer(listen: String) -> MetricsServer {
        MetricsServer(listen: listen, registry: MetricsRegistry(), snapshot: { [] }, logger: Logger(label: "test"))
    }

    func testServesMetricsOnLoopback() throws {
        let registry = MetricsRegistry()
        registry.recordAlert(kind: .pidsForecast)
        let calls = Counter()
        let server = makeServer(registry: registry) {
            calls.bump()
            return [
                ContainerMetrics(id: Self.id, name: "web", image: "nginx", current: 12, limit: 100, refusedForks: 0),
                ContainerMetrics(id: ContainerID(String(repeating: "9f", count: 32))!, name: "leaky", image: "app:2",
                                 current: 87, limit: 128, refusedForks: 4, rate: 0.8, forecastSeconds: 51.25),
                ContainerMetrics(id: ContainerID(String(repeating: "c3", count: 32))!, current: 5,
                                 limit: PidsSample.unlimited, refusedForks: 0),
            ]
        }
        registry.setEngineConnected(true)
        registry.observePollDuration(seconds: 0.00021)
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundAddress?.port)
        XCTAssertNotEqual(port, 0)

        let response = try HTTP.get("127.0.0.1", port, "/metrics")
        XCTAssertEqual(response.status, 200, response.raw)
        XCTAssertEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(response.headers["content-length"], String(response.body.utf8.count))
        let s = samples(response.body)
        XCTAssertEqual(s[#"dockward_container_pids_current{container="web",id="0123456789ab",image="nginx"}"#], "12.0")
        XCTAssertEqual(s[#"dockward_alerts_total{kind="pids-forecast"}"#], "1")
        XCTAssertEqual(s["dockward_containers_watched"], "3.0")
        XCTAssertEqual(s[#"dockward_container_pids_forecast_seconds{container="leaky",id="9f9f9f9f9f9f",image="app:2"}"#], "51.25")
        XCTAssertNil(s[#"dockward_container_pids_max{container="c3c3c3c3c3c3",id="c3c3c3c3c3c3",image=""}"#])
        print("scraped http://127.0.0.1:\(port)/metrics:\n\(response.body)")
        XCTAssertEqual(calls.value, 1, "one snapshot per scrape")
    }

    /// What the server sends, as served, passes promtool (skips without
    /// promtool on a developer's machine, fails in CI).
    func testServedExpositionPassesPromtool() throws {
        let promtool = try Tool.require("promtool", package: "prometheus")
        let registry = MetricsRegistry()
        registry.recordAlert(kind: .pidsExhausted)
        registry.setEngineConnected(true)
        let server = makeServer(registry: registry) {
            [ContainerMetrics(id: Self.id, name: "web", image: "nginx", current: 12, limit: 100, refusedForks: 2,
                              rate: 0.5, forecastSeconds: 176)]
        }
        try server.start()
        defer { server.stop() }
        let response = try HTTP.get("127.0.0.1", try XCTUnwrap(server.boundAddress?.port), "/metrics")
        XCTAssertEqual(response.status, 200, response.raw)
        XCTAssertTrue(response.body.contains("dockward_container_pids_current{"), response.body)
        let check = try Tool.run(promtool, ["check", "metrics"], stdin: response.body)
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertEqual(check.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "promtool lint findings:\n\(check.output)")
    }

    func testQueryStringIsIgnoredAndOtherPathsAre404() throws {
        let server = makeServer()
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundAddress?.port)
        XCTAssertEqual(try HTTP.get("127.0.0.1", port, "/metrics?x=1").status, 200)
        XCTAssertEqual(try HTTP.get("127.0.0.1", port, "/").status, 404)
        XCTAssertEqual(try HTTP.get("127.0.0.1", port, "/metrics/extra").status, 404)
    }

    func testNonGetIs405() throws {
        let server = makeServer()
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundAddress?.port)
        let post = try HTTP.request("127.0.0.1", port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        XCTAssertEqual(post.status, 405, post.raw)
        XCTAssertEqual(post.headers["allow"], "GET")
        let head = try HTTP.request("127.0.0.1", port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(head.status, 405, head.raw)
        XCTAssertEqual(head.body, "")
    }

    func testKeepAliveServesSeveralScrapesOnOneConnection() throws {
        let server = makeServer()
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundAddress?.port)
        let one = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        let raw = try HTTP.exchange("127.0.0.1", port, one + one + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(raw.components(separatedBy: "HTTP/1.1 200 OK").count - 1, 3, raw)
    }

    func testBindFailureNamesTheAddress() throws {
        let first = makeServer()
        try first.start()
        defer { first.stop() }
        let port = try XCTUnwrap(first.boundAddress?.port)
        let second = makeServer(listen: "127.0.0.1:\(port)")
        XCTAssertThrowsError(try second.start()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("127.0.0.1:\(port)"), text)
            XCTAssertTrue(text.contains("cannot listen for metrics"), text)
        }
        XCTAssertThrowsError(try makeServer(listen: "nonsense").start()) { error in
            XCTAssertTrue("\(error)".contains("nonsense"), "\(error)")
        }
        // Text never means "any free port": the config refuses it, and so does the server.
        XCTAssertThrowsError(try makeServer(listen: "127.0.0.1:0").start()) { error in
            XCTAssertTrue("\(error)".contains("127.0.0.1:0"), "\(error)")
        }
    }

    /// Skips only when the machine has no IPv6 loopback, as a plain socket
    /// bound to [::1] shows; then the server must start there.
    func testIPv6LoopbackWhenAvailable() throws {
        if let reason = Self.ipv6LoopbackMissing() { throw XCTSkip("no IPv6 loopback here: \(reason)") }
        let server = makeServer(ListenAddress(host: "::1", port: 0))
        try server.start()
        defer { server.stop() }
        let port = try XCTUnwrap(server.boundAddress?.port)
        XCTAssertEqual(try HTTP.get("::1", port, "/metrics").status, 200)
    }

    /// Why a socket cannot listen on [::1]:0, or nil when it can.
    static func ipv6LoopbackMissing() -> String? {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "socket(AF_INET6): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var addr = sockaddr_in6()
        addr.sin6_family = sa_family_t(AF_INET6)
        addr.sin6_addr = in6addr_loopback
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard rc == 0 else { return "bind [::1]:0: \(String(cString: strerror(errno)))" }
        guard listen(fd, 1) == 0 else { return "listen on [::1]: \(String(cString: strerror(errno)))" }
        return nil
    }

    /// The daemon may stop the server while a scrape waits for its queue:
    /// the late snapshot must not touch the stopped event loop.
    func testStopWhileASnapshotIsPending() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = makeServer {
            entered.signal()
            release.wait()
            return []
        }
        try server.start()
        let port = try XCTUnwrap(server.boundAddress?.port)
        let done = DispatchSemaphore(value: 0)
        let outcome = Box<Result<String, Error>>()
        DispatchQueue.global().async {
            // HTTP.exchange reads until the server closes, and gives up with
            // an error after 5 s of silence.
            outcome.value = Result { try HTTP.exchange("127.0.0.1", port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
            done.signal()
        }
        XCTAssertEqual(entered.wait(timeout: .now() + 30), .success)
        server.stop()
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the client returned")
        switch outcome.value {
        case .success(let raw)?:
            XCTAssertEqual(raw, "", "the connection closes without a response")
        case .failure(let error)?:
            XCTAssertTrue("\(error)".contains("errno \(ECONNRESET)"), "the connection must close (or reset), not go silent: \(error)")
        case nil:
            XCTFail("the client never finished")
        }
        Thread.sleep(forTimeInterval: 0.2)  // let the late render finish
    }

    func testStopReleasesThePort() throws {
        let server = makeServer()
        try server.start()
        let port = try XCTUnwrap(server.boundAddress?.port)
        server.stop()
        server.stop()
        let again = makeServer(listen: "127.0.0.1:\(port)")
        try again.start()
        again.stop()
    }
}

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func bump() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// A deliberately plain HTTP client: one TCP socket, bytes in, bytes out.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
        var raw: String
    }

    static func get(_ host: String, _ port: Int, _ path: String) throws -> Response {
        try request(host, port, "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nAccept: text/plain\r\nConnection: close\r\n\r\n")
    }

    static func request(_ host: String, _ port: Int, _ text: String) throws -> Response {
        let raw = try exchange(host, port, text)
        guard let split = raw.range(of: "\r\n\r\n") else { throw error("no header end in \(raw)") }
        let lines = raw[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw error("bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(raw[split.upperBound...]), raw: raw)
    }

    /// Sends `text`, reads until the server closes (5 s at most).
    static func exchange(_ host: String, _ port: Int, _ text: String) throws -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let ai = info else { throw error("bad address \(host)") }
        defer { freeaddrinfo(info) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw error("socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else { throw error("connect: errno \(errno)") }
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw error("send: errno \(errno)") }
            sent += n
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { out.append(contentsOf: buffer[0..<n]); continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw error("recv: errno \(errno) after \(out.count) bytes")
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func error(_ text: String) -> NSError {
        NSError(domain: "http", code: 1, userInfo: [NSLocalizedDescriptionKey: text])
    }
}
