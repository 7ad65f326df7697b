import DockwardCgroup
import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// A Kubernetes node through the wiring: pods in kubelet's tree (systemd
/// driver, cgroup v2 with hierarchical counting), a pod-level limit as
/// kubelet's podPidsLimit sets it, the pod's sandbox, and a pod without any
/// limit. A pod that exhausts its limit is one entry, for the pod.
final class KubernetesPodWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var kernel: FixtureHost.KernelLog!
    private let uid = "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    private var podSlice: String { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid.replacingOccurrences(of: "-", with: "_")).slice" }
    private let freeSlice = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod11112222_3333_4444_5555_666677778888.slice"

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
        kernel = try FixtureHost.KernelLog(in: host.root)
        try FixtureHost.write("pids\n", to: host.hierarchy + "/cgroup.controllers")
    }

    private func setCgroup(_ relative: String, current: Int, max: Int?, refused: Int = 0, local: Int? = nil) throws {
        let dir = host.hierarchy + relative
        try FixtureHost.write("\(current)\n", to: dir + "/pids.current")
        try FixtureHost.write(max.map { "\($0)\n" } ?? "max\n", to: dir + "/pids.max")
        // In the kernel's order: pids.events.local counts before pids.events notifies.
        try FixtureHost.write("max \(local ?? 0)\n", to: dir + "/pids.events.local")
        try FixtureHost.write("max \(refused)\n", to: dir + "/pids.events")
    }

    private func podContainer(_ id: ContainerID, pod: String, namespace: String = "team-a", container: String,
                              sandbox: Bool = false, podUID: String) -> ContainerDetails {
        let identity = PodIdentity(namespace: namespace, pod: pod, podUID: podUID, container: sandbox ? "" : container)
        return ContainerDetails(id: id, metadata: ContainerMetadata(name: identity.fullName, image: "busybox:1.36",
                                                                    pod: identity, isSandbox: sandbox),
                                mounts: [], binds: [], state: "running")
    }

    func testAPodLimitHoldsItsContainersAndItsExhaustionIsOneEntryForThePod() throws {
        let bomb = IDs.make(60), side = IDs.make(61), pause = IDs.make(62), free = IDs.make(63), freePause = IDs.make(64)
        try setCgroup("/kubepods.slice", current: 8, max: nil)
        try setCgroup("/kubepods.slice/kubepods-burstable.slice", current: 4, max: nil)
        try setCgroup(podSlice, current: 4, max: 40)
        try setCgroup(podSlice + "/cri-containerd-\(bomb.full).scope", current: 1, max: 3520)
        try setCgroup(podSlice + "/cri-containerd-\(side.full).scope", current: 2, max: 3520)
        try setCgroup(podSlice + "/cri-containerd-\(pause.full).scope", current: 1, max: nil)
        try setCgroup("/kubepods.slice/kubepods-besteffort.slice", current: 4, max: nil)
        try setCgroup(freeSlice, current: 4, max: nil)
        try setCgroup(freeSlice + "/cri-containerd-\(free.full).scope", current: 3, max: 3520)
        try setCgroup(freeSlice + "/cri-containerd-\(freePause.full).scope", current: 1, max: nil)
        engine.add(podContainer(bomb, pod: "bomb", container: "bomb", podUID: uid))
        engine.add(podContainer(side, pod: "bomb", container: "side", podUID: uid))
        engine.add(podContainer(pause, pod: "bomb", container: "", sandbox: true, podUID: uid))
        engine.add(podContainer(free, pod: "free", container: "app", podUID: "11112222-3333-4444-5555-666677778888"))
        engine.add(podContainer(freePause, pod: "free", container: "", sandbox: true, podUID: "11112222-3333-4444-5555-666677778888"))
        let d = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: 5s\n",
                                    kernelLog: kernel.path, cgroupVersion: .v2)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([bomb, side, pause, free, freePause])
        d.ticks(2)

        // Each scope holds systemd's DefaultTasksMax (3520), as runc's
        // systemd driver leaves it. No limit of kubelet's above it: warned,
        // with its pod's names.
        d.tickUntil("the free pod's pids-unlimited") { !d.writer.entries(.pidsUnlimited, for: free).isEmpty }
        let unlimited = d.writer.entries(.pidsUnlimited, for: free).first
        XCTAssertEqual(field(unlimited, "K8S_NAMESPACE"), "team-a")
        XCTAssertEqual(field(unlimited, "K8S_POD"), "free")
        XCTAssertEqual(field(unlimited, "K8S_CONTAINER"), "app")
        XCTAssertEqual(unlimited?.container?.metadata?.name, "team-a/free/app")
        XCTAssertTrue(unlimited?.message.contains("podPidsLimit") == true, unlimited?.message ?? "")
        XCTAssertEqual(field(unlimited, "PIDS_MAX"), "3520")
        XCTAssertEqual(field(unlimited, "PIDS_MAX_SOURCE"), "inherited")
        // Under the pod's limit: no warning; sandboxes: nothing ever.
        for id in [bomb, side, pause, freePause] {
            XCTAssertTrue(d.writer.entries(.pidsUnlimited, for: id).isEmpty, "\(id)")
        }

        // The bomb fills the pod's limit; on a 6.11+ kernel only the pod's
        // pids.events.local counts, and the kernel names the forking scope.
        try setCgroup(podSlice + "/cri-containerd-\(bomb.full).scope", current: 37, max: 3520)
        try setCgroup(podSlice, current: 40, max: 40, refused: 5, local: 5)
        kernel.record("cgroup: fork rejected by pids controller in \(podSlice)/cri-containerd-\(bomb.full).scope")
        d.waitUntil("the pod's pids-exhausted entry") { !d.writer.entries(.pidsExhausted).isEmpty }
        let entry = d.writer.entries(.pidsExhausted).first
        XCTAssertEqual(entry?.container?.id, bomb)
        XCTAssertEqual(field(entry, "PIDS_MAX"), "40")
        XCTAssertEqual(field(entry, "PIDS_MAX_SOURCE"), "pod")
        XCTAssertEqual(field(entry, "PIDS_MAX_CGROUP"), podSlice)
        XCTAssertEqual(field(entry, "PIDS_POD_TASKS"), "bomb:37 side:2")
        XCTAssertEqual(field(entry, "K8S_POD"), "bomb")
        XCTAssertTrue(entry?.message.hasPrefix("Pod team-a/bomb hit its pids limit of 40") == true, entry?.message ?? "")

        // Its sidecar's forks refused too: the same incident, no second entry.
        try setCgroup(podSlice + "/cri-containerd-\(side.full).scope", current: 2, max: 3520)
        kernel.record("cgroup: fork rejected by pids controller in \(podSlice)/cri-containerd-\(side.full).scope")
        try setCgroup(podSlice, current: 40, max: 40, refused: 8, local: 8)
        d.ticks(4)
        XCTAssertEqual(d.writer.entries(.pidsExhausted).count, 1, "one entry for the pod")
        XCTAssertTrue(d.writer.entries(.pidsUnlimited, for: pause).isEmpty)
    }

    /// From Linux 6.11 the kernel counts a pod's refusal, and notifies it,
    /// in the pod's `pids.events`: watched, the entry comes from that
    /// notification alone (no kernel line, no poll), for the container
    /// holding the most tasks.
    func testThePodsPidsEventsNotificationIsTheRefusal() throws {
        let bomb = IDs.make(70), side = IDs.make(71), pause = IDs.make(72)
        try setCgroup("/kubepods.slice", current: 4, max: nil)
        try setCgroup("/kubepods.slice/kubepods-burstable.slice", current: 4, max: nil)
        try setCgroup(podSlice, current: 4, max: 40)
        try setCgroup(podSlice + "/cri-containerd-\(bomb.full).scope", current: 1, max: 3520)
        try setCgroup(podSlice + "/cri-containerd-\(side.full).scope", current: 2, max: 3520)
        try setCgroup(podSlice + "/cri-containerd-\(pause.full).scope", current: 1, max: 3520)
        engine.add(podContainer(bomb, pod: "bomb", container: "bomb", podUID: uid))
        engine.add(podContainer(side, pod: "bomb", container: "side", podUID: uid))
        engine.add(podContainer(pause, pod: "bomb", container: "", sandbox: true, podUID: uid))
        let d = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: 1m\n", cgroupVersion: .v2)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([bomb, side, pause])
        d.tick()
        try setCgroup(podSlice + "/cri-containerd-\(bomb.full).scope", current: 37, max: 3520)
        try setCgroup(podSlice, current: 40, max: 40, refused: 3, local: 3)
        d.waitUntil("the pod's entry from its pids.events notification") { !d.writer.entries(.pidsExhausted).isEmpty }
        let entry = d.writer.entries(.pidsExhausted).first
        XCTAssertEqual(entry?.container?.id, bomb, "the container holding the most tasks")
        XCTAssertEqual(field(entry, "PIDS_MAX_SOURCE"), "pod")
        XCTAssertEqual(field(entry, "PIDS_POD_TASKS"), "bomb:37 side:2")
    }
}
