import DockwardCore
import DockwardDaemon
import DockwardEngines
import XCTest

/// An engine the daemon has never heard of, added as a module and one line
/// of registration: its containers' cgroups are found by its names, their
/// refusals and socket mounts are reported by the same watches, named by
/// its runtime.
final class EngineModuleTests: XCTestCase {
    func testAnEngineRegisteredWithOneLineIsFollowedLikeDocker() throws {
        let host = try FixtureHost(self)
        let fake = FakeRuntime(socketPath: host.root + "/run/fake.sock")
        try FixtureHost.bindSocket(fake.socketPath)
        let engines = Engines.registered + [FakeEngineModule(fake: fake)]  // the one line
        let bomb = IDs.make(60), agent = IDs.make(61)
        fake.add(details(bomb, name: "fake-bomb", pidsLimit: 50))
        let scope = host.hierarchy + "/fakeengine.slice/fake-\(bomb.full).scope"
        try FixtureHost.write("3\n", to: scope + "/pids.current")
        try FixtureHost.write("50\n", to: scope + "/pids.max")
        try FixtureHost.write("max 0\n", to: scope + "/pids.events")

        let d = try DaemonUnderTest(host: host, engine: ScriptedEngine(socketPath: host.engineSocket),
                                    runtime: try engines.last!.runtime(socketPath: fake.socketPath),
                                    cgroupNames: Engines.cgroupNames(engines))
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([bomb])
        d.tick()
        try FixtureHost.write("50\n", to: scope + "/pids.current")
        try FixtureHost.write("max 7\n", to: scope + "/pids.events")
        d.tick()
        let exhausted = try XCTUnwrap(d.writer.entries(.pidsExhausted, for: bomb).first)
        XCTAssertEqual(exhausted.container?.metadata?.name, "fake-bomb", "named by the fake engine's runtime")
        XCTAssertEqual(field(exhausted, "CGROUP_PATH"), scope)
        XCTAssertEqual(field(exhausted, "PIDS_REJECTED"), "7")

        // A container made later, told by the fake engine's typed event.
        fake.add(details(agent, name: "fake-agent", binds: [(fake.socketPath, "/run/fake.sock")]))
        fake.emit(.created, agent)
        d.waitUntil("the socket mount") { !d.writer.entries(.socketMount, for: agent).isEmpty }
        XCTAssertEqual(field(d.writer.entries(.socketMount, for: agent).first, "SOCKET_PATH"), fake.socketPath,
                       "the followed engine's socket is protected, whatever the engine")
        let connected = d.writer.entries(.engineConnected).first
        XCTAssertEqual(field(connected, "ENGINE_PRODUCT"), "Fake 1.0")
    }
}
