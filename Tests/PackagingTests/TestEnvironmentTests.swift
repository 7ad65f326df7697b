import DockwardTestSupport
import Foundation
import XCTest

/// The rules every test target relies on to find the repository and the
/// binary and to decide between skipping and failing.
final class TestEnvironmentTests: XCTestCase {
    func testCIValues() {
        XCTAssertFalse(TestEnvironment.isCI(nil))
        XCTAssertFalse(TestEnvironment.isCI(""))
        XCTAssertFalse(TestEnvironment.isCI("false"))
        XCTAssertFalse(TestEnvironment.isCI("FALSE"))
        XCTAssertFalse(TestEnvironment.isCI("0"))
        XCTAssertTrue(TestEnvironment.isCI("true"))
        XCTAssertTrue(TestEnvironment.isCI("1"))
        XCTAssertTrue(TestEnvironment.isCI("yes"))
    }

    func testRepoRootHoldsThePackage() {
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: TestEnvironment.repoRoot.appendingPathComponent("Package.swift").path), TestEnvironment.repoRoot.path)
    }

    func testBinaryIsLookedForNextToTheTests() {
        XCTAssertEqual(TestEnvironment.dockwardBinary.lastPathComponent, "dockward")
    }
}
