import Foundation
import XCTest

/// The socket watch against the real engine and journal: every way of
/// reaching the engine's socket gives exactly one `socket-mount` entry;
/// unrelated and lookalike mounts give none.
final class SocketWatchEndToEndTests: XCTestCase {
    static var daemon: DaemonProcess?
    static let config = """
    pids:
      unlimited: ignore
    socket_watch:
      resync_interval: 1s
      allow:
        - { name: "dockward-e2e-allowed-*" }
    """

    var daemon: DaemonProcess { Self.daemon! }

    override func setUpWithError() throws {
        try E2E.requireServices()
        if Self.daemon == nil {
            Self.daemon = try DaemonProcess(config: Self.config)
            try Self.daemon!.waitUntilStarted()
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTAssertTrue(daemon.isRunning, "daemon died: \(daemon.stderrText)")
    }

    override class func tearDown() {
        daemon?.stop()
        daemon = nil
        super.tearDown()
    }

    /// Room for a duplicate to show up: waits until the daemon has finished
    /// `count` more periodic re-listings of the engine's containers (each
    /// judges every container again) than when called.
    func waitForResyncs(_ count: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        let marker = "socket watch (periodic)"
        let before = daemon.stderrText.components(separatedBy: marker).count
        let deadline = Date().addingTimeInterval(20)
        while daemon.stderrText.components(separatedBy: marker).count < before + count && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertGreaterThanOrEqual(daemon.stderrText.components(separatedBy: marker).count, before + count,
                                    "no periodic re-listing in 20 s; daemon said:\n\(daemon.stderrText.suffix(2000))",
                                    file: file, line: line)
        Thread.sleep(forTimeInterval: 0.3)  // journald's side
    }

    func socketEntries(_ name: String, since: UInt64, daemon: DaemonProcess? = nil) throws -> [[String: String]] {
        try E2E.journalEntries(["_PID": (daemon ?? self.daemon).pid, "CONTAINER_NAME": name], sinceMicros: since)
            .filter { $0["DOCKWARD_ALERT"]?.hasPrefix("socket-mount") ?? false }
    }

    /// Creates (or runs) a container and expects exactly one socket-mount
    /// entry for it, with the given exposure; returns the entry.
    @discardableResult
    func expectExposure(_ label: String, options: [String], exposure: String, rw: String = "true",
                        start: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String]? {
        let name = E2E.uniqueName(label)
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let verb = start ? ["run", "-d"] : ["create"]
        try E2E.run("docker", verb + ["--network", "none", "--name", name] + options + [E2E.image, "sleep", "3600"])
        let found = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "socket-mount"],
                                           sinceMicros: since, timeout: 15)
        waitForResyncs(file: file, line: line)
        let all = try socketEntries(name, since: since)
        XCTAssertEqual(all.count, 1, "\(label): exactly one entry; daemon said:\n\(daemon.stderrText.suffix(2000))", file: file, line: line)
        guard let entry = found.first else { return nil }
        XCTAssertEqual(entry["PRIORITY"], "2", file: file, line: line)
        XCTAssertEqual(entry["EXPOSURE"], exposure, label, file: file, line: line)
        XCTAssertEqual(entry["MOUNT_RW"], rw, label, file: file, line: line)
        XCTAssertEqual(entry["SOCKET_PATH"], E2E.socket, file: file, line: line)
        XCTAssertEqual(entry["MESSAGE_ID"], "c27bd08d95eb4ef99d7b04c64bb68468", file: file, line: line)
        XCTAssertEqual(entry["CONTAINER_ID_FULL"]?.count, 64, file: file, line: line)
        if let nano = entry["ENGINE_EVENT_NANO"].flatMap(Int64.init),
           let at = entry["__REALTIME_TIMESTAMP"].flatMap(Int64.init) {
            print("e2e: \(label): create event -> journal entry in \(String(format: "%.1f", Double(at * 1000 - nano) / 1e6)) ms")
        }
        return entry
    }

    func testSocketMountedAtTheUsualPlace() throws {
        try expectExposure("direct", options: ["-v", "\(E2E.socket):/var/run/docker.sock"], exposure: "direct")
    }

    func testSocketMountedReadOnlyElsewhereWithMountFlag() throws {
        try expectExposure("mountflag", options: ["--mount", "type=bind,src=\(E2E.socket),dst=/elsewhere,readonly"],
                           exposure: "direct", rw: "false")
    }

    func testSocketsParentFolder() throws {
        let parent = URL(fileURLWithPath: E2E.socket).deletingLastPathComponent().path
        try expectExposure("parent", options: ["-v", "\(parent):/host-run"], exposure: "parent-dir")
    }

    func testRootFolder() throws {
        try expectExposure("root", options: ["-v", "/:/host:ro"], exposure: "parent-dir", rw: "false")
    }

    func testSymlinkToTheSocket() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("innocent.sock").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: E2E.socket)
        try expectExposure("symlink", options: ["-v", "\(link):/run/innocent.sock"], exposure: "alias")
    }

    func testCreatedButNeverStarted() throws {
        try expectExposure("created", options: ["-v", "\(E2E.socket):/var/run/docker.sock"], exposure: "direct", start: false)
    }

    func testUnrelatedBindAndLookalikeGiveNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-look-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("docker.sock.d"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("docker.sock.bak").path, contents: Data())
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = [E2E.uniqueName("unrelated"), E2E.uniqueName("lookalike")]
        defer { names.forEach(E2E.removeContainer) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: names[0], options: ["-v", "\(dir.path)/docker.sock.d:/data"], command: ["sleep", "3600"])
        try E2E.runContainer(name: names[1], options: ["-v", "\(dir.path)/docker.sock.bak:/var/run/docker.sock.bak"],
                             command: ["sleep", "3600"])
        // A positive control after them: once its entry is in, theirs would be too.
        try expectExposure("control", options: ["-v", "\(E2E.socket):/s"], exposure: "direct")
        for name in names {
            XCTAssertEqual(try socketEntries(name, since: since).count, 0, name)
        }
    }

    func testAllowedContainerIsNoticedNotAlerted() throws {
        let name = E2E.uniqueName("allowed")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        let allowed = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "socket-mount-allowed"],
                                             sinceMicros: since, timeout: 15)
        XCTAssertEqual(allowed.count, 1)
        XCTAssertEqual(allowed.first?["PRIORITY"], "5")
        XCTAssertTrue(allowed.first?["MESSAGE"]?.contains("name=dockward-e2e-allowed-*") ?? false)
        waitForResyncs()
        XCTAssertEqual(try socketEntries(name, since: since).count, 1, "one entry, and no socket-mount alert")
    }

    func testContainerStartedBeforeDockward() throws {
        let name = E2E.uniqueName("before")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        let late = try DaemonProcess(config: Self.config)
        defer { late.stop() }
        let found = try E2E.waitForEntries(["_PID": late.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "socket-mount"],
                                           sinceMicros: since, timeout: 15)
        XCTAssertEqual(found.count, 1, "a container running before start is reported at start; daemon said:\n\(late.stderrText.suffix(2000))")
        XCTAssertNil(found.first?["ENGINE_EVENT_NANO"], "found by the start-up listing, not an event")
    }

    func testContainerCreatedRightAfterEngineRestart() throws {
        let name = E2E.uniqueName("restart")
        defer { E2E.removeContainer(name) }
        let outageSince = E2E.nowMicros()
        try E2E.run("/bin/bash", [E2E.repoRoot.appendingPathComponent("scripts/test-services.sh").path, "stop"])
        Thread.sleep(forTimeInterval: 1)
        try E2E.run("/bin/bash", [E2E.repoRoot.appendingPathComponent("scripts/test-services.sh").path, "start"])
        let since = E2E.nowMicros()
        try E2E.run("docker", ["create", "--network", "none", "--name", name, "-v", "\(E2E.socket):/var/run/docker.sock",
                               E2E.image, "sleep", "3600"])
        let found = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "socket-mount"],
                                           sinceMicros: since, timeout: 40)
        waitForResyncs()
        XCTAssertEqual(try socketEntries(name, since: since).count, 1, "daemon said:\n\(daemon.stderrText.suffix(3000))")
        XCTAssertEqual(found.count, 1)
        let back = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-back"], sinceMicros: outageSince)
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-lost"], sinceMicros: outageSince).count, 1)
        XCTAssertEqual(back.count, 1, "the outage is one entry with its length:\n\(daemon.stderrText.suffix(3000))")
        XCTAssertNotNil(back.first?["OUTAGE_SECONDS"])
    }
}
