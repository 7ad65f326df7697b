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
        let shell = Process()
        var removed = false
        defer {
            Self.killAll(in: dir, shell: shell)
            if !removed { _ = Self.removeCgroup(dir) }
        }

        let files = try PidsCounterFiles(directory: dir)
        defer { files.close() }
        XCTAssertEqual(try files.read().current, 0)
        XCTAssertEqual(try files.read().limit, PidsSample.unlimited)
        XCTAssertEqual(Self.writeFile(dir + "/pids.max", "5\n"), 0)

        // dash gives up at the first refused fork; the sleeps it started stay in the cgroup.
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "echo $$ > \(dir)/cgroup.procs || exit 1; for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait"]
        shell.standardError = FileHandle.nullDevice
        try shell.run()

        var sample = try files.read()
        let deadline = Date().addingTimeInterval(10)
        while sample.refusedForks == 0 && Date() < deadline {
            usleep(20_000)
            sample = try files.read()
        }
        print("real kernel sample with pids.max=5: \(sample)")
        XCTAssertEqual(sample.limit, 5)
        XCTAssertGreaterThan(sample.refusedForks, 0)
        XCTAssertTrue((1...5).contains(sample.current), "current \(sample.current)")
        if let peak = sample.peak {
            XCTAssertEqual(peak, 5, "the shell plus four sleeps reached the limit")
        }

        Self.killAll(in: dir, shell: shell)
        let drained = Date().addingTimeInterval(10)
        while try files.read().current > 0 && Date() < drained { usleep(20_000) }
        XCTAssertEqual(Self.removeCgroup(dir), 0, "rmdir \(dir)")
        removed = true

        // The kernel answers reads on the kept-open files of a removed cgroup with ENODEV.
        XCTAssertThrowsError(try files.read()) { error in
            print("read after rmdir: \(error)")
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
        XCTAssertThrowsError(try PidsCounterFiles(directory: dir)) { error in
            XCTAssertEqual(error as? CgroupReadError, .vanished(path: dir))
        }
    }

    /// Discovery on the real tree must at least not fail, whatever containers run.
    func testDiscoveryOnTheRealTree() throws {
        guard let layout = try? CgroupLayoutDetector.detect(root: "/sys/fs/cgroup") else {
            throw XCTSkip("no pids controller under /sys/fs/cgroup")
        }
        for found in CgroupDiscovery(layout: layout).scan() {
            XCTAssertTrue(found.path.hasPrefix(layout.hierarchyRoot + "/"))
        }
    }

    private static func writeFile(_ path: String, _ text: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let n = text.withCString { write(fd, $0, strlen($0)) }
        return n < 0 ? errno : 0
    }

    /// SIGKILLs every task in the cgroup, repeatedly, until it is empty.
    private static func killAll(in dir: String, shell: Process) {
        if shell.isRunning { kill(shell.processIdentifier, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard let text = try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8) else { return }
            let pids = text.split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        if shell.processIdentifier > 0 { shell.waitUntilExit() }
    }

    /// rmdir, retrying while exiting tasks still hold the cgroup (EBUSY).
    private static func removeCgroup(_ dir: String) -> Int32 {
        let deadline = Date().addingTimeInterval(10)
        while true {
            if rmdir(dir) == 0 { return 0 }
            let code = errno
            if code != EBUSY || Date() >= deadline { return code }
            usleep(50_000)
        }
    }
}
