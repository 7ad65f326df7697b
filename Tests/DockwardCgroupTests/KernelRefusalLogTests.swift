@testable import DockwardCgroup
import DockwardCore
import Foundation
import Glibc
import XCTest

/// The kernel's "fork rejected by pids controller" lines, as /dev/kmsg,
/// dmesg and the journal show them, and everything that is not one.
final class KernelRefusalLogTests: XCTestCase {
    static let id = "469a892aa9e641712ed1e5d1f6b515fec7c75157a80d7f8ec4e24c17ef001fbd"

    func testRefusalRecordsInEveryShape() {
        let kmsg = "6,369,1307551976,-;cgroup: fork rejected by pids controller in /docker/\(Self.id)"
        XCTAssertEqual(KernelRefusalLog.refusedCgroup(inRecord: Substring(kmsg)), Substring("/docker/\(Self.id)"))
        let withFields = "6,369,1307551976,-,caller=T1234;cgroup: fork rejected by pids controller in /docker/\(Self.id)"
        XCTAssertEqual(KernelRefusalLog.refusedCgroup(inRecord: Substring(withFields)), Substring("/docker/\(Self.id)"))
        let dmesg = "cgroup: fork rejected by pids controller in /system.slice/docker-\(Self.id).scope"
        XCTAssertEqual(KernelRefusalLog.refusedCgroup(inRecord: Substring(dmesg)),
                       Substring("/system.slice/docker-\(Self.id).scope"))
    }

    func testOtherLinesAreNotRefusals() {
        for line in [
            "6,370,1367701586,-;eth0: link up",
            " SUBSYSTEM=cgroup",                                          // a dictionary line
            "4,371,1,-;audit: comm=\"x\" cgroup: fork rejected by pids controller in /docker/\(Self.id)",  // quoted, not the text
            "6,372,1,-;cgroup: fork rejected by pids controller in ",      // truncated: no path
            "6,373,1,-;cgroup: fork rejected by pids controller in docker", // not a path
            "",
        ] {
            XCTAssertNil(KernelRefusalLog.refusedCgroup(inRecord: Substring(line)), line)
        }
    }

    func testContainerFromTheCgroupPath() throws {
        let id = ContainerID(Self.id)
        let place = { (path: String) in ContainerCgroupPath(Substring(path)) }
        XCTAssertEqual(place("/docker/\(Self.id)")?.id, id)
        XCTAssertEqual(place("/system.slice/docker-\(Self.id).scope")?.id, id)
        XCTAssertEqual(place("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-\(Self.id).scope")?.id, id)
        XCTAssertNil(place("/dockward-test-12447416558195105468"), "not a container")
        XCTAssertNil(place("/docker/buildkit"))
        XCTAssertNil(place("/docker/\(Self.id.prefix(63))"))

        // A custom parent, and a cgroup inside the container's: the
        // container's part is up to the component naming it.
        let sub = try XCTUnwrap(place("/acme.slice/docker-\(Self.id).scope/init.scope"))
        XCTAssertEqual(sub.id, id)
        XCTAssertEqual(sub.container, "/acme.slice/docker-\(Self.id).scope")
        XCTAssertEqual(sub.full, "/acme.slice/docker-\(Self.id).scope/init.scope")
        XCTAssertTrue(sub.isBelowContainer)
        let custom = try XCTUnwrap(place("/acme/\(Self.id)"))
        XCTAssertEqual(custom.container, "/acme/\(Self.id)")
        XCTAssertFalse(custom.isBelowContainer)
        // Docker in Docker: the inner container forked.
        let inner = String(repeating: "b", count: 64)
        let nested = try XCTUnwrap(place("/docker/\(Self.id)/docker/\(inner)"))
        XCTAssertEqual(nested.id, ContainerID(inner))
        XCTAssertEqual(nested.container, "/docker/\(Self.id)/docker/\(inner)")
        // Outside the reader's cgroup namespace: not a path under the hierarchy.
        XCTAssertNil(place("/../docker/\(Self.id)"))
    }

    /// Through a FIFO (the same reads as /dev/kmsg, several records a read):
    /// refusals come out in order, other lines are skipped.
    func testDrainReadsEveryRecordAvailable() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/kmsg"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let writer = open(path, O_RDWR | O_CLOEXEC)
        defer { close(writer) }
        let log = try KernelRefusalLog(path: path)
        var seen: [String] = []
        XCTAssertEqual(log.drain { seen.append(String($0)) }, .drained, "nothing yet")
        let text = """
            6,1,1,-;eth0: link up
            6,2,2,-;cgroup: fork rejected by pids controller in /docker/\(Self.id)
             SUBSYSTEM=cgroup
            6,3,3,-;cgroup: fork rejected by pids controller in /docker/abc

            """
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
        XCTAssertEqual(log.drain { seen.append(String($0)) }, .drained)
        XCTAssertEqual(seen, ["/docker/\(Self.id)", "/docker/abc"])
    }

    func testWithoutPermissionTheErrorSaysWhatIsNeeded() {
        let error = KernelRefusalLog.OpenError.notPermitted(path: "/dev/kmsg", errno: EPERM)
        XCTAssertEqual(error.description, "cannot read kernel messages at /dev/kmsg (Operation not permitted): reading them needs CAP_SYSLOG while kernel.dmesg_restrict=1")
        XCTAssertThrowsError(try KernelRefusalLog(path: "/nonexistent/kmsg"))
    }

    func testFileWatcherSeesCgroupsMadeAndRemovedInAParent() throws {
        let parent = try makeTempDir(self) + "/docker"
        XCTAssertEqual(mkdir(parent, 0o755), 0)
        let watcher = try XCTUnwrap(CgroupFileWatcher<String>())
        XCTAssertNotNil(watcher.watchFolder(parent, as: "docker"))
        var changed: [String] = []
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, [])
        XCTAssertEqual(mkdir(parent + "/a", 0o755), 0)
        XCTAssertEqual(mkdir(parent + "/b", 0o755), 0)
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, ["docker"], "two cgroups made, one change to look at")
        changed = []
        rmdir(parent + "/a")
        rmdir(parent + "/b")
        rmdir(parent)  // the parent itself goes: reported, then its watch ends
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, ["docker"])
        XCTAssertEqual(mkdir(parent, 0o755), 0)
        changed = []
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, [], "a new folder at the same path is not watched until asked")
    }

    func testFileWatcherSeesALimitWritten() throws {
        let dir = try makeTempDir(self)
        try writePidsFiles(dir, max: "100\n")
        let watcher = try XCTUnwrap(CgroupFileWatcher<String>())
        let wd = try XCTUnwrap(watcher.watchFile(dir + "/pids.max", as: "web"))
        var changed: [String] = []
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, [])
        try write("200\n", to: dir + "/pids.max")
        try write("300\n", to: dir + "/pids.max")
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, ["web"], "two writes, one change to read")
        watcher.unwatch(wd)
        try write("400\n", to: dir + "/pids.max")
        changed = []
        watcher.drain { changed.append($0) }
        XCTAssertEqual(changed, [])
    }
}
