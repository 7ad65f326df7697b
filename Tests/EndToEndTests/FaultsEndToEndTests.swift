import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// Faults the daemon must ride out without losing an alert: the engine
/// absent at start, journald going away and coming back.
final class FaultsEndToEndTests: XCTestCase {
    static let services = E2E.repoRoot.appendingPathComponent("scripts/test-services.sh").path

    override func setUpWithError() throws { try E2E.requireServices() }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// A container cgroup made by hand: the pids watch must see it with no
    /// engine at all (it finds containers in the cgroup tree).
    func makeFakeContainerCgroup() throws -> (id: String, path: String) {
        let id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        let path = "/sys/fs/cgroup/pids/docker/\(id)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return (id, path)
    }

    /// Starts this host's journald the way scripts/test-services.sh does,
    /// unless one runs: the journal is shared with every other test run.
    static func restoreHostJournald() {
        _ = try? E2E.run("/bin/bash", [services, "start"])
        guard E2E.hostJournaldPIDs().isEmpty,
              let pid = try? Subprocess.spawn("/usr/bin/setsid", ["--fork", "/lib/systemd/systemd-journald"],
                                              stdoutPath: "/dev/null", stderrPath: "/dev/null") else { return }
        _ = Subprocess.wait(pid, timeout: 10)  // setsid --fork returns at once; journald runs on
        let deadline = Date().addingTimeInterval(10)
        while E2E.hostJournaldPIDs().isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    }

    func testEngineAbsentAtStartThenAppears() throws {
        try E2E.run("/bin/bash", [Self.services, "stop"])
        var engineUp = false
        defer { if !engineUp { _ = try? E2E.run("/bin/bash", [Self.services, "start"]) } }
        let fake = try makeFakeContainerCgroup()
        defer { rmdir(fake.path) }
        let since = E2E.nowMicros()
        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n")
        defer { daemon.stop() }

        // The pids watch works without the engine: the hand-made cgroup has
        // no limit, so it is reported by id alone.
        let unlimited = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_ID_FULL": fake.id,
                                                "DOCKWARD_ALERT": "pids-unlimited"], sinceMicros: since, timeout: 15)
        XCTAssertEqual(unlimited.count, 1, daemon.stderrText.suffix(2000).description)
        XCTAssertNil(unlimited.first?["CONTAINER_NAME"], "no engine, no name")

        // Several retries happen in these seconds; the outage is one entry.
        Thread.sleep(forTimeInterval: 4)
        XCTAssertTrue(daemon.isRunning)
        let lost = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-lost"], sinceMicros: since)
        XCTAssertEqual(lost.count, 1, daemon.stderrText.suffix(3000).description)
        XCTAssertEqual(count("dockward[engine-lost]", in: daemon.stderrText), 1)

        // The engine appears: an exposure created now is reported.
        try E2E.run("/bin/bash", [Self.services, "start"])
        engineUp = true
        let name = E2E.uniqueName("late-engine")
        defer { E2E.removeContainer(name) }
        try E2E.run("docker", ["create", "--network", "none", "--name", name, "-v", "\(E2E.socket):/var/run/docker.sock",
                               E2E.image, "sleep", "1"])
        let found = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "socket-mount"],
                                           sinceMicros: since, timeout: 45)
        XCTAssertEqual(found.count, 1, daemon.stderrText.suffix(3000).description)
        // One outage: one entry when lost, one when back with its length.
        let back = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-back"], sinceMicros: since, timeout: 5)
        XCTAssertEqual(back.count, 1)
        XCTAssertNotNil(back.first?["OUTAGE_SECONDS"])
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-lost"], sinceMicros: since).count, 1)
    }

    func testJournaldOutageKeepsAlertsAndReplaysThem() throws {
        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n")
        defer { daemon.stop() }
        let since = daemon.startedMicros
        try daemon.waitUntilStarted()

        // This host's journald only, by pid: `pkill -x systemd-journal` would
        // also hit systemd-journal-remote and the journald of any
        // systemd-nspawn container running beside the tests.
        let journald = E2E.hostJournaldPIDs()
        XCTAssertEqual(journald.count, 1, "this host's systemd-journald: \(journald)")
        for pid in journald { kill(pid, SIGTERM) }
        var journalUp = false
        defer { if !journalUp { Self.restoreHostJournald() } }
        let gone = Date().addingTimeInterval(10)
        while journald.contains(where: { kill($0, 0) == 0 }) && Date() < gone { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(journald.contains(where: { kill($0, 0) == 0 }), "journald stopped on SIGTERM")

        let name = E2E.uniqueName("no-journal")
        defer { E2E.removeContainer(name) }
        let createdAt = E2E.nowMicros()
        try E2E.runContainer(name: name, command: ["sleep", "3600"])
        // Meanwhile the alert is on stderr, and the daemon runs on.
        let deadline = Date().addingTimeInterval(15)
        while !daemon.stderrText.contains("pids-unlimited]: Container \(name)") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(daemon.stderrText.contains("journald unreachable"), daemon.stderrText.suffix(2000).description)
        XCTAssertTrue(daemon.stderrText.contains("pids-unlimited]: Container \(name)"), daemon.stderrText.suffix(2000).description)
        XCTAssertTrue(daemon.isRunning)

        let restartedAt = E2E.nowMicros()
        try E2E.run("/bin/bash", [Self.services, "start"])
        guard !E2E.hostJournaldPIDs().isEmpty else {
            throw E2E.failure("scripts/test-services.sh start did not bring this host's journald back "
                              + "(a journald in another mount namespace, such as a systemd-nspawn container's, passes its pgrep check)")
        }
        journalUp = true
        let replayed = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                              sinceMicros: since, timeout: 15)
        XCTAssertEqual(replayed.count, 1, daemon.stderrText.suffix(2000).description)
        // The time it happened: after the container was created, before
        // journald came back, so before the replayed entry's own timestamp.
        let original = replayed.first?["DOCKWARD_ORIGINAL_TIME_USEC"].flatMap(UInt64.init) ?? 0
        let written = replayed.first?["__REALTIME_TIMESTAMP"].flatMap(UInt64.init) ?? 0
        XCTAssertGreaterThanOrEqual(original, createdAt, "the entry carries the time it happened")
        XCTAssertLessThan(original, restartedAt, "the original time is from the outage, not from the replay")
        XCTAssertLessThan(original, written, "the original time is before the replayed entry's own")
        let notice = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_QUEUE_DROPPED": "0"], sinceMicros: since, timeout: 5)
        XCTAssertEqual(notice.count, 1)
        XCTAssertGreaterThanOrEqual(Int(notice.first?["DOCKWARD_QUEUE_WRITTEN"] ?? "0") ?? 0, 1)
    }
}
