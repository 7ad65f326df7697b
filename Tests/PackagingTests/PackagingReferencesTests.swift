import DockwardTestSupport
import Foundation
import XCTest

/// The packaging files name each other; a file that moves must not leave a
/// reference behind (the metrics drop-in once existed twice and drifted).
final class PackagingReferencesTests: XCTestCase {
    func text(_ path: String) throws -> String {
        try String(contentsOf: TestEnvironment.repoRoot.appendingPathComponent(path), encoding: .utf8)
    }

    func assertExists(_ path: String, from source: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(FileManager.default.fileExists(atPath: TestEnvironment.repoRoot.appendingPathComponent(path).path),
                      "\(source) names \(path), which does not exist", file: file, line: line)
    }

    /// Every `$ROOT_DIR/<path>` that scripts/build-deb.sh packs exists.
    func testBuildDebPacksFilesThatExist() throws {
        let script = try text("scripts/build-deb.sh")
        let paths = script.components(separatedBy: "\"$ROOT_DIR/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertTrue(paths.contains("packaging/prometheus/dockward.service.d/metrics.conf"), "\(paths)")
        for path in paths { assertExists(path, from: "scripts/build-deb.sh") }
    }

    /// The first column of packaging/README.md's table: files under packaging/.
    func testPackagingReadmeListsFilesThatExist() throws {
        let rows = try text("packaging/README.md").split(separator: "\n").filter { $0.hasPrefix("| `") }
        XCTAssertFalse(rows.isEmpty)
        for row in rows {
            let name = String(row.dropFirst(3).prefix { $0 != "`" })
            let url = TestEnvironment.repoRoot.appendingPathComponent("packaging").appendingPathComponent(name).standardized
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "packaging/README.md names \(name), which does not exist")
        }
    }

    /// One metrics drop-in, the one packaging/prometheus/ documents.
    func testOneMetricsDropIn() throws {
        assertExists("packaging/prometheus/dockward.service.d/metrics.conf", from: "this test")
        XCTAssertFalse(FileManager.default.fileExists(
            atPath: TestEnvironment.repoRoot.appendingPathComponent("packaging/metrics.conf").path),
            "packaging/metrics.conf is a second copy of the drop-in")
        let unit = try text("packaging/dockward.service")
        XCTAssertTrue(unit.contains("packaging/prometheus/dockward.service.d/metrics.conf"))
    }
}
