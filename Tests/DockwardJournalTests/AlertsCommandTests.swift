import DockwardCore
import DockwardJournal
import Foundation
import Glibc
import XCTest

/// The built `dockward alerts` binary against the real journal.
final class AlertsCommandTests: XCTestCase {
    override func setUpWithError() throws {
        try JT.requireJournald()
        try JT.requireBinary()
    }

    func testJSONForOneContainer() throws {
        let c = JT.container("cli-json")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c, message: "first", fields: [("PIDS_CURRENT", "90"), ("PIDS_MAX", "100")])
        JT.write(.pidsExhausted, .crit, c, message: "second")
        JT.write(.pidsHigh, .warning, JT.container("cli-other"))
        try JT.waitFor(AlertFilter(container: name), count: 2)

        let (code, out, err) = try JT.run(["alerts", "--container", name, "--json"])
        XCTAssertEqual(code, 0, err)
        let lines = out.split(separator: "\n")
        let objects = JT.jsonLines(out)
        XCTAssertEqual(lines.count, 2, out)
        XCTAssertEqual(objects.count, 2, "every line is a JSON object: \(out)")
        XCTAssertEqual(objects.map { $0["message"] as? String }, ["first", "second"])
        XCTAssertEqual(objects.map { $0["kind"] as? String }, ["pids-high", "pids-exhausted"])
        XCTAssertEqual(objects.map { $0["priority"] as? String }, ["warning", "crit"])
        XCTAssertTrue(objects.allSatisfy { $0["container"] as? String == name && $0["container_id"] as? String == c.id.short })
        XCTAssertEqual((objects[0]["fields"] as? [String: String])?["PIDS_CURRENT"], "90")

