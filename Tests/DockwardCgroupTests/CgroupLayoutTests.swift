import DockwardCgroup
import DockwardCore
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

    func testRealMachineIfV1PidsIsMounted() throws {
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") else {
            throw XCTSkip("/sys/fs/cgroup/pids is not a mounted v1 pids hierarchy here")
        }
        let layout = try CgroupLayoutDetector.detect(root: "/sys/fs/cgroup")
        XCTAssertEqual(layout, CgroupLayout(version: .v1, hierarchyRoot: "/sys/fs/cgroup/pids"))
    }
}
