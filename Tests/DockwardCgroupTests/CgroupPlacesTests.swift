import DockwardCgroup
import DockwardCore
import XCTest

/// Where a container's cgroup is and which limit refused, on hand-built
/// trees of every shape: a slice above with a lower `pids.max`, a cgroup
/// inside the container's, a custom parent, both counting semantics.
final class CgroupPlacesTests: XCTestCase {
    static let id = "5b1e2f4a" + String(repeating: "0c", count: 28)

    func testProcessCgroupPicksThePidsHierarchysLine() {
        let hybrid = """
            12:pids:/docker/\(Self.id)
            11:cpu,cpuacct:/docker/\(Self.id)
            1:name=systemd:/docker/\(Self.id)
            0::/system.slice/containerd.service

            """
        XCTAssertEqual(ProcessCgroup.pidsPath(inFile: hybrid, version: .v1), "/docker/\(Self.id)")
        XCTAssertEqual(ProcessCgroup.pidsPath(inFile: hybrid, version: .v2), "/system.slice/containerd.service")
        let unified = "0::/acme.slice/docker-\(Self.id).scope\n"
        XCTAssertEqual(ProcessCgroup.pidsPath(inFile: unified, version: .v2), "/acme.slice/docker-\(Self.id).scope")
        XCTAssertNil(ProcessCgroup.pidsPath(inFile: unified, version: .v1), "no pids line on v1")
        XCTAssertNil(ProcessCgroup.pidsPath(inFile: "garbage\n3:pids\n", version: .v1))
    }

    func testProcessCgroupReadsProcAndMissesAGoneProcess() throws {
        let proc = try makeTempDir(self)
        try write("0::/acme.slice/docker-\(Self.id).scope\n", to: proc + "/4242/cgroup")
        XCTAssertEqual(ProcessCgroup.pidsPath(ofProcess: 4242, procRoot: proc, version: .v2), "/acme.slice/docker-\(Self.id).scope")
        XCTAssertNil(ProcessCgroup.pidsPath(ofProcess: 4243, procRoot: proc, version: .v2))
        XCTAssertNil(ProcessCgroup.pidsPath(ofProcess: 0, procRoot: proc, version: .v2))
    }

