import DockwardCgroup
import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// Docker's systemd cgroup driver (`system.slice/docker-<id>.scope`) on
/// cgroup v1 and v2 fixture trees: a container started without
/// `--pids-limit` gets systemd's `DefaultTasksMax` in `pids.max`, not
/// "max". The engine's `HostConfig.PidsLimit` says it asked for none.
final class SystemdDriverTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func run(_ version: CgroupVersion) throws {
        let defaulted = IDs.make(30), asked = IDs.make(31)
        engine.add(details(defaulted, name: "defaulted"))                 // no --pids-limit
        engine.add(details(asked, name: "asked", pidsLimit: 4915))       // --pids-limit 4915
        try host.setScopePids(defaulted, current: 12, max: 4915)
        try host.setScopePids(asked, current: 12, max: 4915)
        let d = try DaemonUnderTest(host: host, engine: engine, cgroupVersion: version)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([defaulted, asked])
        d.ticks(5)
        let warned = d.writer.entries(.pidsUnlimited)
        XCTAssertEqual(warned.map { $0.container?.id }, [defaulted], "only the container that asked for no limit")
        let entry = try XCTUnwrap(warned.first)
        XCTAssertEqual(field(entry, "PIDS_MAX"), "4915")
        XCTAssertEqual(field(entry, "PIDS_MAX_SOURCE"), "inherited")
        XCTAssertEqual(field(entry, "PIDS_MAX_ORIGIN"), "systemd's DefaultTasksMax on its scope")
        XCTAssertTrue(entry.message.contains("no pids limit of its own"), entry.message)
        d.ticks(5)
        XCTAssertEqual(d.writer.entries(.pidsUnlimited).count, 1, "once")
    }

    func testSystemdDefaultOnCgroupV1() throws { try run(.v1) }

    func testSystemdDefaultOnCgroupV2() throws { try run(.v2) }

    /// On cgroup v2 the kernel notifies `pids.events` when a fork is refused:
    /// the entry comes without a poll and without /dev/kmsg.
    func testV2PidsEventsNotificationIsARefusal() throws {
        let id = IDs.make(32)
        engine.add(details(id, name: "bomb", pidsLimit: 40))
        try host.setScopePids(id, current: 3, max: 40)
        let d = try DaemonUnderTest(host: host, engine: engine, config: "pids:\n  poll_interval: 5s\n", cgroupVersion: .v2)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([id])
        d.tick()
        try host.setScopePids(id, current: 40, max: 40, refused: 6)
        d.waitUntil("the entry from the pids.events notification") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        XCTAssertEqual(field(d.writer.entries(.pidsExhausted, for: id).first, "PIDS_REJECTED"), "6")
    }
}
