@testable import DockwardAudit
import DockwardCore
import Foundation
import XCTest

final class AuditOutputTests: XCTestCase {
    func report() -> AuditReport {
        let details = ContainerDetails(id: testID(1), metadata: ContainerMetadata(name: "web", image: "img"), mounts: [],
                                       binds: [], state: "running", privileged: true)
        let privileged = Finding.hostControl(details, .privileged, allowedBy: nil, eventTimeNano: nil)
        let unlimited = Finding.containerPids(PidsFinding(kind: .pidsUnlimited, current: 0),
                                              ContainerRef(id: testID(2), metadata: ContainerMetadata(name: "db", image: "img")),
                                              peak: nil)
        return AuditReport(command: "check-compose", items: [
            AuditItem(unlimited, words: EntryText(message: "Service db sets no pids limit."), service: "db",
                      location: SourceLocation(file: "compose.yml", line: 9)),
            AuditItem(privileged, service: "web", location: SourceLocation(file: "compose.yml", line: 4)),
        ], notes: [AuditNote("resolved on h: the engine's socket is /run/docker.sock")])
    }

    func testJSONLinesCarryTheJournalFieldNames() throws {
        let lines = AuditOutput.jsonLines(report()).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        XCTAssertEqual(first["DOCKWARD_ALERT"], "privileged")
        XCTAssertEqual(first["PRIORITY"], "2")
        XCTAssertEqual(first["MESSAGE_ID"], EntryKind.privileged.messageID)
        XCTAssertEqual(first["HOST_CONTROL"], "privileged")
        XCTAssertEqual(first["COMPOSE_SERVICE"], "web")
        XCTAssertEqual(first["COMPOSE_LINE"], "4")
        XCTAssertNil(first["CONTAINER_ID"])
    }

    func testSARIFShape() throws {
        let text = AuditOutput.sarif(report(), version: "9.9.9")
        let log = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(log["version"] as? String, "2.1.0")
        let run = try XCTUnwrap((log["runs"] as? [[String: Any]])?.first)
        let driver = try XCTUnwrap((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        XCTAssertEqual(driver["name"] as? String, "dockward")
        let rules = try XCTUnwrap(driver["rules"] as? [[String: Any]])
        XCTAssertEqual(rules.map { $0["id"] as? String }, ["privileged", "pids-unlimited"])
        let results = try XCTUnwrap(run["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["level"] as? String }, ["error", "warning"])
        XCTAssertEqual(results.map { $0["ruleIndex"] as? Int }, [0, 1])
        let location = try XCTUnwrap((results[0]["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        XCTAssertEqual((location["artifactLocation"] as? [String: Any])?["uri"] as? String, "compose.yml")
        XCTAssertEqual((location["region"] as? [String: Any])?["startLine"] as? Int, 4)
    }

    func testTableAndSummary() {
        let table = AuditOutput.table(report(), failOn: .err)
        XCTAssertTrue(table.hasPrefix("PRIORITY  KIND"), table)
        XCTAssertTrue(table.contains("crit      privileged      web      compose.yml:4"), table)
        XCTAssertTrue(table.contains("note: resolved on h"), table)
        XCTAssertTrue(table.hasSuffix("2 findings (1 crit, 1 warning); exit 1: findings at or above err\n"), table)
        XCTAssertTrue(AuditOutput.summary(report(), failOn: .emerg).hasSuffix("exit 0: nothing at or above emerg"))
    }
}
