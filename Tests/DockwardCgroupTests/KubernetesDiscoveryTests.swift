import DockwardCgroup
import DockwardCore
import DockwardEngines
import XCTest

/// Kubernetes nodes' cgroups as kubelet and each runtime lay them out
/// (containerd's CRI plugin and CRI-O; systemd and cgroupfs drivers; cgroup
/// v1 and v2): every container found down to its pod, the sandbox found as
/// any container (its metadata keeps it from being judged), CRI-O's
/// monitor never taken for one, kubelet's levels named.
final class KubernetesDiscoveryTests: XCTestCase {
    private let a = String(repeating: "a1", count: 32)
    private let b = String(repeating: "b2", count: 32)
    private let c = String(repeating: "c3", count: 32)
    private let pause = String(repeating: "9f", count: 32)
    private let uid = "6f1c2d3e_aaaa_bbbb_cccc_0123456789ab"

    private func pids(_ dir: String, max: String = "max", current: String = "1") throws {
        try writePidsFiles(dir, current: current + "\n", max: max + "\n")
    }

    private func found(_ root: String, _ version: CgroupVersion) -> [DiscoveredCgroup] {
        CgroupDiscovery(layout: CgroupLayout(version: version, hierarchyRoot: root)).allCgroups()
    }

    func testContainerdWithTheSystemdDriverOnV2EveryQoSClass() throws {
        let root = try makeTempDir(self)
        let kubepods = root + "/kubepods.slice"
        try pids(kubepods, max: "3500")
        let burstable = kubepods + "/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice"
        try pids(burstable, max: "40")
        try pids(burstable + "/cri-containerd-\(a).scope")
        try pids(burstable + "/cri-containerd-\(pause).scope")
        let besteffort = kubepods + "/kubepods-besteffort.slice/kubepods-besteffort-pod\(uid).slice"
        try pids(besteffort + "/cri-containerd-\(b).scope")
        let guaranteed = kubepods + "/kubepods-pod\(uid).slice"
        try pids(guaranteed + "/cri-containerd-\(c).scope")
        XCTAssertEqual(found(root, .v2), [
            DiscoveredCgroup(id: ContainerID(pause)!, path: burstable + "/cri-containerd-\(pause).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(a)!, path: burstable + "/cri-containerd-\(a).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(b)!, path: besteffort + "/cri-containerd-\(b).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(c)!, path: guaranteed + "/cri-containerd-\(c).scope", driver: .systemd),
        ])
    }

    func testContainerdWithCgroupfsOnV1AndV2() throws {
        for version in [CgroupVersion.v1, .v2] {
            let root = try makeTempDir(self)
            let pod = root + "/kubepods/burstable/pod6f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
            try pids(pod, max: "40")
            try pids(pod + "/\(a)")
            let guaranteed = root + "/kubepods/pod11112222-3333-4444-5555-666677778888"
            try pids(guaranteed + "/\(b)")
            XCTAssertEqual(found(root, version), [
                DiscoveredCgroup(id: ContainerID(a)!, path: pod + "/\(a)", driver: .cgroupfs),
                DiscoveredCgroup(id: ContainerID(b)!, path: guaranteed + "/\(b)", driver: .cgroupfs),
            ], "\(version)")
        }
    }

    func testCRIOWithEitherManagerAndItsMonitor() throws {
        let root = try makeTempDir(self)
        let pod = root + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice"
        try pids(pod + "/crio-\(a).scope")
        try pids(pod + "/crio-conmon-\(a).scope")  // CRI-O's monitor, same id: not the container
        let cgroupfsPod = root + "/kubepods/besteffort/pod6f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
        try pids(cgroupfsPod + "/crio-\(b)")
        try pids(cgroupfsPod + "/crio-conmon-\(b)")
        XCTAssertEqual(found(root, .v2), [
            DiscoveredCgroup(id: ContainerID(a)!, path: pod + "/crio-\(a).scope", driver: .systemd),
            DiscoveredCgroup(id: ContainerID(b)!, path: cgroupfsPod + "/crio-\(b)", driver: .cgroupfs),
        ])
    }

    func testOnlyKubeletsFoldersAreEntered() throws {
        let root = try makeTempDir(self)
        try pids(root + "/system.slice/cri-containerd-\(a).scope")  // the CRI plugin's name, in any folder scanned
        try pids(root + "/kubepods.slice/kubepods-burstable.slice/notapod/\(b)")  // no pod's folder: not entered
        XCTAssertEqual(found(root, .v2).map(\.id), [ContainerID(a)!])
    }

    func testNamesTheKernelPrints() throws {
        let line = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice/cri-containerd-\(a).scope"
        let path = try XCTUnwrap(ContainerCgroupPath(Substring(line)))
        XCTAssertEqual(path.id, ContainerID(a))
        XCTAssertEqual(path.container, line)
        XCTAssertEqual(ContainerCgroupPath("/kubepods/burstable/pod6f1c/\(b)")?.id, ContainerID(b))
        XCTAssertEqual(ContainerCgroupPath("/kubepods.slice/kubepods-pod\(uid).slice/crio-\(c).scope")?.id, ContainerID(c))
        XCTAssertNil(ContainerCgroupPath("/kubepods.slice/kubepods-pod\(uid).slice/crio-conmon-\(c).scope"))
    }

    func testAPodSliceIsNeverLearnedAsAParentItsScanListsAlready() throws {
        let root = try makeTempDir(self)
        let discovery = CgroupDiscovery(layout: CgroupLayout(version: .v2, hierarchyRoot: root))
        let slice = try XCTUnwrap(discovery.directory(ofCgroupParent: "kubepods-burstable-pod\(uid).slice"))
        XCTAssertEqual(slice, root + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice")
        XCTAssertFalse(discovery.learnParent(slice))
        XCTAssertFalse(discovery.learnParent(try XCTUnwrap(discovery.directory(ofCgroupParent: "kubepods-pod\(uid).slice"))))
        XCTAssertFalse(discovery.learnParent(root + "/kubepods/burstable/pod6f1c"))
        XCTAssertTrue(discovery.learnParent(root + "/acme.slice"))
    }

    func testKubeletsLevels() {
        let levels: [(String, KubernetesCgroups.Level?)] = [
            ("/kubepods.slice", .node), ("/kubepods", .node),
            ("/kubepods.slice/kubepods-burstable.slice", .qos), ("/kubepods.slice/kubepods-besteffort.slice", .qos),
            ("/kubepods/burstable", .qos), ("/kubepods/besteffort", .qos),
            ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice", .pod),
            ("/kubepods.slice/kubepods-pod\(uid).slice", .pod),
            ("/kubepods/burstable/pod6f1c2d3e-aaaa", .pod), ("/kubepods/pod6f1c2d3e-aaaa", .pod),
            ("/system.slice", nil), ("/acme.slice/kubepods-pod1.slice", nil), ("/kubepods/other", nil),
            ("/kubepods.slice/system.slice", nil),
        ]
        for (path, level) in levels { XCTAssertEqual(KubernetesCgroups.level(ofCgroup: path), level, path) }
    }

    /// The smallest limit above the container in kubelet's tree holds; a
    /// limit outside it (the root's child of another tree) is no kubelet's.
    func testTheLimitThatHoldsAboveAContainer() {
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice"
        let chain = [
            CgroupLimitReading(cgroup: pod + "/cri-containerd-\(a).scope", limit: nil, current: 30),
            CgroupLimitReading(cgroup: pod, limit: 40, current: 39),
            CgroupLimitReading(cgroup: "/kubepods.slice/kubepods-burstable.slice", limit: nil, current: 60),
            CgroupLimitReading(cgroup: "/kubepods.slice", limit: 3000, current: 80),
        ]
        XCTAssertEqual(KubeletLimit.find(chain: chain, containerIndex: 0), KubeletLimit(limit: 40, level: .pod, cgroup: pod))
        var noPodLimit = chain
        noPodLimit[1].limit = nil
        XCTAssertEqual(KubeletLimit.find(chain: noPodLimit, containerIndex: 0),
                       KubeletLimit(limit: 3000, level: .node, cgroup: "/kubepods.slice"))
        noPodLimit[3].limit = nil
        XCTAssertNil(KubeletLimit.find(chain: noPodLimit, containerIndex: 0))
        // A refusal's walk names the pod's level.
        var atLimit = chain
        atLimit[1].localRefusals = 3
        let refusing = RefusingLimitFinder.find(chain: atLimit, containerIndex: 0)
        XCTAssertEqual(refusing?.cgroup, pod)
        XCTAssertEqual(refusing.flatMap { KubernetesCgroups.level(ofCgroup: $0.cgroup) }, .pod)
    }

    func testPodTasksByContainer() throws {
        let root = try makeTempDir(self)
        let pod = root + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice"
        try pids(pod + "/cri-containerd-\(a).scope", current: "37")
        try pids(pod + "/cri-containerd-\(b).scope", current: "2")
        try FileManager.default.createDirectory(atPath: pod + "/cri-containerd-\(c).scope", withIntermediateDirectories: true)  // emptied
        let tasks = PodCgroup.containerTasks(directory: pod, names: Engines.cgroupNames())
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.tasks) }), [ContainerID(a)!: 37, ContainerID(b)!: 2])
        XCTAssertEqual(PodTasks.fieldValue([.init(name: "side", tasks: 2), .init(name: "bomb", tasks: 37)]),
                       "bomb:37 side:2")
    }
}
