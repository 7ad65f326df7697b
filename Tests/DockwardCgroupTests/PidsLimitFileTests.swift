import DockwardCgroup
import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// The one write into the cgroup tree (`actions:` caps), on the real kernel
/// and on what can go wrong.
final class PidsLimitFileTests: XCTestCase {
    func testWritesALimitTheKernelApplies() throws {
        let v1Pids = RealKernelPidsTests.v1Pids
        guard FileManager.default.fileExists(atPath: v1Pids + "/cgroup.procs") else {
            try TestEnvironment.skipOrFailInCI("\(v1Pids) is not a mounted v1 pids hierarchy on this machine")
        }
        let dir = v1Pids + "/dockward-test-cap-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(dir, 0o755) == 0 else {
            return XCTFail("mkdir \(dir): \(String(cString: strerror(errno))) (needs root)")
        }
        defer { _ = RealKernelPidsTests.removeCgroup(dir) }
        let files = try PidsCounterFiles(directory: dir)
        defer { files.close() }
        try PidsLimitFile.write(250, cgroupDirectory: dir)
        XCTAssertEqual(try files.readLimit(), 250)
        try PidsLimitFile.write(7, cgroupDirectory: dir)
        XCTAssertEqual(try files.readLimit(), 7, "a shorter number replaces a longer one whole")
    }

    func testAGoneCgroupAndAnUnwritableFileAreTold() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-cap-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/pids.max", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertThrowsError(try PidsLimitFile.write(5, cgroupDirectory: root + "/gone")) { error in
            XCTAssertEqual(error as? PidsLimitFile.WriteError, .vanished(path: root + "/gone/pids.max"))
        }
        XCTAssertThrowsError(try PidsLimitFile.write(5, cgroupDirectory: root)) { error in
            XCTAssertEqual(error as? PidsLimitFile.WriteError, .refused(path: root + "/pids.max", errno: EISDIR))
            XCTAssertTrue("\(error)".contains("Is a directory"), "\(error)")
        }
    }
}