        let crit = try JT.run(["alerts", "--container", name, "--json", "--priority", "crit"])
        XCTAssertEqual(JT.jsonLines(crit.out).map { $0["message"] as? String }, ["second"])
        let kind = try JT.run(["alerts", "--container", c.id.short, "--json", "--kind", "pids-high"])
        XCTAssertEqual(JT.jsonLines(kind.out).map { $0["message"] as? String }, ["first"])
    }

    func testTableAndSummary() throws {
        let c = JT.container("cli-table")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c, message: "high once")
        JT.write(.pidsHigh, .warning, c, message: "high twice")
        JT.write(.pidsExhausted, .crit, c, message: "exhausted")
        try JT.waitFor(AlertFilter(container: name), count: 3)

        let table = try JT.run(["alerts", "--container", name, "--since", "1h"])
        XCTAssertEqual(table.code, 0, table.err)
        let rows = table.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 4, table.out)
        XCTAssertTrue(rows[0].hasPrefix("TIME"), rows[0])
        XCTAssertTrue(rows[0].hasSuffix("MESSAGE"), rows[0])
        XCTAssertTrue(rows[1].contains("  warning   pids-high "), rows[1])
        XCTAssertTrue(rows[3].contains("  crit      pids-exhausted ") && rows[3].hasSuffix("exhausted"), rows[3])
        XCTAssertNotNil(rows[1].range(of: #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}  "#, options: .regularExpression))

        let summary = try JT.run(["alerts", "--container", name, "--summary"])
        XCTAssertEqual(summary.code, 0, summary.err)
        let lines = summary.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, summary.out)
        XCTAssertTrue(lines[0].hasPrefix("PRIORITY  COUNT  CONTAINER"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("crit          1  ") && lines[1].contains("pids-exhausted"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("warning       2  ") && lines[2].contains("pids-high"), lines[2])
        XCTAssertEqual(lines[3], "3 alerts in 2 groups")

        let sj = try JT.run(["alerts", "--container", name, "--summary", "--json"])
        XCTAssertEqual(JT.jsonLines(sj.out).map { "\($0["kind"] ?? "") \($0["count"] ?? "")" }, ["pids-exhausted 1", "pids-high 2"])
    }

    func testNoMatchIsAClearMessageAndExitZero() throws {
        let name = JT.uniqueName("none")
        let table = try JT.run(["alerts", "--container", name])
        XCTAssertEqual(table.code, 0, table.err)
        XCTAssertEqual(table.out, "No alerts match (container \(name)).\n")
        let json = try JT.run(["alerts", "--container", name, "--json"])
        XCTAssertEqual(json.code, 0)
        XCTAssertEqual(json.out, "", "JSON output stays pure")
        XCTAssertTrue(json.err.contains("No alerts match"), json.err)
    }

    func testBadArgumentsAndUnopenableJournalFail() throws {
        let kind = try JT.run(["alerts", "--kind", "pids-bogus"])
        XCTAssertNotEqual(kind.code, 0)
        XCTAssertTrue(kind.err.contains("unknown --kind 'pids-bogus'"), kind.err)
        for k in EntryKind.allCases { XCTAssertTrue(kind.err.contains(k.rawValue), "lists \(k.rawValue): \(kind.err)") }

        let prio = try JT.run(["alerts", "--priority", "loud"])
        XCTAssertNotEqual(prio.code, 0)
        XCTAssertTrue(prio.err.contains("unknown --priority 'loud'"), prio.err)

        let since = try JT.run(["alerts", "--since", "last tuesday"])
        XCTAssertNotEqual(since.code, 0)
        XCTAssertTrue(since.err.contains("invalid --since"), since.err)

        let both = try JT.run(["alerts", "--summary", "--follow"])
        XCTAssertNotEqual(both.code, 0)

        let dir = try JT.run(["alerts", "--directory", "/nonexistent/dockward"])
        XCTAssertEqual(dir.code, 1)
        XCTAssertEqual(dir.out, "")
        XCTAssertTrue(dir.err.contains("dockward: cannot open the journal at /nonexistent/dockward: No such file or directory"), dir.err)
    }

    func testDirectoryOption() throws {
        let c = JT.container("cli-dir")
        let name = c.metadata!.name
        JT.write(.socketMount, .crit, c, message: "socket", fields: [("SOCKET_PATH", "/var/run/docker.sock"), ("MOUNT_RW", "true")])
        try JT.waitFor(AlertFilter(container: name), count: 1)
        let dir = try XCTUnwrap(JT.journaldDirectory())
        var objects: [[String: Any]] = []
        XCTAssertTrue(JT.eventually {
            objects = JT.jsonLines((try? JT.run(["alerts", "--directory", dir, "--container", name, "--json"]))?.out ?? "")
            return !objects.isEmpty
        })
        XCTAssertEqual(objects.first?["kind"] as? String, "socket-mount")
        XCTAssertEqual((objects.first?["fields"] as? [String: String])?["SOCKET_PATH"], "/var/run/docker.sock")
        XCTAssertEqual((objects.first?["fields"] as? [String: String])?["MOUNT_RW"], "true")
    }

    func testFollowStreamsNewEntriesAndExitsCleanlyOnSIGTERM() throws {
        let c = JT.container("cli-follow")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c, message: "backlog")
        try JT.waitFor(AlertFilter(container: name), count: 1)
        let child = try JT.spawn(["alerts", "--follow", "--json", "--container", name, "--since", "10m"])
        defer { child.cleanup() }
        XCTAssertTrue(JT.eventually { JT.jsonLines(child.stdout).count == 1 }, "backlog printed: \(child.stdout) \(child.stderr)")
        JT.write(.pidsExhausted, .crit, c, message: "live")
        XCTAssertTrue(JT.eventually { JT.jsonLines(child.stdout).count == 2 }, "new entry streamed: \(child.stdout)")
        XCTAssertEqual(JT.jsonLines(child.stdout).map { $0["message"] as? String }, ["backlog", "live"])
        kill(child.pid, SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0, "exits 0 on SIGTERM: \(child.stderr)")
    }

    func testFollowTableExitsCleanlyOnSIGINT() throws {
        let c = JT.container("cli-sigint")
        let name = c.metadata!.name
        let child = try JT.spawn(["alerts", "-f", "--container", name])
        defer { child.cleanup() }
        XCTAssertTrue(JT.eventually { child.stdout.hasPrefix("TIME") }, "header printed: \(child.stderr)")
        // Follow without --since starts at "now"; write until one shows up.
        XCTAssertTrue(JT.eventually {
            JT.write(.pidsForecast, .err, c, message: "streamed")
            usleep(200_000)
            return child.stdout.contains("streamed")
        }, "entry streamed: \(child.stdout)")
        kill(child.pid, SIGINT)
        XCTAssertEqual(child.wait(timeout: 30), 0, "exits 0 on SIGINT: \(child.stderr)")
        XCTAssertTrue(child.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.contains("  err       pids-forecast  ") })
    }
}
