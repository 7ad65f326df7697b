import DockwardCgroup
import DockwardCore
import Glibc
import XCTest

final class HostPidsReaderTests: XCTestCase {
    func testFixture() throws {
        XCTAssertEqual(try HostPidsReader(procRoot: Fixtures.path("proc")).read(),
                       HostPidsSample(tasks: 105, ceiling: 32768))
    }

    func testCeilingIsTheLowerOfPidMaxAndThreadsMax() throws {
        XCTAssertEqual(try HostPidsReader(procRoot: Fixtures.path("proc-threads-lower")).read(),
                       HostPidsSample(tasks: 4000, ceiling: 15000))
    }

    func testMalformedLoadavg() {
        let root = Fixtures.path("proc-malformed")
        XCTAssertThrowsError(try HostPidsReader(procRoot: root).read()) { error in
            XCTAssertEqual(error as? CgroupReadError,
                           .malformed(path: root + "/loadavg", content: "0.28 0.32 0.15 garbage 4273\\n"))
        }
    }

    func testMissingProcRoot() {
        let root = Fixtures.path("no-such-proc")
        XCTAssertThrowsError(try HostPidsReader(procRoot: root).read()) { error in
            XCTAssertEqual(error as? CgroupReadError, .unreadable(path: root + "/loadavg", errno: ENOENT))
        }
    }

    func testRealProc() throws {
        let sample = try HostPidsReader().read()
        XCTAssertGreaterThan(sample.tasks, 0)
        XCTAssertGreaterThan(sample.ceiling, 300)  // the kernel's minimum pid_max is 301
        XCTAssertLessThan(sample.tasks, sample.ceiling)
    }
}
