@testable import DockwardContainerd
import DockwardCore
import Foundation
import GRPCCore
import XCTest

/// The containerd runtime against a scripted containerd over a real gRPC
/// Unix socket: what it asks, what it makes of the answers, every topic,
/// namespaces, and a restart of containerd in the middle.
final class ContainerdRuntimeTests: XCTestCase {
    static let workload = String(repeating: "ab", count: 32)
    static let sandbox = String(repeating: "5a", count: 32)
    static let podUID = "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab"

    var dir: URL!
    var scripted: ScriptedContainerd!

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-containerd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        scripted = ScriptedContainerd(socketPath: dir.appendingPathComponent("containerd.sock").path)
        try await scripted.start()
    }

    override func tearDown() async throws {
        await scripted.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static var podLabels: [String: String] {
        ["io.kubernetes.pod.namespace": "team-a", "io.kubernetes.pod.name": "sock", "io.kubernetes.pod.uid": podUID]
    }

    /// A spec as containerd's CRI plugin writes it for a pod's container
    /// with a hostPath of containerd's socket (trimmed).
    static var workloadSpec: String {
        """
        {"ociVersion":"1.1.0","process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE","CAP_SYS_PTRACE"]}},
         "mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},
          {"destination":"/etc/hosts","type":"bind","source":"/var/lib/kubelet/pods/\(podUID)/etc-hosts","options":["rbind","rprivate","rw"]},
          {"destination":"/dev/termination-log","type":"bind","source":"/var/lib/kubelet/pods/\(podUID)/containers/app/0c1d","options":["rbind","rprivate","rw"]},
          {"destination":"/etc/hostname","type":"bind","source":"/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/\(sandbox)/hostname","options":["rbind","rprivate","rw"]},
          {"destination":"/dev/shm","type":"bind","source":"/run/containerd/io.containerd.grpc.v1.cri/sandboxes/\(sandbox)/shm","options":["rbind","rprivate","rw"]},
          {"destination":"/host/containerd.sock","type":"bind","source":"/run/containerd/containerd.sock","options":["rbind","rprivate","ro"]}],
         "annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"\(sandbox)"},
         "linux":{"cgroupsPath":"kubepods-besteffort-pod6f1c2d3e_aaaa_bbbb_cccc_0123456789ab.slice:cri-containerd:\(workload)",
          "namespaces":[{"type":"pid"},{"type":"ipc","path":"/proc/77/ns/ipc"},{"type":"mount"}],
          "maskedPaths":["/proc/kcore"],"resources":{"devices":[{"allow":false,"access":"rwm"}]}}}
        """
    }

    func runtime(namespaces: [String] = []) throws -> ContainerdRuntime {
        try ContainerdRuntime(socketPath: scripted.socketPath, namespaces: namespaces)
    }

    func testItDescribesAPodsContainerFromItsSpecAndTask() async throws {
        scripted.add(Self.workload, labels: Self.podLabels.merging(["io.kubernetes.container.name": "app",
                                                                     "io.cri-containerd.kind": "container"]) { a, _ in a },
                     spec: Self.workloadSpec)
        scripted.add(Self.sandbox, labels: Self.podLabels.merging(["io.cri-containerd.kind": "sandbox"]) { a, _ in a },
                     image: "registry.k8s.io/pause:3.10")
        scripted.add("redis", namespace: "default")  // `ctr run` with a name: no container id
        let runtime = try runtime()
        defer { Task { try? await runtime.shutdown() } }

        let info = try await runtime.connect()
        XCTAssertEqual(info.product, "containerd v2.1.4")
        let listed = try await runtime.listContainers()
        XCTAssertEqual(Set(listed), [ContainerID(Self.workload)!, ContainerID(Self.sandbox)!])

        let details = try await runtime.describe(ContainerID(Self.workload)!) { _ in }
        let d = try XCTUnwrap(details)
        XCTAssertEqual(d.metadata.name, "team-a/sock/app")
        XCTAssertEqual(d.metadata.pod, PodIdentity(namespace: "team-a", pod: "sock", podUID: Self.podUID, container: "app"))
        XCTAssertFalse(d.metadata.isSandbox)
        // Only the hostPath: the pod's own files (kubelet's and the CRI plugin's) are no host path it was given.
        XCTAssertEqual(d.mounts, [MountPoint(kind: .bind, source: "/run/containerd/containerd.sock",
                                             destination: "/host/containerd.sock", readWrite: false)])
        XCTAssertEqual(d.state, "running")
        XCTAssertEqual(d.mainPid, 4242)
        XCTAssertEqual(d.cgroupParent, "kubepods-besteffort-pod6f1c2d3e_aaaa_bbbb_cccc_0123456789ab.slice")
        XCTAssertEqual(d.capAdd, ["SYS_PTRACE"])
        XCTAssertEqual(d.pidMode, "")
        XCTAssertFalse(d.privileged)
        XCTAssertFalse(d.hasOwnPidsLimit)

        let pause = try await runtime.describe(ContainerID(Self.sandbox)!) { _ in }
        XCTAssertEqual(pause?.metadata.isSandbox, true)
        XCTAssertEqual(pause?.metadata.name, "team-a/sock")
        XCTAssertEqual(pause?.state, "running")

        // Gone from containerd: unknown, not an error.
        scripted.remove(Self.workload)
        let gone = try await runtime.describe(ContainerID(Self.workload)!) { _ in }
        XCTAssertNil(gone)
        XCTAssertEqual(scripted.state.withLock { Set($0.namespaceHeaders) }, ["k8s.io", "default"])
    }

    func testEveryTopicBecomesItsEvent() async throws {
        let runtime = try runtime()
        defer { Task { try? await runtime.shutdown() } }
        _ = try await runtime.connect()
        var events = runtime.events(sinceNano: nil).makeAsyncIterator()
        try await waitForSubscribers(1)
        let id = Self.workload
        var create = Containerd_Events_ContainerCreate(); create.id = id
        var update = Containerd_Events_ContainerUpdate(); update.id = id
        var start = Containerd_Events_TaskStart(); start.containerID = id; start.pid = 99
        var execExit = Containerd_Events_TaskExit(); execExit.containerID = id; execExit.id = "exec-1"
        var exit = Containerd_Events_TaskExit(); exit.containerID = id; exit.id = id
        var oom = Containerd_Events_TaskOOM(); oom.containerID = id
        var taskDelete = Containerd_Events_TaskDelete(); taskDelete.containerID = id
        var delete = Containerd_Events_ContainerDelete(); delete.id = id
        var named = Containerd_Events_ContainerCreate(); named.id = "redis"
        try scripted.publish("/containers/create", payload: create, timeNano: 1_000)
        try scripted.publish("/containers/update", payload: update, timeNano: 2_000)
        try scripted.publish("/tasks/start", payload: start, timeNano: 3_000)
        try scripted.publish("/tasks/exit", payload: execExit, timeNano: 4_000)
        try scripted.publish("/tasks/oom", payload: oom, timeNano: 5_000)
        try scripted.publish("/tasks/exit", payload: exit, timeNano: 6_000)
        try scripted.publish("/tasks/delete", payload: taskDelete, timeNano: 7_000)
        try scripted.publish("/containers/delete", payload: delete, timeNano: 8_000)
        try scripted.publish("/containers/create", payload: named, timeNano: 9_000)
        // A payload that is no protobuf of its topic: dates the stream, no container.
        var broken = Containerd_Services_Events_V1_Envelope()
        broken.topic = "/tasks/start"
        broken.namespace = "k8s.io"
        broken.timestamp = .init(seconds: 0, nanos: 10_000)
        broken.event.value = Data([0xff, 0xff, 0xff])
        scripted.publish(broken)

        let container = ContainerID(id)!
        let expected: [RuntimeEvent] = [
            RuntimeEvent(.created, id: container, timeNano: 1_000), RuntimeEvent(.updated, id: container, timeNano: 2_000),
            RuntimeEvent(.started, id: container, timeNano: 3_000), RuntimeEvent(.other, id: container, timeNano: 4_000),
            RuntimeEvent(.other, id: container, timeNano: 5_000), RuntimeEvent(.died, id: container, timeNano: 6_000),
            RuntimeEvent(.other, id: container, timeNano: 7_000), RuntimeEvent(.removed, id: container, timeNano: 8_000),
            RuntimeEvent(.other, id: nil, timeNano: 9_000), RuntimeEvent(.other, id: nil, timeNano: 10_000),
        ]
        var seen: [RuntimeEvent] = []
        while seen.count < expected.count, let event = try await events.next() { seen.append(event) }
        XCTAssertEqual(seen, expected)
    }

    func testOnlyTheConfiguredNamespacesAreFollowed() async throws {
        scripted.add(Self.workload, labels: Self.podLabels, spec: Self.workloadSpec)
        let dockers = String(repeating: "d0", count: 32)
        scripted.add(dockers, namespace: "moby")
        let runtime = try runtime(namespaces: ["k8s.io"])
        defer { Task { try? await runtime.shutdown() } }
        _ = try await runtime.connect()
        let listed = try await runtime.listContainers()
        XCTAssertEqual(listed, [ContainerID(Self.workload)!])
        var events = runtime.events(sinceNano: nil).makeAsyncIterator()
        try await waitForSubscribers(1)
        XCTAssertEqual(scripted.state.withLock { $0.subscriptions.last },
                       [#"namespace==k8s.io,topic~="^/containers/""#, #"namespace==k8s.io,topic~="^/tasks/""#])
        var mobyStart = Containerd_Events_TaskStart(); mobyStart.containerID = dockers
        var start = Containerd_Events_TaskStart(); start.containerID = Self.workload
        try scripted.publish("/tasks/start", namespace: "moby", payload: mobyStart, timeNano: 1)
        try scripted.publish("/tasks/start", payload: start, timeNano: 2)
        let first = try await events.next()
        XCTAssertEqual(first, RuntimeEvent(.started, id: ContainerID(Self.workload)!, timeNano: 2))
    }

    /// containerd restarts: the stream ends with an error (the link's cue
    /// to connect again), calls fail as an outage, and after it is back the
    /// same runtime connects, lists what came meanwhile and follows again.
    func testARestartOfContainerdEndsTheStreamAndTheRuntimeComesBack() async throws {
        let runtime = try runtime()
        defer { Task { try? await runtime.shutdown() } }
        _ = try await runtime.connect()
        var events = runtime.events(sinceNano: nil).makeAsyncIterator()
        try await waitForSubscribers(1)
        await scripted.stop()
        do {
            while try await events.next() != nil {}
        } catch {
            XCTAssertFalse(runtime.isRefusal(error), "the stream's end is an outage: \(error)")
        }
        do {
            _ = try await runtime.connect()
            XCTFail("connect while containerd is down")
        } catch {
            XCTAssertFalse(runtime.isRefusal(error), "\(error)")
        }
        scripted.add(Self.workload, labels: Self.podLabels, spec: Self.workloadSpec)  // made while it was down
        try await scripted.start()
        let info = try await eventually { try await runtime.connect() }
        XCTAssertEqual(info.product, "containerd v2.1.4")
        var again = runtime.events(sinceNano: nil).makeAsyncIterator()
        try await waitForSubscribers(1)
        let listed = try await runtime.listContainers()
        XCTAssertEqual(listed, [ContainerID(Self.workload)!])
        var delete = Containerd_Events_ContainerDelete(); delete.id = Self.workload
        try scripted.publish("/containers/delete", payload: delete, timeNano: 5)
        let next = try await again.next()
        XCTAssertEqual(next, RuntimeEvent(.removed, id: ContainerID(Self.workload)!, timeNano: 5))
    }

    /// A node's listing carries every container's spec: a few hundred are
    /// past gRPC's usual 4 MiB answer.
    func testAListingOfHundredsOfSpecsIsRead() async throws {
        let padding = String(repeating: "x", count: 16_000)
        let spec = #"{"annotations":{"pad":"\#(padding)"}}"#
        let ids = (0..<320).map { String(format: "%064x", $0 + 1) }
        for id in ids { scripted.add(id, labels: Self.podLabels, spec: spec) }
        let runtime = try runtime(namespaces: ["k8s.io"])
        defer { Task { try? await runtime.shutdown() } }
        _ = try await runtime.connect()
        let listed = try await runtime.listContainers()
        XCTAssertEqual(listed.count, 320, "about 5 MB in one answer")
    }

    func testNoContainerdIsAnOutageNotARefusal() async throws {
        let runtime = try ContainerdRuntime(socketPath: dir.appendingPathComponent("absent.sock").path)
        defer { Task { try? await runtime.shutdown() } }
        do {
            _ = try await runtime.connect()
            XCTFail("connected to nothing")
        } catch {
            XCTAssertFalse(runtime.isRefusal(error), "\(error)")
        }
        XCTAssertTrue(runtime.isRefusal(RPCError(code: .permissionDenied, message: "no")))
    }

    // MARK: Helpers

    func waitForSubscribers(_ n: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
        for _ in 0..<500 where scripted.subscriberCount < n { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(scripted.subscriberCount, n, "subscriptions", file: file, line: line)
    }

    /// Retries for up to 10 s: the client connects again with a backoff.
    func eventually<T>(_ body: () async throws -> T) async throws -> T {
        var lastError: Error?
        for _ in 0..<100 {
            do { return try await body() } catch { lastError = error }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw lastError!
    }
}
