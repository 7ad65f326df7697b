import Foundation
import Glibc
import XCTest

/// The engine TCP check with the real binary and the real journal: the
/// engine's configuration is a fixture root (`host_control.engine_config_root`)
/// holding a drop-in or a daemon.json, and the entries are read back with
/// journalctl.
final class EngineTCPEndToEndTests: XCTestCase {
    static let messageID = "bdc5053ff2f94fd68a452962e23a1387"
    static let checkDone = "engine TCP check under"

    private var root: URL!

    override func setUpWithError() throws {
        try E2E.requireServices()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-engine-\(UUID().uuidString)")
        let root = self.root!
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try write("[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n",
                  to: "lib/systemd/system/docker.service")
    }

    private func write(_ text: String, to relative: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    private func startDaemon() throws -> DaemonProcess {
        let daemon = try DaemonProcess(config: """
            pids:
              unlimited: ignore
            host_control:
              engine_config_root: \(root.path)
            """)
        addTeardownBlock { daemon.stop() }
        try daemon.waitUntilStarted()
        try waitForChecks(daemon, count: 1)
        return daemon
    }

    /// Until the daemon has logged `count` finished checks: from then on
    /// every entry of those checks is written.
    private func waitForChecks(_ daemon: DaemonProcess, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(15)
        func done() -> Int { daemon.stderrText.components(separatedBy: Self.checkDone).count - 1 }
        while done() < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertGreaterThanOrEqual(done(), count, "no engine TCP check logged; daemon said:\n\(daemon.stderrText.suffix(2000))",
                                    file: file, line: line)
        Thread.sleep(forTimeInterval: 0.3)  // journald's side
    }

    private func entries(_ daemon: DaemonProcess) throws -> [[String: String]] {
        try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_ALERT": "engine-tcp-exposed"], sinceMicros: daemon.startedMicros)
    }

    func testDropInWithPlainTCPIsOneCriticalEntryAndReloadDoesNotRepeatIt() throws {
        try write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n",
                  to: "etc/systemd/system/docker.service.d/tcp.conf")
        let daemon = try startDaemon()
        let found = try entries(daemon)
        XCTAssertEqual(found.count, 1, "daemon said:\n\(daemon.stderrText.suffix(2000))")
        guard let entry = found.first else { return }
        print("e2e: engine-tcp-exposed entry: \(entry.filter { !$0.key.hasPrefix("_") || $0.key == "_PID" }.sorted { $0.key < $1.key })")
        XCTAssertEqual(entry["MESSAGE_ID"], Self.messageID)
        XCTAssertEqual(entry["PRIORITY"], "2")
        XCTAssertEqual(entry["ENGINE_LISTEN"], "tcp://0.0.0.0:2375")
        XCTAssertEqual(entry["ENGINE_TLS"], "none")
        XCTAssertEqual(entry["ENGINE_LOOPBACK"], "false")
        XCTAssertEqual(entry["ENGINE_CONFIG"], "/etc/systemd/system/docker.service.d/tcp.conf:3")
        XCTAssertTrue(entry["MESSAGE"]?.contains("tcp://0.0.0.0:2375 without TLS") ?? false, entry["MESSAGE"] ?? "")

        daemon.signal(SIGHUP)
        try waitForChecks(daemon, count: 2)
        XCTAssertEqual(try entries(daemon).count, 1, "a reload with the same files writes nothing new")

        try write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375 -H tcp://127.0.0.1:2380\n",
                  to: "etc/systemd/system/docker.service.d/tcp.conf")
        daemon.signal(SIGHUP)
        try waitForChecks(daemon, count: 3)
        let after = try entries(daemon)
        XCTAssertEqual(after.count, 2, "only the new listener is written")
        XCTAssertEqual(after.last?["ENGINE_LISTEN"], "tcp://127.0.0.1:2380")
        XCTAssertEqual(after.last?["ENGINE_LOOPBACK"], "true")
    }

    func testDaemonJSONHostsWithTLSButNoVerification() throws {
        try write("{\n  \"tls\": true,\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"]\n}\n",
                  to: "etc/docker/daemon.json")
        let daemon = try startDaemon()
        let found = try entries(daemon)
        XCTAssertEqual(found.count, 1, "daemon said:\n\(daemon.stderrText.suffix(2000))")
        XCTAssertEqual(found.first?["MESSAGE_ID"], Self.messageID)
        XCTAssertEqual(found.first?["PRIORITY"], "2")
        XCTAssertEqual(found.first?["ENGINE_LISTEN"], "tcp://0.0.0.0:2376")
        XCTAssertEqual(found.first?["ENGINE_TLS"], "no-verify")
        XCTAssertEqual(found.first?["ENGINE_CONFIG"], "/etc/docker/daemon.json:3")
    }

    func testOnlyVerifiedListenersGiveNothing() throws {
        try write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify\n",
                  to: "etc/systemd/system/docker.service.d/tcp.conf")
        try write("{ \"tlsverify\": true, \"hosts\": [\"tcp://10.0.0.1:2376\"] }\n", to: "etc/docker/daemon.json")
        let daemon = try startDaemon()
        XCTAssertEqual(try entries(daemon).count, 0, "daemon said:\n\(daemon.stderrText.suffix(2000))")
        XCTAssertTrue(daemon.stderrText.contains("\(Self.checkDone) \(root.path): 0 exposed listener(s)"),
                      daemon.stderrText.suffix(2000).description)
    }
}
