import DockwardCore
import DockwardTestSupport
import Foundation
import XCTest

/// The README's kind tables say what the kind table (`EntryKind.facts`)
/// says: its full table word for word, and the priority of every kind the
/// sections' own tables name.
final class KindTableDocsTests: XCTestCase {
    /// The README's "Every kind of entry" table, as the code makes it.
    static func readmeTable() -> String {
        var lines = ["| kind | role | priority | MESSAGE_ID | `alertname` |", "|---|---|---|---|---|"]
        for kind in EntryKind.allCases {
            let f = kind.facts
            lines.append("| `\(kind.rawValue)` | \(f.role.rawValue) | \(f.priority.text) | `\(f.messageID)` | "
                         + (f.alertName.map { "`\($0)`" } ?? "") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func readme() throws -> String {
        try String(contentsOf: TestEnvironment.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
    }

    func testTheREADMEHasTheKindTableAsTheCodeMakesIt() throws {
        let expected = Self.readmeTable()
        XCTAssertTrue(try readme().contains(expected), "README.md should carry this table word for word:\n\(expected)")
    }

    /// A section's table row `| \`kind\` | priority | when |` gives the
    /// kind table's priority.
    func testEverySectionsPriorityColumnAgrees() throws {
        var checked = 0
        for line in try readme().split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            // Three columns (kind, priority, when): the sections' tables, not the kind table.
            guard cells.count == 5, cells[1].hasPrefix("`"), cells[1].hasSuffix("`"),
                  let kind = EntryKind(rawValue: String(cells[1].dropFirst().dropLast())) else { continue }
            let priority = cells[2]
            guard priority.split(separator: " ").allSatisfy({ $0 == "/" || Priority(name: String($0)) != nil }) else { continue }
            XCTAssertEqual(priority, kind.facts.priority.text, "README's row for \(kind.rawValue): \(line)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 20, "the sections' tables were found")
    }
}
