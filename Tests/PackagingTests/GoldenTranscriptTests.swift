import DockwardCore
import DockwardTestSupport
import Foundation
import XCTest

/// Every kind of journal entry and a `/metrics` scrape, rendered from the
/// fixed inputs in GoldenInputs and compared with the checked-in files in
/// Golden/, so a change to what dockward writes shows up as a diff to
/// review (the README, packaging/dockward.catalog and dashboards read the
/// same names) instead of drifting silently. `make golden` rewrites them.
final class GoldenTranscriptTests: XCTestCase {
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    func testEveryEntryKindMatchesItsGoldenTranscript() throws {
        let cases = GoldenInputs.entryCases()
        // A new kind without a case fails here, in update mode too.
        let covered = Set(cases.map(\.entry.kind))
        for kind in EntryKind.allCases where !covered.contains(kind) {
            XCTFail("no golden case renders \(kind.rawValue): add one to GoldenInputs.entryCases(), then run `make golden`")
        }
        let names = cases.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "golden case names must be unique")

        let text = Self.transcript(cases)
        try compare(text, file: "entries.txt")
        let golden = (try? String(contentsOf: Self.goldenDir.appendingPathComponent("entries.txt"), encoding: .utf8)) ?? ""
        let missing = EntryKind.allCases.filter { kind in
            !golden.contains("\n\(kind.journalTag)=\(kind.rawValue)\n")
        }
        XCTAssertEqual(missing, [], "Golden/entries.txt has no entry of these kinds: run `make golden`")
    }

    func testMetricsScrapeMatchesItsGoldenTranscript() throws {
        try compare(Self.canonicalExposition(GoldenInputs.scrape()), file: "metrics.txt")
    }

    /// Journal export style: a `## <case>` line, then one `NAME=value` per
    /// field in the order the entry is written, a blank line between
    /// entries. A newline inside a value is written `\n` so each field stays one line.
    static func transcript(_ cases: [(name: String, entry: JournalEntry)]) -> String {
        var out = "# Every kind of entry dockward writes, from GoldenInputs.swift. `make golden` rewrites this file.\n"
        for (name, entry) in cases {
            out += "\n## \(name)\n"
            for field in entry.allFields {
                out += "\(field.name)=\(field.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
            }
        }
        return out
    }

    static func canonicalExposition(_ text: String) -> String {
        "# A /metrics scrape from GoldenInputs.swift, families and series sorted. `make golden` rewrites this file.\n\n"
            + Golden.canonicalExposition(text)
    }

    private func compare(_ text: String, file name: String, line: UInt = #line) throws {
        try Golden.compare(text, file: name, in: Self.goldenDir, shownAs: "Tests/PackagingTests/Golden", line: line)
    }
}
