import DockwardCgroup
import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// Where a container's cgroup is, through the wiring: found by its main
/// process's `/proc/<pid>/cgroup` under a parent no scan looks in, still
/// found after a restart with the engine away (the parent kept in the state
/// file), and a refusal the kernel names deep inside a watched container
/// (an engine inside it) reported for that container.
final class CgroupPlacesWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var kernel: FixtureHost.KernelLog!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
        kernel = try FixtureHost.KernelLog(in: host.root)
    }

    private func setCgroup(_ relative: String, current: Int, max: Int?, refused: Int = 0) throws {
        let dir = host.hierarchy + relative
        try FixtureHost.write("\(current)\n", to: dir + "/pids.current")
        try FixtureHost.write(max.map { "\($0)\n" } ?? "max\n", to: dir + "/pids.max")
        try FixtureHost.write("max \(refused)\n", to: dir + "/pids.events")
    }

    /// A daemon reading the kernel's lines from the FIFO, started, with
    /// `id`'s name learned and one poll made.
    private func watching(_ id: ContainerID, poll: String = "1s", version: CgroupVersion = .v1) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: \(poll)\n",
                                    kernelLog: kernel.path, cgroupVersion: version)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([id])
        d.tick()
        return d
    }

    func testContainerUnderACustomParentIsFoundByItsMainProcessAndAfterARestart() throws {
        let id = IDs.make(40)
        let relative = "/acme/\(id.full)"
        try setCgroup(relative, current: 4, max: nil)
        try FixtureHost.write("12:pids:\(relative)\n0::/\n", to: host.proc + "/4242/cgroup")
        engine.add(details(id, name: "custom", mainPid: 4242))
        let first = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: 1s\n",
                                        stateDirectory: host.stateDirectory, kernelLog: kernel.path)
        first.start()
        first.waitForNames([id])
        first.tickUntil("the pids-unlimited entry of the container under /acme") {
            !first.writer.entries(.pidsUnlimited, for: id).isEmpty
        }
        XCTAssertEqual(first.writer.entries(.pidsUnlimited, for: id).first?.container?.cgroupPath, host.hierarchy + relative)
        first.stop()

        // Restarted with the engine away: the first scan lists /acme, kept in
        // the state file, and the container's refusals are still seen.
        engine.setReachable(false)
        let second = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: 1s\n",
                                         stateDirectory: host.stateDirectory)
        addTeardownBlock { second.stop() }
        second.start()
        second.tick()
        try setCgroup(relative, current: 30, max: 30, refused: 4)
        second.tickUntil("the pids-exhausted entry after the restart") { !second.writer.entries(.pidsExhausted, for: id).isEmpty }
        XCTAssertEqual(field(second.writer.entries(.pidsExhausted, for: id).first, "PIDS_REJECTED"), "4")
        XCTAssertTrue(second.writer.entries(.pidsUnlimited, for: id).isEmpty, "the restart repeats nothing")
    }

    /// `--cgroup-parent acme-web.slice`: known at create, before the
    /// container has a main process, so its scope is found by the scan its
    /// appearance sets off, as one in system.slice is.
    func testACgroupParentGivenAtCreateIsScannedBeforeTheContainerStarts() throws {
        let started = IDs.make(46)
        try setCgroup("/system.slice/docker-\(started.full).scope", current: 1, max: 50)
        engine.add(details(started, name: "other"))
        let d = try watching(started, version: .v2)
        let id = IDs.make(47)
        engine.add(details(id, name: "in-acme", state: "created", cgroupParent: "acme-web.slice"))
        engine.emit("create", id)
        d.waitUntil("the create's inspect") { d.engine.inspected.contains(id) }
        let scope = "/acme.slice/acme-web.slice/docker-\(id.full).scope"
        try setCgroup(scope, current: 3, max: nil)
        d.tickUntil("the pids-unlimited entry of the container in acme-web.slice") {
            !d.writer.entries(.pidsUnlimited, for: id).isEmpty
        }
        XCTAssertEqual(d.writer.entries(.pidsUnlimited, for: id).first?.container?.cgroupPath, host.hierarchy + scope)
        XCTAssertEqual(d.writer.entries(.pidsUnlimited, for: id).first?.container?.metadata?.name, "in-acme")
    }

    /// Podman with crun under systemd: the scope appears first (a scan may
    /// watch it), the `container` cgroup with the limit a moment later; the
    /// start's inspect moves the watch there.
    func testPodmansContainerCgroupIsWatchedOnceItsMainProcessIsThere() throws {
        let id = IDs.make(44)
        let scope = "/machine.slice/libpod-\(id.full).scope"
        try setCgroup(scope, current: 2, max: 3511)
        engine.add(details(id, name: "podman-crun", pidsLimit: 2048))
        let d = try watching(id, version: .v2)
        try setCgroup(scope + "/container", current: 1, max: 2048)
        try FixtureHost.write("0::\(scope)/container\n", to: host.proc + "/4245/cgroup")
        engine.add(details(id, name: "podman-crun", pidsLimit: 2048, mainPid: 4245))
        engine.emit("start", id)
        let engine = self.engine!
        d.waitUntil("the start's inspect") { engine.inspectRequests(of: id) >= 2 }
        d.tick()
        try setCgroup(scope + "/container", current: 2048, max: 2048, refused: 3)
        kernel.record("cgroup: fork rejected by pids controller in \(scope)/container")
        d.waitUntil("the entry against the container cgroup's limit") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        let entry = d.writer.entries(.pidsExhausted, for: id).first
        XCTAssertEqual(field(entry, "PIDS_MAX"), "2048")
        XCTAssertEqual(entry?.container?.cgroupPath, host.hierarchy + scope + "/container")
    }

    /// A main process whose cgroup does not name the container (a pid of
    /// another pid namespace, or reused): not taken as its cgroup.
    func testAMainProcessElsewhereIsNotTakenForTheContainer() throws {
        let id = IDs.make(41)
        try setCgroup("/acme/other", current: 4, max: nil)
        try FixtureHost.write("12:pids:/acme/other\n", to: host.proc + "/4243/cgroup")
        engine.add(details(id, name: "elsewhere", mainPid: 4243))
        let d = try DaemonUnderTest(host: host, engine: engine, kernelLog: kernel.path)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([id])
        d.ticks(4)
        XCTAssertTrue(d.writer.entries(.pidsUnlimited, for: id).isEmpty, "nothing watched for it")
    }

    /// Docker in Docker: the kernel names the inner container's cgroup; the
    /// watched outer container is the one told, and the inner cgroup's
    /// count (the kernel counts in the cgroup that forked, on v1) is its.
    func testARefusalDeepInsideAWatchedContainerIsThatContainers() throws {
        let outer = IDs.make(42)
        let inner = String(repeating: "c", count: 64)
        try host.setPids(outer, current: 60, max: 60)
        try setCgroup("/docker/\(outer.full)/docker/\(inner)", current: 58, max: nil, refused: 0)
        engine.add(details(outer, name: "dind", pidsLimit: 60))
        let d = try watching(outer, poll: "5s")
        try setCgroup("/docker/\(outer.full)/docker/\(inner)", current: 59, max: nil, refused: 7)
        kernel.record("cgroup: fork rejected by pids controller in /docker/\(outer.full)/docker/\(inner)")
        d.waitUntil("the outer container's entry") { !d.writer.entries(.pidsExhausted, for: outer).isEmpty }
        let entry = d.writer.entries(.pidsExhausted, for: outer).first
        XCTAssertEqual(field(entry, "PIDS_REJECTED"), "7")
        XCTAssertEqual(field(entry, "PIDS_MAX"), "60")
        XCTAssertNil(field(entry, "PIDS_MAX_SOURCE"), "its own limit")
        XCTAssertNil(field(entry, "CGROUP_GONE"))
        XCTAssertEqual(d.writer.entries(.pidsExhausted).count, 1, "nothing for the inner cgroup as a container of its own")
    }

    /// A slice above the container with a lower limit, where the kernel
    /// counts in the cgroup whose limit refused (6.11+ on v2): the
    /// container's own count does not move; the slice's pids.events.local
    /// does, and the entry names the slice's limit.
    func testALimitAboveOnAHierarchicalKernelIsNamed() throws {
        let id = IDs.make(43)
        let scope = "/acme.slice/docker-\(id.full).scope"
        try FixtureHost.write("pids\n", to: host.hierarchy + "/cgroup.controllers")
        try setCgroup("/acme.slice", current: 30, max: 40)
        try FixtureHost.write("max 0\n", to: host.hierarchy + "/acme.slice/pids.events.local")
        try setCgroup(scope, current: 30, max: 200)
        try FixtureHost.write("max 0\n", to: host.hierarchy + scope + "/pids.events.local")
        try FixtureHost.write("0::\(scope)\n", to: host.proc + "/4244/cgroup")
        engine.add(details(id, name: "sliced", pidsLimit: 200, mainPid: 4244))
        let d = try watching(id, poll: "5s", version: .v2)
        try setCgroup("/acme.slice", current: 40, max: 40)
        try FixtureHost.write("max 5\n", to: host.hierarchy + "/acme.slice/pids.events.local")
        try FixtureHost.write("max 5\n", to: host.hierarchy + "/acme.slice/pids.events")
        try setCgroup(scope, current: 40, max: 200, refused: 0)
        kernel.record("cgroup: fork rejected by pids controller in \(scope)")
        d.waitUntil("the entry naming the slice") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        let entry = d.writer.entries(.pidsExhausted, for: id).first
        XCTAssertEqual(field(entry, "PIDS_MAX"), "40")
        XCTAssertEqual(field(entry, "PIDS_MAX_SOURCE"), "parent")
        XCTAssertEqual(field(entry, "PIDS_MAX_CGROUP"), "/acme.slice")
        XCTAssertEqual(field(entry, "PIDS_REJECTED"), "1", "the refusal the kernel reported")

        // Later refusals by the slice count through its pids.events.local, at the poll.
        try FixtureHost.write("max 9\n", to: host.hierarchy + "/acme.slice/pids.events.local")
        d.ticks(6)
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: id).count, 1, "one entry for the episode")
        XCTAssertNil(field(d.writer.entries(.pidsExhausted, for: id).first, "CGROUP_GONE"))
    }
}
