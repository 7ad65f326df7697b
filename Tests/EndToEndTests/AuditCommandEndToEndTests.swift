import DockwardTestSupport
import Foundation
import XCTest

/// The commands' exit statuses and messages with the real binary and engine.
final class AuditCommandEndToEndTests: XCTestCase {
    func dockward(_ args: [String], docker: String = "unix://\(E2E.socket)") throws -> Subprocess.Output {
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = docker
        return try Subprocess.run(E2E.binary.path, args, environment: env, timeout: 120)
    }

    func testCouldNotAuditIsExitTwoWithAClearMessage() throws {
        try TestEnvironment.requireDockwardBinary()
        let gone = try dockward(["audit"], docker: "unix:///nonexistent/docker.sock")
        XCTAssertEqual(gone.status, 2, gone.output)
        XCTAssertTrue(gone.stderr.contains("could not audit") && gone.stderr.contains("/nonexistent/docker.sock"), gone.stderr)
        XCTAssertEqual(gone.stdout, "")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("dockward.yml")
        try "cgroup:\n  root: \(dir.path)/no-such-tree\n".write(to: config, atomically: true, encoding: .utf8)
        try E2E.requireServices()
        let noTree = try dockward(["audit", "--config", config.path])
        XCTAssertEqual(noTree.status, 2, noTree.output)
        XCTAssertTrue(noTree.stderr.contains("cannot read the cgroup tree under \(dir.path)/no-such-tree"), noTree.stderr)

        let bad = dir.appendingPathComponent("compose.yml")
        try "services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n".write(to: bad, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "IMAGE")
        let unset = try Subprocess.run(E2E.binary.path, ["check-compose", "--no-engine", bad.path], environment: env, timeout: 60)
        XCTAssertEqual(unset.status, 2, unset.output)
        XCTAssertTrue(unset.stderr.contains("\(bad.path):3: required variable IMAGE is missing a value: set IMAGE"), unset.stderr)
    }

    func testFailOnDecidesTheExitStatus() throws {
        try E2E.requireServices()
        let name = E2E.uniqueName("audit-exit")
        try E2E.runContainer(name: name, options: ["--pids-limit", "32", "-v", "\(E2E.socket):/docker.sock"], command: ["sleep", "600"])
        defer { E2E.removeContainer(name) }
        let found = try dockward(["audit", "--json"])
        XCTAssertEqual(found.status, 1, found.output)
        let mine = found.stdout.split(separator: "\n").filter { $0.contains("\"CONTAINER_NAME\":\"\(name)\"") }
        XCTAssertTrue(mine.contains { $0.contains("\"DOCKWARD_ALERT\":\"socket-mount\"") && $0.contains("\"EXPOSURE\":\"direct\"") },
                      "\(mine)")
        XCTAssertTrue(mine.contains { $0.contains("\"DOCKWARD_POSTURE\":\"pids\"") && $0.contains("\"PIDS_MAX\":\"32\"")
                          && $0.contains("\"PIDS_MAX_SOURCE\":\"own\"") }, "\(mine)")
        // Nothing is as bad as emerg: exit 0, and the verdict line says why.
        let lenient = try dockward(["audit", "--fail-on", "emerg"])
        XCTAssertEqual(lenient.status, 0, lenient.output)
        XCTAssertTrue(lenient.stdout.contains("exit 0: nothing at or above emerg"), lenient.stdout)
        XCTAssertTrue(lenient.stdout.contains(name), lenient.stdout)
        let sarif = try dockward(["audit", "--sarif"])
        let log = try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(log?["version"] as? String, "2.1.0")
        XCTAssertEqual(sarif.status, 1)
    }
}
