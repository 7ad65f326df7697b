import DockwardCgroup
import DockwardCore
import DockwardEngines
import Foundation
import XCTest

/// dockward's own container, as `/proc/self/cgroup` names it, through every
/// registered engine's naming: v1 and v2, cgroupfs and systemd drivers,
/// Docker, Podman, containerd under Kubernetes.
final class OwnContainerTests: XCTestCase {
    let names = Engines.cgroupNames()
    let id = String(repeating: "ab12", count: 16)
    let other = String(repeating: "cd34", count: 16)

    func parse(_ text: String) -> OwnContainer? { OwnContainer.parse(procSelfCgroup: text, names: names) }

    func testDockerCgroupfsOnV1() {
        let text = """
            12:pids:/docker/\(id)
            11:memory:/docker/\(id)
            1:name=systemd:/docker/\(id)
            0::/docker/\(id)

            """
        XCTAssertEqual(parse(text), OwnContainer(id: ContainerID(id)!, cgroupPath: "/docker/\(id)"))
    }

    func testDockerSystemdDriverOnV2() {
        XCTAssertEqual(parse("0::/system.slice/docker-\(id).scope\n")?.id, ContainerID(id))
    }

    func testDockerSystemdDriverOnV1() {
        let text = """
            5:pids:/system.slice/docker-\(id).scope
            1:name=systemd:/system.slice/docker-\(id).scope
            0::/system.slice/docker-\(id).scope
            """
        XCTAssertEqual(parse(text)?.cgroupPath, "/system.slice/docker-\(id).scope")
    }

    func testPodmanUnderCrunsContainerSubfolder() {
        XCTAssertEqual(parse("0::/machine.slice/libpod-\(id).scope/container\n")?.id, ContainerID(id))
    }

    func testContainerdUnderKubeletSystemdDriver() {
        let path = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-\(id).scope"
        XCTAssertEqual(parse("0::\(path)\n"), OwnContainer(id: ContainerID(id)!, cgroupPath: path))
    }

    func testContainerdUnderKubeletCgroupfsDriver() {
        let text = "12:pids:/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/\(id)\n"
        XCTAssertEqual(parse(text)?.id, ContainerID(id))
    }

    /// A private cgroup namespace shows the container's own cgroup as `/`:
    /// nothing names it, so nothing is exempted.
    func testPrivateCgroupNamespaceNamesNone() {
        XCTAssertNil(parse("0::/\n"))
        XCTAssertNil(parse("12:pids:/\n0::/\n"))
    }

    func testNamespaceRootIsEveryPathSlash() {
        XCTAssertTrue(OwnContainer.isNamespaceRoot(procSelfCgroup: "0::/\n"))
        XCTAssertTrue(OwnContainer.isNamespaceRoot(procSelfCgroup: "12:pids:/\n1:name=systemd:/\n0::/\n"))
        XCTAssertFalse(OwnContainer.isNamespaceRoot(procSelfCgroup: "0::/system.slice/dockward.service\n"))
        XCTAssertFalse(OwnContainer.isNamespaceRoot(procSelfCgroup: ""))
    }

    /// A process on the host (a service's cgroup, a user session) is in no container.
    func testHostProcessesAreInNone() {
        XCTAssertNil(parse("0::/system.slice/dockward.service\n"))
        XCTAssertNil(parse("0::/user.slice/user-0.slice/session-3.scope\n"))
        XCTAssertNil(parse("12:pids:/\n1:name=systemd:/init.scope\n"))
        XCTAssertNil(parse(""))
    }

    /// Names that only look like an id (a short id, upper case, a suffix
    /// an engine does not use) name nothing.
    func testLookalikesNameNone() {
        XCTAssertNil(parse("0::/docker/\(id.prefix(12))\n"))
        XCTAssertNil(parse("0::/system.slice/docker-\(id.uppercased()).scope\n"))
        XCTAssertNil(parse("0::/system.slice/docker-\(id).service.d\n"))
        XCTAssertNil(parse("garbage without colons\n"))
    }

    /// Nested: the innermost container is the one dockward runs in.
    func testNestedTakesTheInnermost() {
        XCTAssertEqual(parse("0::/docker/\(other)/docker/\(id)\n")?.id, ContainerID(id))
    }

    /// Hierarchies that disagree (a process moved between reads): no answer
    /// rather than a guess.
    func testDisagreeingLinesNameNone() {
        XCTAssertNil(parse("12:pids:/docker/\(id)\n0::/docker/\(other)\n"))
    }
}

/// The search of the host's tree for the cgroup that lists dockward's own
/// pid, on fixture trees (v1 and v2 shapes, crun's subfolder, a lookalike
/// container listing other pids).
final class OwnContainerSearchTests: XCTestCase {
    let names = Engines.cgroupNames()
    let id = String(repeating: "ab12", count: 16)
    let other = String(repeating: "cd34", count: 16)
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "dockward-own-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        addTeardownBlock { [root] in try? FileManager.default.removeItem(atPath: root!) }
    }

    func cgroup(_ path: String, procs: String) throws {
        let dir = root + "/" + path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try procs.write(toFile: dir + "/cgroup.procs", atomically: true, encoding: .utf8)
    }

    /// containerd under kubelet (systemd driver), cgroup v2: another pod's
    /// processes read as 0, dockward's as its own pid (1 in its namespace).
    func testKubeletPodOnV2() throws {
        let pod = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice"
        try cgroup("\(pod)/cri-containerd-\(other).scope", procs: "0\n0\n")
        try cgroup("\(pod)/cri-containerd-\(id).scope", procs: "1\n7\n")
        try cgroup("system.slice/containerd.service", procs: "0\n")
        let found = OwnContainerSearch.find(pid: 1, hierarchyRoot: root, names: names)
        XCTAssertEqual(found, OwnContainer(id: ContainerID(id)!, cgroupPath: "/\(pod)/cri-containerd-\(id).scope"))
    }

    /// Docker's cgroupfs driver on v1 (another namespace's processes are
    /// not listed), and crun's `container` subfolder under Podman.
    func testDockerV1AndCrunSubfolder() throws {
        try cgroup("docker/\(other)", procs: "")
        try cgroup("docker/\(id)", procs: "1\n")
        XCTAssertEqual(OwnContainerSearch.find(pid: 1, hierarchyRoot: root, names: names)?.id, ContainerID(id))

        try FileManager.default.removeItem(atPath: root + "/docker")
        try cgroup("machine.slice/libpod-\(id).scope", procs: "")
        try cgroup("machine.slice/libpod-\(id).scope/container", procs: "4242\n")
        XCTAssertEqual(OwnContainerSearch.find(pid: 4242, hierarchyRoot: root, names: names)?.id, ContainerID(id))
    }

    /// A folder that names no container, or no folder listing the pid: none.
    func testNoContainerListsThePid() throws {
        try cgroup("system.slice/dockward.service", procs: "1\n")
        try cgroup("docker/\(other)", procs: "12\n")
        XCTAssertNil(OwnContainerSearch.find(pid: 1, hierarchyRoot: root, names: names))
        XCTAssertNil(OwnContainerSearch.find(pid: 1, hierarchyRoot: root + "/missing", names: names))
    }
}
