import DockwardJournal
import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// The kernel's refusal line, as journald imports it from /dev/kmsg, read
/// live through libsystemd: a real refused fork in a cgroup made here.
final class JournalKernelLinesTests: XCTestCase {
    static let v1Pids = "/sys/fs/cgroup/pids"

    func testARealRefusalArrivesThroughTheJournal() throws {
        try TestEnvironment.require(FileManager.default.fileExists(atPath: "/run/systemd/journal/socket"),
                                    "journald (scripts/test-services.sh start)")
        try TestEnvironment.require(FileManager.default.fileExists(atPath: Self.v1Pids + "/cgroup.procs"),
                                    "a v1 pids hierarchy at \(Self.v1Pids)")
        try TestEnvironment.require(geteuid() == 0, "root (to make a cgroup and read the system journal)")
        let lines = try JournalKernelLines()
        var seen: [String] = []
        lines.readNew { seen.append(String($0)) }  // history is not read: it starts at the end
        let name = "dockward-jk-\(UInt64.random(in: 0...UInt64.max))"
        let dir = Self.v1Pids + "/" + name
        XCTAssertEqual(mkdir(dir, 0o755), 0, "mkdir \(dir)")
        defer { rmdir(dir) }
        try "1\n".write(toFile: dir + "/pids.max", atomically: false, encoding: .utf8)
        // The shell joins the cgroup, then its fork for `true` is refused (pids.max=1).
        let run = try Subprocess.run("/bin/sh", ["-c", "echo $$ > \(dir)/cgroup.procs && /bin/true"], timeout: 10)
        XCTAssertNotEqual(run.status, 0, "the fork must have been refused: \(run.output)")
        let deadline = Date().addingTimeInterval(10)
        while !seen.contains(where: { $0.contains(name) }) && Date() < deadline {
            usleep(50_000)
            lines.readNew { seen.append(String($0)) }
        }
        XCTAssertTrue(seen.contains("cgroup: fork rejected by pids controller in /\(name)"), "\(seen.suffix(5))")
    }
}
