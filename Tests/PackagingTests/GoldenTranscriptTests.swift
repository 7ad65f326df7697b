import DockwardCore
import Foundation
import XCTest

/// Every kind of journal entry and a `/metrics` scrape, rendered from the
/// fixed inputs in GoldenInputs and compared with the checked-in files in
/// Golden/, so a change to what dockward writes shows up as a diff to
/// review (the README, packaging/dockward.catalog and dashboards read the
/// same names) instead of drifting silently. `make golden` rewrites them.
final class GoldenTranscriptTests: XCTestCase {
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static var updating: Bool { ProcessInfo.processInfo.environment["DOCKWARD_UPDATE_GOLDEN"] == "1" }

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

    /// The exposition with its families sorted by name and the series of
    /// each sorted by labels: the registry emits them in hash order, which
    /// changes from one process to the next. A histogram's lines stay in
    /// their order (buckets, sum, count).
    static func canonicalExposition(_ text: String) -> String {
        struct Family { var name: String; var header: [String] = []; var series: [[String]] = [] }
        var families: [Family] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                if families.last?.name != name { families.append(Family(name: name)) }
                families[families.count - 1].header.append(line)
                continue
            }
            guard let last = families.indices.last else { continue }
            let isHistogram = families[last].header.contains { $0.hasSuffix(" histogram") }
            // A histogram series runs from its first bucket to its _count.
            let previous = families[last].series.last?.last
            if !isHistogram || previous == nil || previous!.contains("_count") {
                families[last].series.append([line])
            } else {
                families[last].series[families[last].series.count - 1].append(line)
            }
        }
        var out = "# A /metrics scrape from GoldenInputs.swift, families and series sorted. `make golden` rewrites this file.\n"
        for family in families.sorted(by: { $0.name < $1.name }) {
            out += "\n" + family.header.joined(separator: "\n") + "\n"
            for series in family.series.sorted(by: { $0[0] < $1[0] }) { out += series.joined(separator: "\n") + "\n" }
        }
        return out
    }

    /// Compares with Golden/<file>, or rewrites it with DOCKWARD_UPDATE_GOLDEN=1.
    private func compare(_ text: String, file name: String, line: UInt = #line) throws {
        let url = Self.goldenDir.appendingPathComponent(name)
        if Self.updating {
            try FileManager.default.createDirectory(at: Self.goldenDir, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("Tests/PackagingTests/Golden/\(name) is missing: run `make golden`", line: line)
            return
        }
        guard golden != text else { return }
        let want = golden.components(separatedBy: "\n")
        let got = text.components(separatedBy: "\n")
        let at = (0..<min(want.count, got.count)).first { want[$0] != got[$0] } ?? min(want.count, got.count)
        func show(_ lines: [String]) -> String { at < lines.count ? lines[at] : "(end of file)" }
        XCTFail("""
            Tests/PackagingTests/Golden/\(name) differs from what the code renders, first at line \(at + 1):
              golden: \(show(want))
              now:    \(show(got))
            If the change is meant, run `make golden` and review the diff of Tests/PackagingTests/Golden like code: \
            the README, packaging/dockward.catalog and dashboards may need the same change.
            """, line: line)
    }
}
