import DockwardCgroup
import DockwardCore
import DockwardTestSupport
import XCTest

final class CgroupLayoutTests: XCTestCase {
    func testV1() throws {
        let layout = try CgroupLayoutDetector.detect(root: Fixtures.path("v1-cgroupfs"))
        XCTAssertEqual(layout, CgroupLayout(version: .v1, hierarchyRoot: Fixtures.path("v1-cgroupfs/pids")))
        XCTAssertEqual(layout.summary, "cgroup v1 pids hierarchy at \(Fixtures.path("v1-cgroupfs/pids"))")
        XCTAssertEqual(try CgroupLayoutDetector.detect(root: Fixtures.path("v1-systemd")).version, .v1)
    }

    func testPureV2() throws {
        for tree in ["v2-cgroupfs", "v2-systemd", "v2-rootless"] {
            let layout = try CgroupLayoutDetector.detect(root: Fixtures.path(tree))
            XCTAssertEqual(layout, CgroupLayout(version: .v2, hierarchyRoot: Fixtures.path(tree)), tree)
        }
    }

    func testHybridWithPidsOnUnified() throws {
        // hybrid/pids exists but is a bare mount point; unified's controllers list pids.
        let layout = try CgroupLayoutDetector.detect(root: Fixtures.path("hybrid"))
        XCTAssertEqual(layout, CgroupLayout(version: .v2, hierarchyRoot: Fixtures.path("hybrid/unified")))
        XCTAssertEqual(layout.summary, "cgroup v2 pids hierarchy at \(Fixtures.path("hybrid/unified"))")
    }

    func testHybridWithPidsOnV1() throws {
        // This machine: unified is mounted but without pids.
        let layout = try CgroupLayoutDetector.detect(root: Fixtures.path("hybrid-v1pids"))
        XCTAssertEqual(layout, CgroupLayout(version: .v1, hierarchyRoot: Fixtures.path("hybrid-v1pids/pids")))
    }

    func testTrailingSlashIsIgnored() throws {
        let layout = try CgroupLayoutDetector.detect(root: Fixtures.path("v2-cgroupfs") + "/")
        XCTAssertEqual(layout.hierarchyRoot, Fixtures.path("v2-cgroupfs"))
    }

    func testNoPidsControllerNamesTheRoot() {
        let root = Fixtures.path("no-pids")
        XCTAssertThrowsError(try CgroupLayoutDetector.detect(root: root)) { error in
            XCTAssertEqual(error as? CgroupLayoutError, .noPidsController(root: root))
            XCTAssertTrue(String(describing: error).contains(root), "\(error)")
            XCTAssertTrue(String(describing: error).contains("pids"), "\(error)")
        }
    }

    func testMissingRootNamesTheRoot() {
        let root = Fixtures.path("does-not-exist")
        XCTAssertThrowsError(try CgroupLayoutDetector.detect(root: root)) { error in
            XCTAssertEqual(error as? CgroupLayoutError, .rootNotFound(root: root))
            XCTAssertTrue(String(describing: error).contains(root), "\(error)")
        }
    }

    /// This machine's own tree, whatever its layout: the answer must match
    /// where the pids controller really is (found here from the files the
    /// kernel shows, not through the detector).
    func testRealMachine() throws {
        let fm = FileManager.default
        func controllers(_ dir: String) -> [Substring] {
            ((try? String(contentsOfFile: dir + "/cgroup.controllers", encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace)
        }
        let expected: CgroupLayout
        if fm.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") {
            expected = CgroupLayout(version: .v1, hierarchyRoot: "/sys/fs/cgroup/pids")
        } else if controllers("/sys/fs/cgroup").contains("pids") {
            expected = CgroupLayout(version: .v2, hierarchyRoot: "/sys/fs/cgroup")
        } else if controllers("/sys/fs/cgroup/unified").contains("pids") {
            expected = CgroupLayout(version: .v2, hierarchyRoot: "/sys/fs/cgroup/unified")
        } else {
            try TestEnvironment.skipOrFailInCI("no pids controller under /sys/fs/cgroup on this machine")
        }
        XCTAssertEqual(try CgroupLayoutDetector.detect(root: "/sys/fs/cgroup"), expected)
    }
}
