import DockwardCgroup
import DockwardCore
import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// Runs PidsCounterFiles against a real v1 pids cgroup made for the test.
final class RealKernelPidsTests: XCTestCase {
    static let v1Pids = "/sys/fs/cgroup/pids"

    func testLimitRefusedForksAndRemovalOnTheRealKernel() throws {
        guard FileManager.default.fileExists(atPath: Self.v1Pids + "/cgroup.procs") else {
            try TestEnvironment.skipOrFailInCI("\(Self.v1Pids) is not a mounted v1 pids hierarchy on this machine")
        }
        let dir = Self.v1Pids + "/dockward-test-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(dir, 0o755) == 0 else {
            return XCTFail("mkdir \(dir): \(String(cString: strerror(errno))) (needs root)")
        }
        var shell: pid_t = 0
        var removed = false
        defer {
            Self.killAll(in: dir, shell: shell)
            if !removed { _ = Self.removeCgroup(dir) }
        }

        let files = try PidsCounterFiles(directory: dir)
        defer { files.close() }
        XCTAssertEqual(try files.readAll().current, 0)
        XCTAssertEqual(try files.readAll().limit, PidsSample.unlimited)
        XCTAssertEqual(Self.writeFile(dir + "/pids.max", "5\n"), 0)

        // dash gives up at the first refused fork; the sleeps it started stay in the cgroup.
        shell = try Subprocess.spawn("/bin/sh", ["-c", "echo $$ > \(dir)/cgroup.procs || exit 1; for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait"],
                                     stdoutPath: "/dev/null", stderrPath: "/dev/null")

        var sample = try files.readAll()
        let deadline = Date().addingTimeInterval(10)
        while sample.refusedForks == 0 && Date() < deadline {
            usleep(20_000)
            sample = try files.readAll()
        }
        print("real kernel sample with pids.max=5: \(sample)")
        XCTAssertEqual(sample.limit, 5)
        XCTAssertGreaterThan(sample.refusedForks, 0)
        XCTAssertTrue((1...5).contains(sample.current), "current \(sample.current)")
        if let peak = sample.peak {
            XCTAssertEqual(peak, 5, "the shell plus four sleeps reached the limit")
        }

        Self.killAll(in: dir, shell: shell)
        shell = 0  // reaped
        let drained = Date().addingTimeInterval(10)
        while try files.readAll().current > 0 && Date() < drained { usleep(20_000) }
        XCTAssertEqual(Self.removeCgroup(dir), 0, "rmdir \(dir)")
        removed = true

        // The kernel answers reads on the kept-open files of a removed cgroup with ENODEV.
        XCTAssertThrowsError(try files.readAll()) { error in
            print("read after rmdir: \(error)")
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir)) { error in
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
    }

    /// Discovery on the real tree finds a container cgroup the test makes
    /// where Docker's cgroupfs driver puts one, with the id and the path the
    /// test chose, and loses it once it is removed.
    func testDiscoveryOnTheRealTree() throws {
        guard FileManager.default.fileExists(atPath: Self.v1Pids + "/cgroup.procs") else {
            try TestEnvironment.skipOrFailInCI("\(Self.v1Pids) is not a mounted v1 pids hierarchy on this machine")
        }
        let layout = try CgroupLayoutDetector.detect(root: "/sys/fs/cgroup")
        XCTAssertEqual(layout, CgroupLayout(version: .v1, hierarchyRoot: Self.v1Pids))
        let hex = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        let id = try XCTUnwrap(ContainerID(hex))
        let docker = Self.v1Pids + "/docker"
        let madeDocker = mkdir(docker, 0o755) == 0
        let dir = docker + "/" + hex
        guard mkdir(dir, 0o755) == 0 else {
            return XCTFail("mkdir \(dir): \(String(cString: strerror(errno))) (needs root)")
        }
        var removed = false
        defer {
            if !removed { _ = Self.removeCgroup(dir) }
            if madeDocker { rmdir(docker) }
        }
        // A limit, so daemons running beside the tests do not call it unlimited.
        XCTAssertEqual(Self.writeFile(dir + "/pids.max", "100\n"), 0)

        let found = CgroupDiscovery(layout: layout).allCgroups()
        let mine = found.filter { $0.id == id }
        XCTAssertEqual(mine.map(\.path), [dir], "the cgroup made by the test, once, at its path")
        for other in found {
            XCTAssertTrue(FileManager.default.fileExists(atPath: other.path + "/pids.current"),
                          "\(other.path) is a pids cgroup")
        }
        XCTAssertEqual(Self.removeCgroup(dir), 0, "rmdir \(dir)")
        removed = true
        XCTAssertFalse(CgroupDiscovery(layout: layout).allCgroups().contains { $0.id == id }, "a removed cgroup is not found")
    }

    private static func writeFile(_ path: String, _ text: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let n = text.withCString { write(fd, $0, strlen($0)) }
        return n < 0 ? errno : 0
    }

    /// SIGKILLs every task in the cgroup, repeatedly, until it is empty.
    private static func killAll(in dir: String, shell: pid_t) {
        if shell > 0 { kill(shell, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard let text = try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8) else { return }
            let pids = text.split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        if shell > 0 { _ = Subprocess.wait(shell, timeout: 10) }
    }

    /// rmdir, retrying while exiting tasks still hold the cgroup (EBUSY).
    static func removeCgroup(_ dir: String) -> Int32 {
        let deadline = Date().addingTimeInterval(10)
        while true {
            if rmdir(dir) == 0 { return 0 }
            let code = errno
            if code != EBUSY || Date() >= deadline { return code }
            usleep(50_000)
        }
    }
}
