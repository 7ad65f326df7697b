import Foundation
import XCTest

/// Golden files: what a test renders, compared with a checked-in file, or
/// written anew with `DOCKWARD_UPDATE_GOLDEN=1` (`make golden`); review
/// their diff like code.
public enum Golden {
    public static var updating: Bool { ProcessInfo.processInfo.environment["DOCKWARD_UPDATE_GOLDEN"] == "1" }

    /// The exposition with its families sorted by name and the series of
    /// each sorted by labels: the registry emits them in hash order, which
    /// changes from one process to the next. A histogram's lines stay in
    /// their order (buckets, sum, count).
    public static func canonicalExposition(_ text: String) -> String {
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
        var out = ""
        for family in families.sorted(by: { $0.name < $1.name }) {
            out += (out.isEmpty ? "" : "\n") + family.header.joined(separator: "\n") + "\n"
            for series in family.series.sorted(by: { $0[0] < $1[0] }) { out += series.joined(separator: "\n") + "\n" }
        }
        return out
    }

    /// Compares `text` with `<dir>/<file>`, naming the first line that
    /// differs; or rewrites the file when updating.
    public static func compare(_ text: String, file name: String, in dir: URL, shownAs shown: String,
                               file testFile: StaticString = #filePath, line: UInt = #line) throws {
        let url = dir.appendingPathComponent(name)
        if updating {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("\(shown)/\(name) is missing: run `make golden`", file: testFile, line: line)
            return
        }
        guard golden != text else { return }
        let want = golden.components(separatedBy: "\n")
        let got = text.components(separatedBy: "\n")
        let at = (0..<min(want.count, got.count)).first { want[$0] != got[$0] } ?? min(want.count, got.count)
        func show(_ lines: [String]) -> String { at < lines.count ? lines[at] : "(end of file)" }
        XCTFail("""
            \(shown)/\(name) differs from what the code renders, first at line \(at + 1):
              golden: \(show(want))
              now:    \(show(got))
            If the change is meant, run `make golden` and review the diff of \(shown) like code: \
            the README, packaging/dockward.catalog and dashboards may need the same change.
            """, file: testFile, line: line)
    }
}
