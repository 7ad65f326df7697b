import Foundation
import DockwardTestSupport
import XCTest

/// The host-control watch against the real engine and journal: every way of
/// reaching the engine's socket gives exactly one `socket-mount` entry, each
/// other way to the host exactly one entry of its own kind; unrelated and
/// lookalike mounts give none.
final class HostControlEndToEndTests: XCTestCase {
    // XCTest runs a class's setUp, tests and tearDown one after another on one thread.
    nonisolated(unsafe) static var daemon: DaemonProcess?
    static let config = """
    pids:
      unlimited: ignore
    host_control:
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
    /// `count` more periodic re-listings of the engine's containers than
    /// when called. A re-listing inspects (and so judges) only containers
    /// not delivered yet, as after a missed event, and drops the judgements
    /// of containers gone; one already judged is not judged again.
    func waitForResyncs(_ count: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        let marker = "host-control watch (periodic)"
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

    /// Every alert for the container from this test's daemon.
    func alertEntries(_ name: String, since: UInt64) throws -> [[String: String]] {
        try E2E.journalEntries(["_PID": daemon.pid, "CONTAINER_NAME": name], sinceMicros: since)
            .filter { $0["DOCKWARD_ALERT"] != nil }
    }

    /// Creates (or runs) a container and expects exactly one entry of
    /// `alert` for it (after two more re-listings); prints the time from the
    /// engine's create event to the entry; returns the entry.
    @discardableResult
    func expectEntry(_ label: String, options: [String], alert: String, messageID: String, priority: String,
                     start: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String]? {
        let name = E2E.uniqueName(label)
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let verb = start ? ["run", "-d"] : ["create"]
        try E2E.run("docker", verb + ["--network", "none", "--name", name] + options + [E2E.image, "sleep", "3600"])
        let found = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": alert],
                                           sinceMicros: since, timeout: 15)
        waitForResyncs(file: file, line: line)
        let all = try alertEntries(name, since: since).filter { $0["DOCKWARD_ALERT"] == alert }
        XCTAssertEqual(all.count, 1, "\(label): exactly one \(alert) entry; daemon said:\n\(daemon.stderrText.suffix(2000))",
                       file: file, line: line)
        guard let entry = found.first else { return nil }
        XCTAssertEqual(entry["PRIORITY"], priority, label, file: file, line: line)
        XCTAssertEqual(entry["MESSAGE_ID"], messageID, label, file: file, line: line)
        XCTAssertEqual(entry["CONTAINER_ID_FULL"]?.count, 64, file: file, line: line)
        if let nano = entry["ENGINE_EVENT_NANO"].flatMap(Int64.init),
           let at = entry["__REALTIME_TIMESTAMP"].flatMap(Int64.init) {
            print("e2e: \(label): create event -> \(alert) entry in \(String(format: "%.1f", Double(at * 1000 - nano) / 1e6)) ms")
        } else {
            XCTFail("\(label): the entry came from a listing, not from the create event", file: file, line: line)
        }
        return entry
    }

    /// Exactly one `socket-mount` entry with the given exposure.
    @discardableResult
    func expectExposure(_ label: String, options: [String], exposure: String, rw: String = "true",
                        socket: String = E2E.socket, start: Bool = true,
                        file: StaticString = #filePath, line: UInt = #line) throws -> [String: String]? {
        let entry = try expectEntry(label, options: options, alert: "socket-mount",
                                    messageID: "c27bd08d95eb4ef99d7b04c64bb68468", priority: "2", start: start,
                                    file: file, line: line)
        XCTAssertEqual(entry?["EXPOSURE"], exposure, label, file: file, line: line)
        XCTAssertEqual(entry?["MOUNT_RW"], rw, label, file: file, line: line)
        XCTAssertEqual(entry?["SOCKET_PATH"], socket, file: file, line: line)
        return entry
    }

    var socketFolder: String { URL(fileURLWithPath: E2E.socket).deletingLastPathComponent().path }

    // MARK: Ways to the socket beyond a plain bind

    func testNamedVolumeThatBindsTheSocketsFolder() throws {
        let volume = "dockward-e2e-vol-\(UInt32.random(in: 0...UInt32.max))"
        try E2E.run("docker", ["volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind",
                               "--opt", "device=\(socketFolder)", volume])
        defer { _ = try? E2E.run("docker", ["volume", "rm", "-f", volume], allowFailure: true) }
        let entry = try expectExposure("volume", options: ["-v", "\(volume):/x"], exposure: "parent-dir")
        XCTAssertEqual(entry?["MOUNT_VOLUME"], volume)
        XCTAssertEqual(entry?["MOUNT_SOURCE"], socketFolder)
        XCTAssertEqual(entry?["MOUNT_DESTINATION"], "/x")
    }

    func testInlineVolumeOptionsThatBindTheSocketsFolder() throws {
        let volume = "dockward-e2e-inline-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = try? E2E.run("docker", ["volume", "rm", "-f", volume], allowFailure: true) }
        let entry = try expectExposure("inline-volume", options: [
            "--mount", "type=volume,src=\(volume),dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=\(socketFolder)",
        ], exposure: "parent-dir", start: false)
        XCTAssertEqual(entry?["MOUNT_VOLUME"], volume)
        XCTAssertEqual(entry?["MOUNT_SOURCE"], socketFolder)
    }

    func testFolderHoldingAHardLinkOfTheSocket() throws {
        let folder = socketFolder + "/dockward-e2e-hl-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        XCTAssertEqual(link(E2E.socket, folder + "/engine.sock"), 0, "link(2): \(String(cString: strerror(errno)))")
        let entry = try expectExposure("hardlink", options: ["-v", "\(folder):/x"], exposure: "hard-link")
        XCTAssertEqual(entry?["SOCKET_LINK"], folder + "/engine.sock")
        XCTAssertEqual(entry?["MOUNT_SOURCE"], folder)
    }

    func testRootlessDockerSocketPath() throws {
        let folder = "/run/user/\(UInt32.random(in: 60000...69999))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try E2E.listeningUnixSocket(folder + "/docker.sock")
        defer { close(listener) }
        try expectExposure("rootless", options: ["-v", "\(folder):/x"], exposure: "parent-dir",
                           socket: folder + "/docker.sock")
    }

    // MARK: The other ways to the host

    func testHostPIDNamespaceWithPtrace() throws {
        let entry = try expectEntry("hostpid", options: ["--pid", "host", "--cap-add", "SYS_PTRACE"], alert: "host-pid",
                                    messageID: "26a3cb077d644d63a064f1c830781e0e", priority: "3")
        XCTAssertEqual(entry?["CAPABILITIES"], "SYS_PTRACE")
        XCTAssertEqual(entry?["HOST_CONTROL"], "host-pid")
    }

    func testEngineDataRootMounted() throws {
        let dataRoot = try E2E.run("docker", ["info", "--format", "{{.DockerRootDir}}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let entry = try expectEntry("dataroot", options: ["-v", "\(dataRoot):/engine:ro"], alert: "engine-state-mount",
                                    messageID: "3dc5910927984251a3d158ff62048ea9", priority: "3")
        XCTAssertEqual(entry?["ENGINE_STATE_PATH"], dataRoot)
        XCTAssertEqual(entry?["MOUNT_SOURCE"], dataRoot)
        XCTAssertEqual(entry?["MOUNT_RW"], "false")
    }

    /// A mount is judged by what it reaches: a socket inside containerd's
    /// state folder (as `/run/containerd/containerd.sock` is) reaches the
    /// socket alone, no engine-state-mount; a plain file beside it is part
    /// of that state and is one.
    func testASocketInsideContainerdsStateReachesTheSocketAlone() throws {
        let folder = "/run/containerd/dockward-e2e-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socketFD = try UnixSocket.open(folder + "/service.sock", .bind).get()
        defer { close(socketFD) }
        _ = FileManager.default.createFile(atPath: folder + "/state.json", contents: Data("{}".utf8))
        let name = E2E.uniqueName("state-socket")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, options: ["-v", "\(folder)/service.sock:/run/service.sock"], command: ["sleep", "3600"])
        // A positive control after it: once its entry is in, the socket's would be too.
        let entry = try expectEntry("state-file", options: ["-v", "\(folder)/state.json:/state.json:ro"],
                                    alert: "engine-state-mount", messageID: "3dc5910927984251a3d158ff62048ea9", priority: "3")
        XCTAssertEqual(entry?["ENGINE_STATE_PATH"], "/run/containerd")
        XCTAssertEqual(try alertEntries(name, since: since).map { $0["DOCKWARD_ALERT"] ?? "" }, [])
    }

    /// Privileged containers cannot start on every test machine ("unable to
    /// apply caps"); created is enough: the verdict comes on `create`.
    func testPrivilegedContainerCreated() throws {
        try expectEntry("privileged", options: ["--privileged"], alert: "privileged",
                        messageID: "1d1f77f24dfc4e0987ba92c09c77ed6d", priority: "2", start: false)
    }

    func testHostBlockDeviceGiven() throws {
        let device = try XCTUnwrap(E2E.firstBlockDevice(), "no block device in /dev on this machine")
        let entry = try expectEntry("blockdev", options: ["--device", device], alert: "block-device",
                                    messageID: "cd607ced6f204f13ae351ddb1293aa85", priority: "3", start: false)
        XCTAssertEqual(entry?["DEVICE"], device)
    }

    func testAllowedHostPIDIsANotice() throws {
        try expectEntry("allowed-pid", options: ["--pid", "host", "--cap-add", "SYS_ADMIN"], alert: "host-control-allowed",
                        messageID: "f2647ea6333a4f19be85d3b915ece6c1", priority: "5")
    }

    // MARK: Plain binds

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
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("docker.sock.bak").path, contents: Data())
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
            XCTAssertEqual(try alertEntries(name, since: since).count, 0, name)
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
