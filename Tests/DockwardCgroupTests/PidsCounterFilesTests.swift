import DockwardCgroup
import DockwardCore
import Glibc
import XCTest

final class PidsCounterFilesTests: XCTestCase {
    func testReadsFixtureWithPeak() throws {
        let dir = Fixtures.path("v1-cgroupfs/pids/docker/39f5125692f53526de042696a463a39379551b565862c97363be98cc54535268")
        let files = try PidsCounterFiles(directory: dir)
        XCTAssertTrue(files.hasPeak)
        XCTAssertEqual(try files.readAll(), PidsSample(current: 4, limit: 100, refusedForks: 2, peak: 100))
        // Re-reading gives the same values: every read starts at offset 0.
        XCTAssertEqual(try files.readAll(), PidsSample(current: 4, limit: 100, refusedForks: 2, peak: 100))
    }

    func testReadsFixtureWithoutPeakAndUnlimited() throws {
        let dir = Fixtures.path("v1-cgroupfs/pids/docker/12a5e0e9e8d015f1e1038d1962eaab5c750b4767ec428333871ca0f1d1e7b387")
        let files = try PidsCounterFiles(directory: dir)
        XCTAssertFalse(files.hasPeak)
        let sample = try files.readAll()
        XCTAssertEqual(sample, PidsSample(current: 3, limit: PidsSample.unlimited, refusedForks: 0, peak: nil))
        XCTAssertTrue(sample.isUnlimited)
    }

    func testReadsV2EventsWithImposedLine() throws {
        let dir = Fixtures.path("v2-cgroupfs/docker/d41254dfe5bf4ecd4b67439e8a881f95b3d7689ab8f188f6aa8bd4d02ecc5f6a")
        XCTAssertEqual(try PidsCounterFiles(directory: dir).readAll(),
                       PidsSample(current: 12, limit: 64, refusedForks: 5, peak: 64))
    }

    func testSeesNewValuesOnEachRead() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir, current: "1\n", max: "10\n", events: "max 0\n")
        let files = try PidsCounterFiles(directory: dir)
        XCTAssertEqual(try files.readAll().current, 1)
        // Longer, then shorter content: the buffer must not keep stale bytes.
        try write("1234\n", to: dir + "/pids.current")
        XCTAssertEqual(try files.readAll().current, 1234)
        try write("7\n", to: dir + "/pids.current")
        XCTAssertEqual(try files.readAll().current, 7)
    }

    func testMissingDirectoryIsVanished() {
        let dir = Fixtures.path("v2-cgroupfs/docker/" + String(repeating: "0", count: 64))
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir)) { error in
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
    }

    func testDirectoryWithoutPidsFilesIsUnreadable() throws {
        // A v2 cgroup whose parent does not delegate the pids controller.
        let dir = try makeTempDir(self)
        try write("1\n", to: dir + "/pids.current")
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir)) { error in
            XCTAssertEqual(error as? CgroupReadError, .unreadable(path: dir + "/pids.max", errno: ENOENT))
        }
    }

    func testMalformedContentIsReportedEscapedAndTruncated() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir, current: "garbage\u{1}\n")
        let files = try PidsCounterFiles(directory: dir)
        XCTAssertThrowsError(try files.readAll()) { error in
            XCTAssertEqual(error as? CgroupReadError,
                           .malformed(path: dir + "/pids.current", content: "garbage\\x01\\n"))
        }

        try write("5\n", to: dir + "/pids.current")
        try write(String(repeating: "z", count: 200), to: dir + "/pids.max")
        XCTAssertThrowsError(try files.readAll()) { error in
            XCTAssertEqual(error as? CgroupReadError,
                           .malformed(path: dir + "/pids.max", content: String(repeating: "z", count: 64) + "..."))
        }
    }

    func testOverflowIsMalformedNotATrap() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir, events: "max 99999999999999999999999\n")
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir).readAll()) { error in
            guard case .malformed(let path, _) = error as? CgroupReadError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir + "/pids.events")
        }
    }

    func testEmptyFileInLiveDirectoryIsMalformed() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir, current: "")
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir).readAll()) { error in
            XCTAssertEqual(error as? CgroupReadError, .malformed(path: dir + "/pids.current", content: ""))
        }
    }

    func testEmptyReadAfterDirectoryIsGoneIsVanished() throws {
        // Regular files stay readable once unlinked; truncate first to get the 0-byte read.
        let dir = try makeTempDir(self)
        try writePidsFiles(dir)
        let files = try PidsCounterFiles(directory: dir)
        try write("", to: dir + "/pids.current")
        try FileManager.default.removeItem(atPath: dir)
        XCTAssertThrowsError(try files.readAll()) { error in
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
    }

    func testCloseIsIdempotentAndReadAfterCloseFails() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir)
        let files = try PidsCounterFiles(directory: dir)
        files.close()
        files.close()
        XCTAssertThrowsError(try files.readAll()) { error in
            XCTAssertEqual(error as? CgroupReadError, .unreadable(path: dir, errno: EBADF))
        }
    }

    func testNoDescriptorLeaks() throws {
        let withPeak = try makeTempDir(self)
        try writePidsFiles(withPeak, peak: "3\n")
        let withoutPeak = try makeTempDir(self)
        try writePidsFiles(withoutPeak)
        let halfMissing = try makeTempDir(self)
        try write("1\n", to: halfMissing + "/pids.current")
        try write("max\n", to: halfMissing + "/pids.max")

        let baseline = try openDescriptorCount()
        for i in 0..<500 {
            let files = try PidsCounterFiles(directory: i % 2 == 0 ? withPeak : withoutPeak)
            _ = try files.readAll()
            files.close()
            _ = try? PidsCounterFiles(directory: halfMissing)  // fails on the third file
        }
        XCTAssertEqual(try openDescriptorCount(), baseline, "close() and failed inits must release every fd")

        // deinit closes too.
        do {
            let kept = try (0..<100).map { _ in try PidsCounterFiles(directory: withPeak) }
            XCTAssertEqual(try openDescriptorCount(), baseline + 100, "one descriptor a container at rest: pids.current")
            for files in kept.prefix(10) { files.keepEventsOpen() }
            XCTAssertEqual(try openDescriptorCount(), baseline + 110, "and pids.events for those that refuse forks")
            XCTAssertEqual(try kept[0].readRefusedForks(), try kept[99].readRefusedForks())
        }
        XCTAssertEqual(try openDescriptorCount(), baseline, "deinit must close")
    }

    func testErrorDescriptions() {
        XCTAssertEqual(CgroupReadError.vanished(path: "/x").description, "cgroup /x is gone")
        XCTAssertEqual(CgroupReadError.unreadable(path: "/x/pids.max", errno: EACCES).description,
                       "cannot read /x/pids.max: Permission denied (errno 13)")
        XCTAssertEqual(CgroupReadError.malformed(path: "/x/pids.max", content: "a\\n").description,
                       "unexpected content in /x/pids.max: \"a\\n\"")
    }
}
