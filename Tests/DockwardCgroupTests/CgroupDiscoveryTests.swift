import DockwardCgroup
import DockwardCore
import XCTest

final class CgroupDiscoveryTests: XCTestCase {
    private func scan(_ tree: String) throws -> [DiscoveredCgroup] {
        CgroupDiscovery(layout: try CgroupLayoutDetector.detect(root: Fixtures.path(tree))).allCgroups()
    }

    private func id(_ hex: String) -> ContainerID { ContainerID(hex)! }

    func testV1Cgroupfs() throws {
        let base = Fixtures.path("v1-cgroupfs/pids/docker/")
        XCTAssertEqual(try scan("v1-cgroupfs"), [
            DiscoveredCgroup(id: id("12a5e0e9e8d015f1e1038d1962eaab5c750b4767ec428333871ca0f1d1e7b387"),
                             path: base + "12a5e0e9e8d015f1e1038d1962eaab5c750b4767ec428333871ca0f1d1e7b387",
                             driver: .cgroupfs),
            DiscoveredCgroup(id: id("39f5125692f53526de042696a463a39379551b565862c97363be98cc54535268"),
                             path: base + "39f5125692f53526de042696a463a39379551b565862c97363be98cc54535268",
                             driver: .cgroupfs),
        ])
    }

    func testV1Systemd() throws {
        let hex = "33bf693c69a8c16687e2b3ba5b49411e2df9688b054afde66db1e23ed2f7e1e6"
        XCTAssertEqual(try scan("v1-systemd"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("v1-systemd/pids/system.slice/docker-\(hex).scope"),
                             driver: .systemd),
        ])
    }

    func testV2Cgroupfs() throws {
        let hex = "d41254dfe5bf4ecd4b67439e8a881f95b3d7689ab8f188f6aa8bd4d02ecc5f6a"
        XCTAssertEqual(try scan("v2-cgroupfs"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("v2-cgroupfs/docker/\(hex)"), driver: .cgroupfs),
        ])
    }

    func testV2Systemd() throws {
        let hex = "35f95d053f6256a15931ba759eaadd3d9b59d74aa47e730a1cd95832a717472e"
        XCTAssertEqual(try scan("v2-systemd"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("v2-systemd/system.slice/docker-\(hex).scope"),
                             driver: .systemd),
        ])
    }

    func testV2RootlessAtBothDepths() throws {
        let shallow = "2e042e3379bebd9cada7c03f7c6167414506197d6a5963a3746fe0ec4c31a807"
        let deep = "e14880c324c0bf462d0e643b5d6181e867e551b3f8eef2a7fee04a029a3cfdcb"
        let userSlice = Fixtures.path("v2-rootless/user.slice")
        XCTAssertEqual(try scan("v2-rootless"), [
            DiscoveredCgroup(id: id(shallow),
                             path: userSlice + "/user-1000.slice/user@1000.service/docker-\(shallow).scope",
                             driver: .rootless),
            DiscoveredCgroup(id: id(deep),
                             path: userSlice + "/user-1001.slice/user@1001.service/user.slice/docker-\(deep).scope",
                             driver: .rootless),
        ])
    }

    func testHybridWithPidsOnUnified() throws {
        let hex = "0deac0a26c0d846d7869c23130c6346c4040904a4134bb2f40a8c206a03748ed"
        XCTAssertEqual(try scan("hybrid"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("hybrid/unified/system.slice/docker-\(hex).scope"),
                             driver: .systemd),
        ])
    }

    func testHybridWithPidsOnV1() throws {
        let hex = "83cdd54360f4c71c1443cd28c4a97ea77afb6ece5b783958e6cb96cc596c476e"
        XCTAssertEqual(try scan("hybrid-v1pids"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("hybrid-v1pids/pids/docker/\(hex)"), driver: .cgroupfs),
        ])
    }

    func testLookalikesAreIgnored() throws {
        let hex = "5632611f5a4d97b8210b8c8aa8c7a43e2ec727534af6787a481bfce55d3ed127"
        XCTAssertEqual(try scan("lookalikes"), [
            DiscoveredCgroup(id: id(hex), path: Fixtures.path("lookalikes/docker/\(hex)"), driver: .cgroupfs),
        ])
    }

    func testMissingParentsGiveNothing() throws {
        let dir = try makeTempDir(self)
        XCTAssertEqual(CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: dir)).allCgroups(), [])
        let gone = CgroupLayout(version: .v1, hierarchyRoot: dir + "/not-there")
        XCTAssertEqual(CgroupDiscovery(layout: gone).allCgroups(), [])
    }

    func testScanSeesContainersComeAndGo() throws {
        let dir = try makeTempDir(self)
        let discovery = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: dir))
        let hex = String(repeating: "ab", count: 32)
        try writePidsFiles(dir + "/docker/" + hex)
        XCTAssertEqual(discovery.allCgroups().map(\.id), [id(hex)])
        try FileManager.default.removeItem(atPath: dir + "/docker/" + hex)
        XCTAssertEqual(discovery.allCgroups(), [])
    }

    func testSymlinkedParentIsFollowed() throws {
        // A host tree bind-mounted or linked elsewhere must still be scanned.
        let dir = try makeTempDir(self)
        let hex = String(repeating: "cd", count: 32)
        try writePidsFiles(dir + "/real/" + hex)
        try FileManager.default.createDirectory(atPath: dir + "/root", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/root/docker", withDestinationPath: dir + "/real")
        let found = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: dir + "/root")).allCgroups()
        XCTAssertEqual(found, [DiscoveredCgroup(id: id(hex), path: dir + "/root/docker/" + hex, driver: .cgroupfs)])
    }
}
