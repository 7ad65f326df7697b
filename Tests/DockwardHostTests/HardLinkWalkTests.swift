@testable import DockwardHost
import DockwardCore
import DockwardSystem
import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// The real walk for a socket's other names (`HostPaths.otherNames`) on a
/// real tree in a temp folder: a real Unix socket, hard links made with
/// link(2), and tmpfs mounts (as root) for the mount boundary.
final class HardLinkWalkTests: XCTestCase {
    private var root = ""
    private var socketFD: Int32 = -1
    private var mounts: [String] = []

    override func setUpWithError() throws {
        var template = Array("/tmp/dockward-links-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw XCTSkip("mkdtemp failed: errno \(errno)")
        }
        root = String(cString: made)
    }

    override func tearDown() {
        if socketFD >= 0 { close(socketFD) }
        // Unmount first: the tree cannot be removed around a mount point.
        for mountPoint in mounts.reversed() where umount2(mountPoint, Int32(MNT_DETACH)) != 0 {
            XCTFail("cannot unmount \(mountPoint): errno \(errno)")
        }
        try? FileManager.default.removeItem(atPath: root)
        super.tearDown()
    }

    // MARK: Building the tree

    private func makeFolders(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/" + relative, withIntermediateDirectories: true)
    }

    /// A Unix socket bound at `relative` (bind(2) makes the file), with its identity.
    private func makeSocket(_ relative: String) throws -> (path: String, identity: FileIdentity) {
        let path = root + "/" + relative
        try makeFolders((relative as NSString).deletingLastPathComponent)
        switch UnixSocket.open(path, .bind) {
        case .success(let fd): socketFD = fd
        case .failure(let error): XCTFail("cannot bind \(path): \(error)"); throw error
        }
        let identity = try XCTUnwrap(HostPaths().identity(path), "the socket file is there")
        return (path, identity)
    }

    /// A hard link to `target` at `relative` (its folders made); its path.
    @discardableResult
    private func link(_ target: String, at relative: String) throws -> String {
        let path = root + "/" + relative
        try makeFolders((relative as NSString).deletingLastPathComponent)
        XCTAssertEqual(Glibc.link(target, path), 0, "link(2) \(path): errno \(errno)")
        return path
    }

    private func makeFiles(_ count: Int, in relative: String, prefix: String = "filler") throws {
        try makeFolders(relative)
        for i in 0..<count {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/\(relative)/\(prefix)-\(i)", contents: nil))
        }
    }

    /// A tmpfs at `relative` (a new folder), unmounted in teardown. Needs
    /// root (CAP_SYS_ADMIN): skips without it, fails in CI.
    private func mountTmpfs(_ relative: String) throws {
        let path = root + "/" + relative
        try makeFolders(relative)
        try TestEnvironment.require(geteuid() == 0, "mounting a tmpfs needs root; run the tests as root for the mount boundary")
        guard mount("tmpfs", path, "tmpfs", 0, "size=4m,mode=0700") == 0 else {
            let code = errno
            try TestEnvironment.skipOrFailInCI("cannot mount a tmpfs at \(path): \(String(cString: strerror(code))) (errno \(code))")
        }
        mounts.append(path)
        XCTAssertNotEqual(HostPaths().identity(path)?.device, HostPaths().identity(root)?.device, "a filesystem of its own")
    }

    // MARK: The walk

    func testFindsEveryOtherNameOfAHardLinkedSocket() throws {
        let socket = try makeSocket("s/docker.sock")
        let alias = try link(socket.path, at: "s/alias.sock")
        let near = try link(socket.path, at: "n/near.sock")
        let far = try link(socket.path, at: "f/g/h/far.sock")
        XCTAssertEqual(HostPaths().linkCount(socket.path), 4)

        let names = HostPaths().otherNames(of: socket.path, identity: socket.identity, wanted: 3)

        XCTAssertEqual(names, [alias, far, near].sorted(), "every other name, and not the socket's own")
    }

