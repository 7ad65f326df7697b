import DockwardCgroup
import DockwardCore
import DockwardEngines
import XCTest

/// Podman's cgroups as its managers lay them out (from its source and runs
/// on this machine and in the cgroup v2 guest): every container found, the
/// monitor's scope not taken for one, the limit where crun puts it.
final class PodmanDiscoveryTests: XCTestCase {
    private let a = String(repeating: "a1", count: 32)
    private let b = String(repeating: "b2", count: 32)
    private let c = String(repeating: "c3", count: 32)
    private let d = String(repeating: "d4", count: 32)

    private func pids(_ dir: String, max: String = "max") throws { try writePidsFiles(dir, max: max + "\n") }

    func testCgroupfsManagerOnV1() throws {
        let root = try makeTempDir(self)
        try pids(root + "/libpod_parent/libpod-\(a)", max: "2048")
        try pids(root + "/libpod_parent/conmon")  // conmon's own cgroup, not a container
        let found = CgroupDiscovery(layout: CgroupLayout(version: .v1, hierarchyRoot: root)).allCgroups()
        XCTAssertEqual(found, [DiscoveredCgroup(id: ContainerID(a)!, path: root + "/libpod_parent/libpod-\(a)", driver: .cgroupfs)])
    }

    func testSystemdManagerOnV2WithCrunsContainerCgroupAndAPod() throws {
        let root = try makeTempDir(self)
        let machine = root + "/machine.slice"
        try pids(machine + "/libpod-\(a).scope", max: "3511")
        try pids(machine + "/libpod-\(a).scope/container", max: "2048")  // crun: the limit is here
        try pids(machine + "/libpod-conmon-\(a).scope", max: "3511")     // the monitor, same id
        try pids(machine + "/libpod-\(b).scope", max: "50")               // runc: no container cgroup
        try pids(machine + "/machine-libpod_pod_\(d).slice/libpod-\(c).scope", max: "3511")
        try pids(machine + "/machine-libpod_pod_\(d).slice/libpod-\(c).scope/container", max: "100")
        let found = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: root)).allCgroups()
        XCTAssertEqual(found, [
            DiscoveredCgroup(id: ContainerID(a)!, path: machine + "/libpod-\(a).scope/container", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(b)!, path: machine + "/libpod-\(b).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(c)!, path: machine + "/machine-libpod_pod_\(d).slice/libpod-\(c).scope/container",
                             driver: .systemd),
        ])
    }

    func testRootlessPodmanUnderTheUserManager() throws {
        let root = try makeTempDir(self)
        let user = root + "/user.slice/user-1000.slice/user@1000.service/user.slice"
        try pids(user + "/libpod-\(a).scope", max: "10000")
        try pids(user + "/libpod-\(a).scope/container", max: "2048")
        try pids(user + "/libpod-conmon-\(a).scope")
        let found = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: root)).allCgroups()
        XCTAssertEqual(found, [DiscoveredCgroup(id: ContainerID(a)!, path: user + "/libpod-\(a).scope/container", driver: .rootless)])
    }

    func testNamesTheKernelPrints() throws {
        let scope = try XCTUnwrap(ContainerCgroupPath("/machine.slice/libpod-\(a).scope/container"))
        XCTAssertEqual(scope.id, ContainerID(a))
        XCTAssertEqual(scope.container, "/machine.slice/libpod-\(a).scope")
        XCTAssertEqual(ContainerCgroupPath("/libpod_parent/libpod-\(a)")?.id, ContainerID(a))
        XCTAssertNil(ContainerCgroupPath("/machine.slice/libpod-conmon-\(a).scope"), "the monitor is no container")
        XCTAssertNil(ContainerCgroupPath("/libpod_parent/conmon"))
        XCTAssertEqual(Engines.cgroupNames().containerID(inName: "libpod-\(a)"), ContainerID(a))
        XCTAssertNil(Engines.cgroupNames().containerID(inName: "libpod-\(a.prefix(63))"))
    }
}
