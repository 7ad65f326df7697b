import Foundation
import Glibc
import XCTest

/// A restart of the real daemon over the same containers, with the same
/// state directory, repeats none of the alerts still open.
final class RestartEndToEndTests: XCTestCase {
    static let config = """
    pids:
      poll_interval: 250ms
    """

    override func setUpWithError() throws { try E2E.requireServices() }

    func testSecondStartWithTheSameContainersRepeatsNoAlert() throws {
        let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: stateDir) }
        let exposed = E2E.uniqueName("restart-sock"), unlimited = E2E.uniqueName("restart-unlimited")
        defer { E2E.removeContainer(exposed); E2E.removeContainer(unlimited) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: exposed, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        let unlimitedID = try E2E.runContainer(name: unlimited, command: ["sleep", "3600"])

        let first = try DaemonProcess(config: Self.config, arguments: ["--state-dir", stateDir])
        let firstAlerts = try E2E.waitForEntries(["_PID": first.pid, "DOCKWARD_ALERT": "socket-mount", "CONTAINER_NAME": exposed],
                                                 sinceMicros: since, timeout: 20)
        XCTAssertEqual(firstAlerts.count, 1, first.stderrText.suffix(3000).description)
        let firstUnlimited = try E2E.waitForEntries(["_PID": first.pid, "DOCKWARD_ALERT": "pids-unlimited", "CONTAINER_NAME": unlimited],
                                                    sinceMicros: since, timeout: 20)
        XCTAssertEqual(firstUnlimited.count, 1, first.stderrText.suffix(3000).description)
        first.signal(SIGTERM)
        XCTAssertEqual(first.waitForExit(timeout: 20), 0, "the first daemon stops cleanly on SIGTERM")

        let second = try DaemonProcess(config: Self.config, arguments: ["--state-dir", stateDir])
        defer { second.stop() }
        let started = try E2E.waitForEntries(["_PID": second.pid, "DOCKWARD_EVENT": "daemon-started"], sinceMicros: since, timeout: 10)
        XCTAssertEqual(started.count, 1)
        let carried = Int(started.first?["DOCKWARD_OPEN_EPISODES"] ?? "") ?? -1
        XCTAssertGreaterThanOrEqual(carried, 2, started.first?["MESSAGE"] ?? "no start entry")
        // Positive control: the second daemon listed and judged the
        // containers and watches the unlimited one's cgroup.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && !(second.stderrText.contains("host-control watch (connected)")
                                     && second.stderrText.contains("watching container \(unlimitedID.prefix(12))")) {
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(second.stderrText.contains("host-control watch (connected)"), second.stderrText.suffix(3000).description)
        XCTAssertTrue(second.stderrText.contains("watching container \(unlimitedID.prefix(12))"), second.stderrText.suffix(3000).description)
        // Past the metadata grace (2 s) and the unlimited settle time (1 s).
        Thread.sleep(forTimeInterval: 4)
        for name in [exposed, unlimited] {
            let repeated = try E2E.journalEntries(["_PID": second.pid, "CONTAINER_NAME": name], sinceMicros: since)
                .filter { $0["DOCKWARD_ALERT"] != nil }
            XCTAssertEqual(repeated.map { $0["DOCKWARD_ALERT"] ?? "" }, [], "\(name): nothing already reported is reported again")
        }
    }
}
