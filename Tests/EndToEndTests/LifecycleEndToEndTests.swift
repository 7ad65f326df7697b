import Foundation
import Glibc
import XCTest

/// The daemon as systemd runs it: the notify protocol on a real datagram
/// socket, reload on SIGHUP, and a clean stop.
final class LifecycleEndToEndTests: XCTestCase {
    static let config = """
    pids:
      poll_interval: 250ms
    """

    override func setUpWithError() throws { try E2E.requireServices() }

    /// A datagram socket standing in for systemd's notify socket.
    final class NotifyListener {
        let path: String
        let fd: Int32

        init() throws {
            path = "/tmp/dockward-notify-\(UUID().uuidString.prefix(8)).sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in path.utf8.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { throw NSError(domain: "notify", code: Int(errno)) }
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd); unlink(path) }

        /// Messages received until `until` says stop or `timeout` passes.
        func collect(timeout: TimeInterval, until: ([String]) -> Bool) -> [String] {
            var got: [String] = []
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline && !until(got) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { got.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            }
            return got
        }
    }

    func testNotifyProtocolInOrder() throws {
        let listener = try NotifyListener()
        // WATCHDOG_USEC=1s: systemd would expect a ping at least every second;
        // dockward pings at half of it.
        let daemon = try DaemonProcess(config: Self.config,
                                       environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"])
        defer { daemon.stop() }

        let startup = listener.collect(timeout: 10) { msgs in msgs.filter { $0 == "WATCHDOG=1" }.count >= 3 }
        guard let readyIndex = startup.firstIndex(where: { $0.hasPrefix("READY=1") }) else {
            return XCTFail("no READY=1 in \(startup); daemon said:\n\(daemon.stderrText.suffix(2000))")
        }
        XCTAssertTrue(startup[readyIndex].contains("STATUS=watching "), startup[readyIndex])
        XCTAssertTrue(startup[readyIndex].contains("containers"), startup[readyIndex])
        XCTAssertGreaterThanOrEqual(startup.filter { $0 == "WATCHDOG=1" }.count, 3, "\(startup)")

        daemon.signal(SIGHUP)
        let reload = listener.collect(timeout: 5) { msgs in msgs.contains { $0.hasPrefix("READY=1") } }
        let reloadingAt = reload.firstIndex { $0.hasPrefix("RELOADING=1") }
        let readyAt = reload.firstIndex { $0.hasPrefix("READY=1") }
        XCTAssertNotNil(reloadingAt, "\(reload)")
        XCTAssertNotNil(readyAt, "\(reload)")
        if let a = reloadingAt, let b = readyAt { XCTAssertLessThan(a, b, "RELOADING=1 comes before READY=1") }
        XCTAssertTrue(reload.first { $0.hasPrefix("RELOADING=1") }?.contains("MONOTONIC_USEC=") ?? false)

        // SIGTERM: STOPPING=1, then a clean exit. The bound is generous (a
        // loaded 2-core machine); how fast it stops is `make bench`'s business.
        daemon.signal(SIGTERM)
        let stop = listener.collect(timeout: 20) { msgs in msgs.contains("STOPPING=1") }
        XCTAssertTrue(stop.contains("STOPPING=1"), "\(stop)")
        XCTAssertEqual(daemon.waitForExit(timeout: 20), 0, "SIGTERM stops the daemon with status 0 (not a signal: 128+n); "
                       + "it said:\n\(daemon.stderrText.suffix(2000))")
    }

    func testReloadRefusesBadConfigAndKeepsState() throws {
        let daemon = try DaemonProcess(config: Self.config)
        defer { daemon.stop() }
        let name = E2E.uniqueName("reload")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, command: ["sleep", "3600"])
        let unlimited = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                               sinceMicros: since, timeout: 15)
        XCTAssertEqual(unlimited.count, 1, daemon.stderrText.suffix(2000).description)

        // A bad file: refused with file, line and key; the daemon keeps going.
        try daemon.writeConfig("pids:\n  poll_interval: 250ms\n  warn_ratio: 1.7\n")
        daemon.signal(SIGHUP)
        let rejected = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "config-rejected"],
                                              sinceMicros: since, timeout: 10)
        XCTAssertEqual(rejected.first?["PRIORITY"], "3")
        XCTAssertEqual(rejected.first?["CONFIG_FILE"], daemon.configURL.path)
        XCTAssertEqual(rejected.first?["CONFIG_LINE"], "3")
        XCTAssertEqual(rejected.first?["CONFIG_KEY"], "pids.warn_ratio")
        XCTAssertTrue(daemon.isRunning)

        // A good one: applied, with what changed.
        try daemon.writeConfig("pids:\n  poll_interval: 250ms\n  warn_ratio: 0.7\n")
        daemon.signal(SIGHUP)
        let reloaded = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "config-reloaded"],
                                              sinceMicros: since, timeout: 10)
        XCTAssertEqual(reloaded.first?["PRIORITY"], "5")
        XCTAssertTrue(reloaded.first?["MESSAGE"]?.contains("pids.warn_ratio: 0.8 -> 0.7") ?? false,
                      reloaded.first?["MESSAGE"] ?? "none")

        // State survived both reloads: the container is not reported again.
        Thread.sleep(forTimeInterval: 1.5)
        let after = try E2E.journalEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                           sinceMicros: since)
        XCTAssertEqual(after.count, 1, "per-container state survives a reload")
        XCTAssertTrue(daemon.isRunning)
    }

    func testEngineSocketThatIsNotASocketOrIsWorldWritableIsReported() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-notsock-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let notSocket = try DaemonProcess(config: Self.config, environment: ["DOCKER_HOST": "unix://\(dir.path)"])
        defer { notSocket.stop() }

        // A real socket anyone may write to.
        let listener = try NotifyListener()
        chmod(listener.path, 0o666)
        let open = try DaemonProcess(config: Self.config, environment: ["DOCKER_HOST": "unix://\(listener.path)"])
        defer { open.stop() }

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !(notSocket.stderrText.contains("not a socket") && open.stderrText.contains("writable by everyone")) {
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(notSocket.stderrText.contains("\(dir.path) is a directory, not a socket"), notSocket.stderrText.suffix(1500).description)
        XCTAssertTrue(open.stderrText.contains("writable by everyone (mode 666)"), open.stderrText.suffix(1500).description)
        XCTAssertTrue(notSocket.isRunning, "the pids watch goes on without the engine")
        XCTAssertTrue(open.isRunning)
    }

    /// SIGHUP storms while the file is rewritten, half of the time with a
    /// broken (half-written) config: the daemon never dies and ends on the
    /// last good file.
    func testSighupStormWithConfigReplacedMidWrite() throws {
        let daemon = try DaemonProcess(config: Self.config)
        defer { daemon.stop() }
        try daemon.waitUntilStarted()
        let good = "pids:\n  poll_interval: 250ms\n  warn_ratio: 0.75\n"
        for i in 0..<60 {
            // Written in place, not renamed: a reader may see half a file.
            let text = i % 2 == 0 ? good : String(good.prefix(i % good.count))
            let fd = Glibc.open(daemon.configURL.path, O_WRONLY | O_TRUNC)
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            close(fd)
            daemon.signal(SIGHUP)
        }
        try daemon.writeConfig(good)
        daemon.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(daemon.isRunning, daemon.stderrText.suffix(2000).description)
        let reloads = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "config-reloaded"],
                                             sinceMicros: daemon.startedMicros)
        XCTAssertFalse(reloads.isEmpty)
        let last = try E2E.journalEntries(["_PID": daemon.pid], sinceMicros: daemon.startedMicros)
            .filter { $0["DOCKWARD_EVENT"] == "config-reloaded" || $0["DOCKWARD_EVENT"] == "config-rejected" }.last
        XCTAssertEqual(last?["DOCKWARD_EVENT"], "config-reloaded", "the last reload read the whole good file")
    }

    func testStartRefusesBadConfigWithFileLineKey() throws {
        let daemon = try DaemonProcess(config: "pids:\n  critical_ratio: 0.5\n  warn_ratio: 0.9\n  bogus: 1\n")
        XCTAssertEqual(daemon.waitForExit(timeout: 20), 78, "EX_CONFIG")
        let text = daemon.stderrText
        XCTAssertTrue(text.contains("\(daemon.configURL.path):4: pids.bogus: unknown key"), text)
        XCTAssertTrue(text.contains("pids.warn_ratio"), text)
    }
}