    /// Breadth first, from the socket's own folder up. Of the three folders
    /// beside s, the near link goes into the one readdir lists second, so a
    /// depth-first walk (whether it takes the first folder listed or the
    /// last) meets a deep branch before it. The entries before the near link:
    /// s (3: `.`, `..`, the socket), the root without s (6: `.`, `..`, s and
    /// the three), the first folder (3) and the middle one (3, the link last
    /// at worst): 15. A far link, three folders down, comes after all the
    /// folders two down.
    func testNearestFoldersComeFirst() throws {
        let socket = try makeSocket("s/docker.sock")
        for name in ["a", "b", "c"] { try makeFolders(name) }
        var listed: [String] = []
        Directory.forEachEntry(in: root) { entry in
            if ["a", "b", "c"].contains(entry.name) { listed.append(entry.name) }
            return true
        }
        guard listed.count == 3 else { return XCTFail("readdir listed \(listed) of a, b and c") }
        let near = try link(socket.path, at: "\(listed[1])/near.sock")
        let farFirst = try link(socket.path, at: "\(listed[0])/g/h/far.sock")
        let farLast = try link(socket.path, at: "\(listed[2])/g/h/far.sock")

        let cut = HostPaths(hardLinkSearchBudget: 15).searchOtherNames(of: socket.path, identity: socket.identity, wanted: 3)
        XCTAssertEqual(cut.names, [near], "the near link within 15 entries, the far ones beyond them")

        let whole = HostPaths().searchOtherNames(of: socket.path, identity: socket.identity, wanted: 3)
        XCTAssertEqual(whole.names, [farFirst, farLast, near].sorted())
        XCTAssertLessThanOrEqual(whole.visited, 15 + 3 + 3 * 2 + 3 * 2, "the walk stops at the last name wanted")
    }

    /// Observed two ways: the walk reports exactly the budget as visited,
    /// and a link past the budget is not found. The socket's own folder has
    /// 103 entries (`.`, `..`, the socket, 100 files), so a budget of 103
    /// ends the walk before the root and n.
    func testTheBudgetIsHonoured() throws {
        let socket = try makeSocket("s/docker.sock")
        try makeFiles(100, in: "s")
        let beyond = try link(socket.path, at: "n/beyond.sock")

        let cut = HostPaths(hardLinkSearchBudget: 103).searchOtherNames(of: socket.path, identity: socket.identity, wanted: 1)
        XCTAssertEqual(cut.visited, 103)
        XCTAssertEqual(cut.names, [], "the link lies past the budget")

        let whole = HostPaths().searchOtherNames(of: socket.path, identity: socket.identity, wanted: 1)
        XCTAssertEqual(whole.names, [beyond])
        XCTAssertLessThanOrEqual(whole.visited, 103 + 4 + 3, "s, the root without s (`.`, `..`, s, n), n")
    }

    /// A tmpfs beside the link's folder holds 300 files, one with the link's
    /// name: the walk visits only the 14 entries of its own filesystem (s 3,
    /// the root without s 5: `.`, `..`, s, z, mnt; z 3; z/zz 3), the mount
    /// point as a name but nothing under it.
    func testDoesNotDescendIntoAnotherMount() throws {
        let socket = try makeSocket("s/docker.sock")
        let linked = try link(socket.path, at: "z/zz/linked.sock")
        try mountTmpfs("mnt")
        try makeFiles(300, in: "mnt")
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/mnt/linked.sock", contents: nil))

        let search = HostPaths().searchOtherNames(of: socket.path, identity: socket.identity, wanted: 1)

        XCTAssertEqual(search.names, [linked])
        XCTAssertLessThanOrEqual(search.visited, 14, "nothing under the tmpfs at mnt is visited")
    }

    /// A socket on a tmpfs mounted in the tree: the walk goes up to the top
    /// of that tmpfs (s 3, then its top without s 3) and no further, though
    /// the budget would allow more.
    func testStopsAtTheTopOfItsFilesystem() throws {
        try mountTmpfs("m")
        let socket = try makeSocket("m/s/docker.sock")

        let search = HostPaths(hardLinkSearchBudget: 10_000)
            .searchOtherNames(of: socket.path, identity: socket.identity, wanted: 1)

        XCTAssertEqual(search.names, [])
        XCTAssertEqual(search.visited, 6, "only the tmpfs's own entries")
    }
}