    func testDriverFromThePath() {
        XCTAssertEqual(CgroupDriver(cgroupPath: "/sys/fs/cgroup/acme.slice/docker-\(Self.id).scope"), .systemd)
        XCTAssertEqual(CgroupDriver(cgroupPath: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/docker-\(Self.id).scope"), .rootless)
        XCTAssertEqual(CgroupDriver(cgroupPath: "/sys/fs/cgroup/pids/acme/\(Self.id)"), .cgroupfs)
    }

    func testLocalEventsMountOption() {
        let info = """
            35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot,pids_localevents
            36 24 0:31 / /sys/fs/other rw - tmpfs tmpfs rw

            """
        XCTAssertTrue(PidsEventCounting.mountsLocalEvents(mountInfo: info, at: "/sys/fs/cgroup"))
        XCTAssertFalse(PidsEventCounting.mountsLocalEvents(mountInfo: info, at: "/sys/fs/other"), "not cgroup2")
        let plain = "35 24 0:30 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
        XCTAssertFalse(PidsEventCounting.mountsLocalEvents(mountInfo: plain, at: "/sys/fs/cgroup"))
    }

    func testCountingSemantics() throws {
        let root = try makeTempDir(self)
        try write("pids\n", to: root + "/cgroup.controllers")
        let scope = root + "/system.slice/docker-\(Self.id).scope"
        try write("max 0\n", to: scope + "/pids.events")
        let v2 = CgroupLayout(version: .v2, hierarchyRoot: root)
        let mountInfo = root + "/mountinfo"
        try write("35 24 0:30 / \(root) rw - cgroup2 cgroup2 rw,nsdelegate\n", to: mountInfo)
        XCTAssertEqual(PidsEventCounting.detect(layout: v2, sampleCgroup: scope, mountInfo: mountInfo), .forking,
                       "before 6.11: no pids.events.local")
        try write("max 0\n", to: scope + "/pids.events.local")
        XCTAssertEqual(PidsEventCounting.detect(layout: v2, sampleCgroup: scope, mountInfo: mountInfo), .hierarchical)
        try write("35 24 0:30 / \(root) rw - cgroup2 cgroup2 rw,nsdelegate,pids_localevents\n", to: mountInfo)
        XCTAssertEqual(PidsEventCounting.detect(layout: v2, sampleCgroup: scope, mountInfo: mountInfo), .forking)
        XCTAssertEqual(PidsEventCounting.detect(layout: CgroupLayout(version: .v1, hierarchyRoot: root),
                                                sampleCgroup: scope, mountInfo: mountInfo), .forking)
    }

    /// A slice with TasksMax=40 above a container whose own limit is 200.
    private func sliceTree(localEvents: Bool) throws -> (root: String, container: String) {
        let root = try makeTempDir(self)
        let slice = root + "/acme.slice"
        let scope = slice + "/docker-\(Self.id).scope"
        try write("40\n", to: slice + "/pids.max")
        try write("40\n", to: slice + "/pids.current")
        try write("200\n", to: scope + "/pids.max")
        try write("39\n", to: scope + "/pids.current")
        if localEvents {
            try write("max 7\n", to: slice + "/pids.events.local")
            try write("max 0\n", to: scope + "/pids.events.local")
        }
        return (root, "/acme.slice/docker-\(Self.id).scope")
    }

    func testChainFindsTheSliceAboveBothWays() throws {
        for local in [false, true] {
            let tree = try sliceTree(localEvents: local)
            let read = try XCTUnwrap(CgroupLimitChain.read(root: tree.root, forking: tree.container, container: tree.container))
            XCTAssertEqual(read.chain.map(\.cgroup), [tree.container, "/acme.slice"])
            XCTAssertEqual(read.containerIndex, 0)
            XCTAssertEqual(read.chain[1].localRefusals, local ? 7 : nil)
            XCTAssertEqual(RefusingLimitFinder.find(chain: read.chain, containerIndex: read.containerIndex),
                           RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent), "pids.events.local: \(local)")
        }
    }

    func testChainFromACgroupInsideTheContainer() throws {
        let root = try makeTempDir(self)
        let scope = root + "/system.slice/docker-\(Self.id).scope"
        try write("max\n", to: root + "/system.slice/pids.max")
        try write("60\n", to: root + "/system.slice/pids.current")
        try write("50\n", to: scope + "/pids.max")
        try write("50\n", to: scope + "/pids.current")
        try write("max\n", to: scope + "/sub/pids.max")
        try write("49\n", to: scope + "/sub/pids.current")
        let container = "/system.slice/docker-\(Self.id).scope"
        let read = try XCTUnwrap(CgroupLimitChain.read(root: root, forking: container + "/sub", container: container))
        XCTAssertEqual(read.chain.map(\.cgroup), [container + "/sub", container, "/system.slice"])
        XCTAssertEqual(read.containerIndex, 1)
        XCTAssertNil(RefusingLimitFinder.find(chain: read.chain, containerIndex: read.containerIndex),
                     "the container's own limit refused the sub-cgroup's fork")

        // The sub-cgroup's own limit (an engine inside the container set it).
        try write("20\n", to: scope + "/sub/pids.max")
        try write("20\n", to: scope + "/sub/pids.current")
        try write("30\n", to: scope + "/pids.current")
        let again = try XCTUnwrap(CgroupLimitChain.read(root: root, forking: container + "/sub", container: container))
        XCTAssertEqual(RefusingLimitFinder.find(chain: again.chain, containerIndex: again.containerIndex),
                       RefusingLimit(cgroup: container + "/sub", limit: 20, place: .subgroup))
    }

    func testChainWithoutTheContainerIsNil() throws {
        let tree = try sliceTree(localEvents: false)
        XCTAssertNil(CgroupLimitChain.read(root: tree.root, forking: "/acme.slice", container: tree.container))
        XCTAssertNil(CgroupLimitChain.read(root: tree.root, forking: "/gone.slice/x", container: "/gone.slice/x"))
    }

    func testRefusalCounterFileCountsFromItsBaseAndKeepsWhatItCounted() throws {
        let dir = try makeTempDir(self)
        let file = dir + "/pids.events.local"
        try write("max 7\n", to: file)
        var counter = RefusalCounterFile(path: file, base: 7, alreadyCounted: 1)
        XCTAssertEqual(counter.refusals(), 1)
        try write("max 12\n", to: file)
        XCTAssertEqual(counter.refusals(), 6)
        try FileManager.default.removeItem(atPath: file)
        XCTAssertEqual(counter.refusals(), 6, "a cgroup gone keeps what it counted")
        XCTAssertNil(RefusalCounterFile.read(file))
    }

    func testLearnedParentsAreScanned() throws {
        let root = try makeTempDir(self)
        try write("pids\n", to: root + "/cgroup.controllers")
        let other = "a" + String(Self.id.dropFirst())
        try write("max\n", to: root + "/acme.slice/docker-\(Self.id).scope/pids.max")
        try write("max\n", to: root + "/acme.slice/libpod-conmon-\(other).scope/pids.max")
        try write("max\n", to: root + "/acme/\(other)/pids.max")
        let discovery = CgroupDiscovery(layout: try CgroupLayoutDetector.detect(root: root))
        XCTAssertEqual(discovery.allCgroups(), [], "no scan looks under acme.slice or acme")
        XCTAssertTrue(discovery.learnParent(root + "/acme.slice"))
        XCTAssertFalse(discovery.learnParent(root + "/acme.slice"), "once")
        XCTAssertTrue(discovery.learnParent(root + "/acme"))
        XCTAssertFalse(discovery.learnParent(root + "/system.slice"), "scanned anyway")
        XCTAssertFalse(discovery.learnParent(root + "/docker"), "scanned anyway")
        XCTAssertFalse(discovery.learnParent("/elsewhere/acme.slice"), "not under the hierarchy")
        XCTAssertEqual(discovery.allCgroups(), [
            DiscoveredCgroup(id: ContainerID(Self.id)!, path: root + "/acme.slice/docker-\(Self.id).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(other)!, path: root + "/acme/\(other)", driver: .cgroupfs),
        ].sorted { ($0.id, $0.path) < ($1.id, $1.path) })
        XCTAssertTrue(discovery.listedParents.contains(root + "/acme.slice"), "watched for new containers")
        XCTAssertEqual(discovery.relativePath(of: root + "/acme.slice"), "/acme.slice")
        XCTAssertEqual(discovery.directory(of: "/acme.slice"), root + "/acme.slice")
    }

    /// `HostConfig.CgroupParent` as the folder the container will sit in.
    func testTheFolderACgroupParentNames() {
        let discovery = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: "/sys/fs/cgroup"))
        let table: [(String, String?)] = [
            ("acme.slice", "/sys/fs/cgroup/acme.slice"),
            ("acme-web.slice", "/sys/fs/cgroup/acme.slice/acme-web.slice"),
            ("a-b-c.slice", "/sys/fs/cgroup/a.slice/a-b.slice/a-b-c.slice"),
            ("/acme", "/sys/fs/cgroup/acme"),
            ("acme/web/", "/sys/fs/cgroup/acme/web"),
            ("/acme/web.slice", "/sys/fs/cgroup/acme/web.slice"),
            ("", nil), ("/", nil), ("-.slice", nil), ("a--b.slice", nil), ("a-.slice", nil),
            ("/acme/../etc", nil), ("./acme", nil),
        ]
        for (parent, folder) in table {
            XCTAssertEqual(discovery.directory(ofCgroupParent: parent), folder, parent)
        }
    }
}
