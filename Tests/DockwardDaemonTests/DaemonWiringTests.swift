import DockwardCore
import DockwardDaemon
import DockwardDocker
import Foundation
import XCTest

/// The wiring, in-process: the real watches, detectors, cgroup reader and
/// exposure analysis over a fixture host, a scripted engine behind
/// `EngineAPI`, and a recording writer at the end of the one outlet. No
/// root, no engine, no journald.
final class DaemonWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func makeDaemon(config: String = "", stateDirectory: String? = nil) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: config, stateDirectory: stateDirectory)
        addTeardownBlock { d.stop() }
        return d
    }

    // MARK: A pids episode, first sample to recovery

    func testForkBombEpisodeFromFirstRefusalToRecovery() throws {
        let id = IDs.make(1)
        engine.add(details(id, name: "bomb"))
        let d = try makeDaemon(config: "alerts:\n  recover_after: 5s\n")
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 3, max: 50)
        d.ticks(2)
        XCTAssertTrue(d.writer.entries(.pidsExhausted).isEmpty, "a calm container says nothing")

        // The bomb hits its wall between two polls.
        try host.setPids(id, current: 50, max: 50, refused: 17)
        d.tick()
        let exhausted = d.writer.entries(.pidsExhausted, for: id)
        XCTAssertEqual(exhausted.count, 1)
        XCTAssertEqual(exhausted.first?.container?.metadata?.name, "bomb", "the first alert already carries the name")
        XCTAssertEqual(exhausted.first?.priority, .crit)
        XCTAssertEqual(field(exhausted.first, "PIDS_REJECTED"), "17")
        XCTAssertEqual(field(exhausted.first, "CGROUP_PATH"), host.hierarchy + "/docker/" + id.full)

        // Still refusing: no second alert inside repeat_interval.
        try host.setPids(id, current: 50, max: 50, refused: 40)
        d.ticks(3)
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: id).count, 1)

        // Killed off: calm for recover_after closes the episode, once.
        try host.setPids(id, current: 2, max: 50, refused: 40)
        d.ticks(8)
        XCTAssertEqual(d.writer.entries(.pidsRecovered, for: id).count, 1)
        XCTAssertEqual(DaemonActor.sync { d.daemon.statusLine }, "watching 1 containers, 0 alerting, engine connected; refusals via poll (kmsg and journal unreadable)")
    }

    func testContainerUnknownToTheEngineIsJudgedByIdAfterTheGrace() throws {
        let id = IDs.make(2)  // a cgroup the engine does not list
        try host.setPids(id, current: 5, max: nil)
        let d = try makeDaemon()
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.ticks(4)
        let unlimited = d.writer.entries(.pidsUnlimited, for: id)
        XCTAssertEqual(unlimited.count, 1)
        XCTAssertNil(unlimited.first?.container?.metadata, "no name to give")
    }

    func testOverrideByNameAppliesToTheFirstJudgement() throws {
        let id = IDs.make(3)
        engine.add(details(id, name: "ci-runner-7"))
        try host.setPids(id, current: 5, max: nil)
        let d = try makeDaemon(config: """
            overrides:
              - match: { name: "ci-runner-*" }
                unlimited: ignore
            """)
        d.start()
        d.waitForNames([id])
        d.ticks(5)
        XCTAssertTrue(d.writer.entries(.pidsUnlimited).isEmpty, "the override is known before the container is judged")
        XCTAssertEqual(DaemonActor.sync { d.daemon.watchedContainerCount }, 1, "the container was watched")
    }

    // MARK: Socket exposure, event to entry

    func testSocketExposureFromCreateEventToOneEntry() throws {
        let d = try makeDaemon()
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        // The listing at connect comes after "connected": a container added
        // before it would be found by the listing, not by its create event.
        d.waitUntil("the first listing") { d.engine.listings > 0 }
        let id = IDs.make(4)
        let socketFolder = (host.engineSocket as NSString).deletingLastPathComponent
        engine.add(details(id, name: "ci", binds: [(socketFolder, "/host-run")], state: "created"))
        engine.emit("create", id, timeNano: 1_700_000_000_123_456_789)
        engine.emit("start", id)
        d.waitUntil("the socket-mount entry") { !d.writer.entries(.socketMount).isEmpty }
        let entry = d.writer.entries(.socketMount, for: id)
        XCTAssertEqual(entry.count, 1)
        XCTAssertEqual(field(entry.first, "EXPOSURE"), "parent-dir")
        XCTAssertEqual(field(entry.first, "SOCKET_PATH"), host.engineSocket)
        XCTAssertEqual(field(entry.first, "ENGINE_EVENT_NANO"), "1700000000123456789")
        XCTAssertEqual(field(entry.first, "CONTAINER_STATE"), "created")
        XCTAssertEqual(entry.first?.priority, .crit)

        let clean = IDs.make(5)
        engine.add(details(clean, name: "web", binds: [(host.root + "/proc", "/data")]))
        engine.emit("create", clean)
        d.waitUntil("the clean container to be inspected") { d.engine.inspected.contains(clean) }
        d.ticks(1)
        XCTAssertEqual(d.writer.entries(.socketMount).count, 1, "an unrelated bind is not an exposure")
        // The start's inspect tells where its main process runs (its cgroup); the verdict stays one.
        d.waitUntil("the start's inspect") { d.engine.inspected.filter { $0 == id }.count == 2 }
        XCTAssertEqual(d.writer.entries(.socketMount, for: id).count, 1, "create and start: two inspects, one verdict")
    }

    /// Every class of the host-control watch through the wiring: a volume
    /// that binds the socket's folder (options from the engine's volume
    /// record), a hard link of the socket (found at start, said in the start
    /// entry), privileged, the engine's data root, an allowed container; one
    /// entry per container and kind, and none again after a restart.
    func testHostControlClassesOneEntryEachAndNoneAfterRestart() throws {
        let dataRoot = host.root + "/engine-data"
        let links = host.root + "/links"
        try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: links, withIntermediateDirectories: true)
        XCTAssertEqual(link(host.engineSocket, links + "/engine.sock"), 0, "hard link: \(errno)")
        engine = ScriptedEngine(socketPath: host.engineSocket, dataRoot: dataRoot)
        let socketFolder = (host.engineSocket as NSString).deletingLastPathComponent
        engine.addVolume("bound", VolumeInfo(driver: "local", options: ["type": "none", "o": "bind", "device": socketFolder]))

        let volume = IDs.make(0x31), linked = IDs.make(0x32), privileged = IDs.make(0x33), state = IDs.make(0x34)
        let allowed = IDs.make(0x35)
        var v = details(volume, name: "vol")
        v.volumes = [VolumeMount(name: "bound", destination: "/x", driver: "local", readWrite: true)]
        engine.add(v)
        engine.add(details(linked, name: "linked", binds: [(links, "/l")]))
        var p = details(privileged, name: "priv", state: "created")
        p.privileged = true
        engine.add(p)
        engine.add(details(state, name: "state", binds: [(dataRoot + "/containers", "/c")]))
        var a = details(allowed, name: "tools")
        a.pidMode = "host"
        a.capAdd = ["CAP_SYS_PTRACE"]
        engine.add(a)

        let config = """
            host_control:
              allow: [{ name: tools }]
            """
        let first = try makeDaemon(config: config, stateDirectory: host.stateDirectory)
        first.start()
        XCTAssertEqual(field(first.writer.entries(.daemonStarted).first, "SOCKET_HARD_LINKS"), links + "/engine.sock")
        first.waitForNames([volume, linked, privileged, state, allowed])
        first.ticks(2)
        let viaVolume = first.writer.entries(.socketMount, for: volume)
        XCTAssertEqual(viaVolume.count, 1)
        XCTAssertEqual(field(viaVolume.first, "MOUNT_VOLUME"), "bound")
        XCTAssertEqual(field(viaVolume.first, "MOUNT_SOURCE"), socketFolder)
        XCTAssertEqual(field(viaVolume.first, "EXPOSURE"), "parent-dir")
        let viaLink = first.writer.entries(.socketMount, for: linked)
        XCTAssertEqual(viaLink.count, 1)
        XCTAssertEqual(field(viaLink.first, "EXPOSURE"), "hard-link")
        XCTAssertEqual(field(viaLink.first, "SOCKET_LINK"), links + "/engine.sock")
        XCTAssertEqual(first.writer.entries(.privileged, for: privileged).map(\.priority), [.crit])
        let stateEntries = first.writer.entries(.engineStateMount, for: state)
        XCTAssertEqual(stateEntries.count, 1)
        XCTAssertEqual(field(stateEntries.first, "ENGINE_STATE_PATH"), dataRoot)
        let notice = first.writer.entries(.hostControlAllowed, for: allowed)
        XCTAssertEqual(notice.map(\.priority), [.notice])
        XCTAssertEqual(field(notice.first, "HOST_CONTROL"), "host-pid")
        XCTAssertEqual(first.writer.entries(.hostPID), [], "allowed: a notice, not an alert")
        let alerts = first.writer.entries.filter { $0.kind.role != .event }
        first.stop()

        let second = try makeDaemon(config: config, stateDirectory: host.stateDirectory)
        second.start()
        XCTAssertEqual(field(second.writer.entries(.daemonStarted).first, "DOCKWARD_OPEN_EPISODES"), String(alerts.count),
                       alerts.map(\.kind.rawValue).description)
        second.waitForNames([volume, linked, privileged, state, allowed])
        second.ticks(2)
        XCTAssertEqual(second.writer.entries.filter { $0.kind.role != .event }.map(\.kind), [], "nothing reported again")
    }

    /// Behind a socket proxy that refuses `/volumes` and `/info`, the engine
    /// is still up and every container still judged: inline volume options
    /// and binds count, only the data root goes unwatched.
    func testEngineRefusingVolumesAndInfoIsNoOutage() throws {
        engine.refusesVolumesAndInfo = true
        let socketFolder = (host.engineSocket as NSString).deletingLastPathComponent
        let inline = IDs.make(0x41), plain = IDs.make(0x42)
        var v = details(inline, name: "inline")
        v.volumes = [VolumeMount(name: "opt", destination: "/x", driver: "local", readWrite: true,
                                 options: ["type": "none", "o": "bind", "device": socketFolder])]
        engine.add(v)
        engine.add(details(plain, name: "plain", binds: [(host.engineSocket, "/s")]))
        let d = try makeDaemon()
        d.start()
        d.waitForNames([inline, plain])
        d.ticks(1)
        XCTAssertEqual(d.writer.entries(.engineLost), [], "a refusal is an answer, not an outage")
        XCTAssertEqual(field(d.writer.entries(.socketMount, for: inline).first, "MOUNT_VOLUME"), "opt")
        XCTAssertEqual(d.writer.entries(.socketMount, for: plain).count, 1)
    }

    /// A mount whose host path cannot be resolved is an `err` entry naming
    /// the path and the reason, never a clean verdict. A symlink loop stands
    /// in for a folder closed to the daemon (the tests run as root, which
    /// every folder lets through): realpath fails with ELOOP instead of EACCES.
    func testUnresolvableMountIsReportedNotPassedAsClean() throws {
        let loop = host.root + "/srv/loop"
        try FileManager.default.createDirectory(atPath: host.root + "/srv", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        let d = try makeDaemon(config: """
            socket_watch:
              allow:
                - { name: trusted }
            """)
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.waitUntil("the first listing") { d.engine.listings > 0 }
        let id = IDs.make(6)
        engine.add(details(id, name: "probe", binds: [(loop + "/docker.sock", "/var/run/docker.sock")]))
        engine.emit("create", id, timeNano: 1_700_000_000_000_000_001)
        d.waitUntil("the unresolved entry") { !d.writer.entries(.socketMountUnresolved).isEmpty }
        let entry = d.writer.entries(.socketMountUnresolved, for: id)
        XCTAssertEqual(entry.count, 1)
        XCTAssertEqual(entry.first?.priority, .err)
        XCTAssertEqual(field(entry.first, "MOUNT_SOURCE"), loop + "/docker.sock")
        XCTAssertEqual(field(entry.first, "PATH_ERROR"), String(cString: strerror(ELOOP)))
        XCTAssertEqual(field(entry.first, "ENGINE_EVENT_NANO"), "1700000000000000001")
        XCTAssertTrue(entry.first?.message.contains(loop) ?? false, entry.first?.message ?? "")
        XCTAssertEqual(d.writer.entries(.socketMount).count, 0)

        // An allow rule that matches: the container may reach the socket anyway.
        let allowed = IDs.make(7)
        engine.add(details(allowed, name: "trusted", binds: [(loop + "/x", "/x")]))
        engine.emit("create", allowed)
        d.waitUntil("the allowed container to be inspected") { d.engine.inspected.contains(allowed) }
        d.ticks(1)
        XCTAssertEqual(d.writer.entries(.socketMountUnresolved).count, 1, "one verdict per container")
    }

    // MARK: An engine outage

    func testEngineOutageGivesOneLostAndOneBackEntry() throws {
        let d = try makeDaemon()
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        engine.setReachable(false)
        // Several retries (250 ms, 500 ms, 1 s) fail while it is away.
        let before = engine.negotiations
        d.waitUntil("three failed retries", timeout: 10) { d.engine.negotiations >= before + 3 }
        XCTAssertEqual(d.writer.entries(.engineLost).count, 1)
        XCTAssertTrue(DaemonActor.sync { d.daemon.statusLine }.contains("engine not connected;"))

        // A container created meanwhile is found by the listing on return.
        let id = IDs.make(6)
        engine.add(details(id, name: "during", binds: [(host.engineSocket, "/var/run/docker.sock")]))
        engine.setReachable(true)
        d.waitUntil("the engine to return", timeout: 10) { !d.writer.entries(.engineBack).isEmpty }
        d.waitUntil("the exposure of a container made during the outage") { !d.writer.entries(.socketMount, for: id).isEmpty }
        XCTAssertEqual(d.writer.entries(.engineLost).count, 1)
        XCTAssertEqual(d.writer.entries(.engineBack).count, 1)
        XCTAssertNotNil(field(d.writer.entries(.engineBack).first, "OUTAGE_SECONDS"))
        XCTAssertNil(field(d.writer.entries(.socketMount, for: id).first, "ENGINE_EVENT_NANO"), "found by listing")
    }

    func testEngineAbsentAtStartIsOneLostEntryAndThePidsWatchGoesOn() throws {
        engine.setReachable(false)
        let id = IDs.make(7)
        try host.setPids(id, current: 9, max: nil)
        let d = try makeDaemon()
        d.start()
        d.ticks(4)
        XCTAssertEqual(d.writer.entries(.pidsUnlimited, for: id).count, 1, "watched by id without the engine")
        d.waitUntil("retries", timeout: 10) { d.engine.negotiations >= 3 }
        XCTAssertEqual(d.writer.entries(.engineLost).count, 1)
        XCTAssertTrue(d.writer.entries(.engineBack).isEmpty)
    }

    // MARK: Reload

    func testReloadAppliesAGoodConfigAndRefusesABadOne() throws {
        let d = try makeDaemon(config: "pids:\n  warn_ratio: 0.8\n")
        d.start()
        try FixtureHost.write("pids:\n  warn_ratio: 0.5\n", to: d.configPath)
        d.daemon.reload()
        d.waitUntil("the reload entry") { !d.writer.entries(.configReloaded).isEmpty }
        XCTAssertTrue(d.writer.entries(.configReloaded)[0].message.contains("pids.warn_ratio: 0.8 -> 0.5"),
                      d.writer.entries(.configReloaded)[0].message)

        try FixtureHost.write("pids:\n  warn_ratio: 2\n", to: d.configPath)
        d.daemon.reload()
        d.waitUntil("the rejection") { !d.writer.entries(.configRejected).isEmpty }
        let rejected = d.writer.entries(.configRejected)[0]
        XCTAssertEqual(field(rejected, "CONFIG_LINE"), "2")
        XCTAssertEqual(field(rejected, "CONFIG_KEY"), "pids.warn_ratio")
        XCTAssertEqual(d.notifier.messages.filter { $0 == "RELOADING=1" }.count, 2)

        // The running config is still 0.5: 60 of 100 warns after high_for.
        let id = IDs.make(8)
        engine.add(details(id, name: "half"))
        try host.setPids(id, current: 60, max: 100)
        d.tick()
        d.waitForNames([id])
        d.ticks(6)
        XCTAssertEqual(d.writer.entries(.pidsHigh, for: id).count, 1)
    }

    // MARK: A restart with a state file

    func testRestartWithStateFileRepeatsNoAlert() throws {
        let exposed = IDs.make(9), unlimited = IDs.make(10), bomb = IDs.make(11)
        engine.add(details(exposed, name: "exposed", binds: [(host.engineSocket, "/var/run/docker.sock")]))
        engine.add(details(unlimited, name: "unlimited"))
        engine.add(details(bomb, name: "bomb"))
        try host.setPids(unlimited, current: 4, max: nil)
        try host.setPids(bomb, current: 20, max: 20, refused: 5)

        let first = try makeDaemon(stateDirectory: host.stateDirectory)
        first.start()
        first.waitForNames([exposed, unlimited, bomb])
        first.ticks(4)
        XCTAssertEqual(first.writer.entries(.pidsUnlimited, for: unlimited).count, 1)
        XCTAssertEqual(first.writer.entries(.pidsExhausted, for: bomb).count, 1)
        first.stop()
        XCTAssertTrue(FileManager.default.fileExists(atPath: host.stateDirectory + "/state.json"))
        let opened = first.writer.entries.filter { $0.kind.role != .event }
        XCTAssertGreaterThanOrEqual(opened.count, 3, opened.map(\.kind.rawValue).description)

        let second = try makeDaemon(stateDirectory: host.stateDirectory)
        second.start()
        let started = second.writer.entries(.daemonStarted)
        XCTAssertEqual(field(started.first, "DOCKWARD_OPEN_EPISODES"), String(opened.count),
                       started.first?.message ?? "no start entry")
        // Positive control: the second run did list and judge every container.
        second.waitForNames([exposed, unlimited, bomb])
        second.ticks(6)
        XCTAssertEqual(DaemonActor.sync { second.daemon.watchedContainerCount }, 2)
        XCTAssertEqual(second.writer.entries.filter { $0.kind.role != .event }.map(\.kind), [],
                       "nothing already reported is reported again")

        // A new refusal in the open episode is still not a new episode, but the bomb's calm closes it.
        try host.setPids(bomb, current: 1, max: 20, refused: 5)
        second.ticks(35)
        XCTAssertEqual(second.writer.entries(.pidsRecovered, for: bomb).count, 1, "the carried-over episode still closes")
    }

    func testGarbledStateFileIsReportedAndAlertsAreRepeated() throws {
        try FixtureHost.write("{\"format\": 1, \"bootID\": tru", to: host.stateDirectory + "/state.json")
        let id = IDs.make(12)
        engine.add(details(id, name: "exposed", binds: [(host.engineSocket, "/sock")]))
        let d = try makeDaemon(stateDirectory: host.stateDirectory)
        d.start()
        d.waitUntil("the exposure") { !d.writer.entries(.socketMount, for: id).isEmpty }
        XCTAssertEqual(field(d.writer.entries(.daemonStarted).first, "DOCKWARD_OPEN_EPISODES"), "0")
        d.stop()
        // Written anew, whole, on the way out.
        let text = try String(contentsOfFile: host.stateDirectory + "/state.json", encoding: .utf8)
        XCTAssertTrue(text.contains(id.full), text)
    }

    // MARK: Stop

    func testStopCancelsTheEngineAndSaysStopping() throws {
        let d = try makeDaemon()
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.tick()
        d.stop()
        XCTAssertTrue(engine.shutDown, "the engine's connections are closed")
        XCTAssertEqual(d.notifier.messages.first?.hasPrefix("READY=1"), true)
        XCTAssertEqual(d.notifier.messages.last, "STOPPING=1")
        XCTAssertEqual(d.writer.entries.last?.kind, .daemonStopped)
    }
}
