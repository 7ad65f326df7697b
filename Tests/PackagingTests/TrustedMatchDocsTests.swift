import DockwardTestSupport
import Foundation
import XCTest

/// Every journalctl example and filter that selects dockward's entries by
/// its identifier also matches the writer (JournalTrust), so no document
/// teaches a query that a forged entry passes.
final class TrustedMatchDocsTests: XCTestCase {
    static let documents = [
        "README.md", "packaging/README.md", "packaging/dockward.catalog", "packaging/dockward.service",
        "packaging/journal/README.md", "packaging/journal/dockward-journal-forward",
        "packaging/journal/dockward-journal-forward.service", "packaging/prometheus/dockward-rules.yml",
    ]

    func testNoQueryTrustsTheIdentifierAlone() throws {
        for path in Self.documents {
            let text = try String(contentsOf: TestEnvironment.repoRoot.appendingPathComponent(path), encoding: .utf8)
            // A backslash continues a command on the next line: judge it whole.
            let commands = text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n")
            for (number, line) in commands.enumerated() {
                XCTAssertFalse(line.contains("journalctl -t dockward") || line.contains("journalctl -x -t dockward"),
                               "\(path): command \(number + 1) selects by the identifier alone: \(line)")
                // "journalctl " followed by arguments: a command, not prose naming the tool.
                guard line.contains("journalctl "), line.contains("SYSLOG_IDENTIFIER=") else { continue }
                XCTAssertTrue(line.contains("_SYSTEMD_UNIT=dockward.service") || line.contains("_UID=0") || line.contains("$match"),
                              "\(path): command \(number + 1) trusts SYSLOG_IDENTIFIER alone: \(line)")
            }
        }
    }
}
