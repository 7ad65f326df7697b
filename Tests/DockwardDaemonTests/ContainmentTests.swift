import DockwardCore
import DockwardDaemon
import DockwardDocker
import Foundation
import XCTest

/// Containment in-process: the real watches and detectors over a fixture
/// host, the scripted engine, a scripted action client, and the one outlet.
final class ContainmentTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var actions: ScriptedActions!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
        actions = ScriptedActions()
    }

    /// A forecast long enough for any steady growth here, a short trend window.
    static let base = """
        pids:
          forecast_horizon: 24h
          forecast_window: 10s
        alerts:
          recover_after: 5s
        """

    private func makeDaemon(_ actionsYAML: String) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: Self.base + "\n" + actionsYAML, actions: actions)
        addTeardownBlock { d.stop() }
        return d
    }

    private func pidsMax(_ id: ContainerID) throws -> String {
        try String(contentsOfFile: host.hierarchy + "/docker/" + id.full + "/pids.max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Grows an unlimited container by `step` tasks a tick until a forecast comes.
    private func leak(_ d: DaemonUnderTest, _ id: ContainerID, from start: Int = 10, step: Int = 20, ticks: Int = 12) throws {
        var current = start
        for _ in 0..<ticks {
            try host.setPids(id, current: current, max: nil)
            d.tick()
            current += step
            if !d.writer.entries(.pidsForecast, for: id).isEmpty { return }
        }
    }

    private func waitForNoCalls(_ d: DaemonUnderTest) {
        d.waitUntil("engine calls to end") { d.daemon.actionsInFlight == 0 }
    }

    // MARK: Cap

    func testRunawayWithoutLimitGetsTheCapInTheKernelAndTheEngine() throws {
        let id = IDs.make(1)
        engine.add(details(id, name: "leaky"))
        let d = try makeDaemon("actions: { enabled: true, cap_unlimited: 500 }")
        d.start()
        d.waitForNames([id])
        try leak(d, id)
        XCTAssertEqual(d.writer.entries(.pidsForecast, for: id).count, 1, "a forecast against the host's ceiling")
        d.waitUntil("the action-taken entry") { !d.writer.entries(.actionTaken, for: id).isEmpty }
        let taken = d.writer.entries(.actionTaken, for: id)
        XCTAssertEqual(taken.count, 1)
        XCTAssertEqual(field(taken.first, "DOCKWARD_ACTION"), "cap")
        XCTAssertEqual(field(taken.first, "PIDS_LIMIT_SET"), "500")
        XCTAssertEqual(field(taken.first, "ACTION_REASON"), "runaway-forecast")
        XCTAssertEqual(field(taken.first, "CGROUP_WRITE"), "ok")
        XCTAssertEqual(field(taken.first, "ENGINE_UPDATE"), "ok")
        XCTAssertEqual(taken.first?.priority, .warning)
        XCTAssertEqual(try pidsMax(id), "500", "the kernel's limit is written at once")
        XCTAssertEqual(actions.requests.map(\.id), [id])
        XCTAssertEqual(actions.requests.first?.request, .updatePidsLimit(500))
        let kinds = d.writer.entries.map(\.kind)
        XCTAssertLessThan(kinds.firstIndex(of: .pidsForecast)!, kinds.firstIndex(of: .actionTaken)!, "the alert, then the action")

        // It keeps growing at its new wall: no second action this episode.
        for n in 0..<5 {
            try host.setPids(id, current: 480 + n * 5, max: 500)
            d.tick()
        }
        waitForNoCalls(d)
        XCTAssertEqual(d.writer.entries.filter { $0.kind.role == .action }.count, 1)
        XCTAssertEqual(actions.clientsMade, 1, "one client, for the one action")
    }

    /// `docker update --pids-limit 40` on a container that had none: the
    /// update event brings the engine's word that the limit is its own, so
    /// a leak toward it is forecast against 40 and never capped over it.
    func testALimitGivenLaterWithDockerUpdateIsNeverCappedOver() throws {
        let id = IDs.make(9)
        engine.add(details(id, name: "updated"))
        try host.setPids(id, current: 10, max: nil)
        let d = try makeDaemon("actions: { enabled: true, cap_unlimited: 500 }")
        d.start()
        d.waitForNames([id])
        d.tick()
        engine.add(details(id, name: "updated", pidsLimit: 40))
        try host.setPids(id, current: 10, max: 40)
        engine.emit("update", id)
        let engine = self.engine!
        d.waitUntil("the update's inspect") { engine.inspectRequests(of: id) >= 2 }
        d.ticks(1)
        for current in stride(from: 12, through: 38, by: 2) {
            try host.setPids(id, current: current, max: 40)
            d.tick()
        }
        XCTAssertFalse(d.writer.entries(.pidsForecast, for: id).isEmpty, "the leak is forecast against its limit")
        XCTAssertEqual(field(d.writer.entries(.pidsForecast, for: id).first, "PIDS_MAX"), "40")
        waitForNoCalls(d)
        XCTAssertTrue(actions.requests.isEmpty, "no cap over the operator's limit: \(actions.requests)")
        XCTAssertEqual(try pidsMax(id), "40")
    }

    func testEngineDownAtTheCapKeepsTheKernelLimitAndTellsTheEngineWhenBack() throws {
        let id = IDs.make(2)
        engine.add(details(id, name: "leaky"))
        let d = try makeDaemon("actions: { enabled: true, cap_unlimited: 400 }")
        d.start()
        d.waitForNames([id])
        engine.setReachable(false)
        d.waitUntil("engine-lost") { !d.writer.entries(.engineLost).isEmpty }
        try leak(d, id)
        let taken = d.writer.entries(.actionTaken, for: id)
        XCTAssertEqual(taken.count, 1, "written at once: \(d.writer.entries.map(\.kind.rawValue))")
        XCTAssertEqual(field(taken.first, "CGROUP_WRITE"), "ok")
        XCTAssertEqual(field(taken.first, "ENGINE_UPDATE"), "pending")
        XCTAssertTrue(taken.first?.message.contains("engine is unreachable") ?? false)
        XCTAssertEqual(try pidsMax(id), "400")
        XCTAssertTrue(actions.requests.isEmpty)

        engine.setReachable(true)
        let actions = self.actions!
        d.waitUntil("the engine update after the outage", timeout: 10) { !actions.requests.isEmpty }
        XCTAssertEqual(actions.requests.first?.request, .updatePidsLimit(400))
        XCTAssertEqual(d.writer.entries.filter { $0.kind.role == .action }.count, 1, "the late update is no second action")
    }

    /// A restart while the engine is away: the state file carries the
    /// settled episode and the engine update still owed, so the next run
    /// tells the engine once it answers and does not act again.
    func testRestartCarriesThePendingEngineUpdateAndTheSettledEpisode() throws {
        let id = IDs.make(7)
        engine.add(details(id, name: "leaky"))
        let config = Self.base + "\nactions: { enabled: true, cap_unlimited: 300 }"
        let first = try DaemonUnderTest(host: host, engine: engine, config: config,
                                        stateDirectory: host.stateDirectory, actions: actions)
        first.start()
        first.waitForNames([id])
        engine.setReachable(false)
        first.waitUntil("engine-lost") { !first.writer.entries(.engineLost).isEmpty }
        try leak(first, id)
        XCTAssertEqual(field(first.writer.entries(.actionTaken, for: id).first, "ENGINE_UPDATE"), "pending")
        first.stop()

        let second = try DaemonUnderTest(host: host, engine: engine, config: config,
                                         stateDirectory: host.stateDirectory, actions: actions)
        addTeardownBlock { second.stop() }
        second.start()
        try leak(second, id, from: 200, step: 20, ticks: 4)
        XCTAssertTrue(actions.requests.isEmpty, "the engine is still away")
        engine.setReachable(true)
        let actions = self.actions!
        second.waitUntil("the owed engine update", timeout: 10) { !actions.requests.isEmpty }
        XCTAssertEqual(actions.requests.map(\.request), [.updatePidsLimit(300)])
        waitForNoCalls(second)
        XCTAssertEqual(second.writer.entries.filter { $0.kind.role == .action }.map(\.kind), [],
                       "the episode was settled before the restart")
    }

    func testCapFailsWhenNeitherTheKernelNorTheEngineTakesIt() throws {
        let id = IDs.make(3)
        engine.add(details(id, name: "leaky"))
        actions.fail(id, with: DockerClientError.httpStatus(code: 500, request: "/update", message: "no"))
        let d = try makeDaemon("actions: { enabled: true, cap_unlimited: 300 }")
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 1, max: nil)
        d.tick()
        // pids.max made unwritable: a folder where the file was.
        let file = host.hierarchy + "/docker/" + id.full + "/pids.max"
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
        var current = 10
        for _ in 0..<12 where d.writer.entries(.pidsForecast, for: id).isEmpty {
            try FixtureHost.write("\(current)\n", to: host.hierarchy + "/docker/" + id.full + "/pids.current")
            d.tick()
            current += 20
        }
        d.waitUntil("the action-failed entry") { !d.writer.entries(.actionFailed, for: id).isEmpty }
        let failed = d.writer.entries(.actionFailed, for: id)
        XCTAssertEqual(failed.first?.priority, .err)
        XCTAssertTrue(field(failed.first, "CGROUP_WRITE")?.hasPrefix("failed: ") ?? false)
        XCTAssertTrue(field(failed.first, "ENGINE_UPDATE")?.contains("500") ?? false, "\(failed)")
    }

    // MARK: Exhausted

    func testForkBombAtItsLimitIsPausedAfterExhaustedFor() throws {
        let id = IDs.make(4)
        engine.add(details(id, name: "bomb", pidsLimit: 50))
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: pause, exhausted_for: 5s }")
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 3, max: 50)
        d.ticks(2)
        var refused = 10
        for _ in 0..<5 {
            try host.setPids(id, current: 50, max: 50, refused: refused)
            d.tick()
            refused += 100
        }
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: id).count, 1)
        waitForNoCalls(d)
        XCTAssertTrue(d.writer.entries(.actionTaken, for: id).isEmpty, "4 s of refusals: not yet")
        for _ in 0..<3 {
            try host.setPids(id, current: 50, max: 50, refused: refused)
            d.tick()
            refused += 100
        }
        d.waitUntil("the pause") { !d.writer.entries(.actionTaken, for: id).isEmpty }
        let taken = d.writer.entries(.actionTaken, for: id)
        XCTAssertEqual(field(taken.first, "DOCKWARD_ACTION"), "pause")
        XCTAssertEqual(field(taken.first, "ACTION_REASON"), "exhausted")
        XCTAssertEqual(field(taken.first, "PIDS_MAX"), "50")
        XCTAssertEqual(field(taken.first, "ACTION_UNDO"), "docker unpause \(id.short)")
        XCTAssertEqual(actions.requests.map(\.request), [.pause])
        XCTAssertEqual(try pidsMax(id), "50", "its own limit is left as it is")
    }

    /// Containment decides once after each pass. Another container's
    /// recovery (a finding that schedules a pass of its own) must not run
    /// a second one after the poll's, which would see no fresh refusal and
    /// restart `exhausted_for` for a container refusing with room.
    func testAContainerRefusingWithRoomIsActedOnInTimeWhileAnotherRecovers() throws {
        let bomb = IDs.make(30), calm = IDs.make(31)
        engine.add(details(bomb, name: "bomb", pidsLimit: 50))
        engine.add(details(calm, name: "calm", pidsLimit: 50))
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: pause, exhausted_for: 6s }")
        d.start()
        d.waitForNames([bomb, calm])
        try host.setPids(bomb, current: 3, max: 50)
        try host.setPids(calm, current: 3, max: 50)
        d.ticks(2)
        // calm refuses once: an episode that recovers `recover_after` (5 s) later.
        try host.setPids(calm, current: 3, max: 50, refused: 1)
        d.ticks(3)
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: calm).count, 1)
        // bomb refuses forks every second with room left (a burst at a time).
        var refused = 10
        var ticksRefusing = 0
        let daemon = d.daemon
        func acted() -> Bool {
            DaemonActor.sync { daemon.actionsInFlight > 0 } || !d.writer.entries(.actionTaken, for: bomb).isEmpty
        }
        while !acted() && ticksRefusing < 12 {
            try host.setPids(bomb, current: 40, max: 50, refused: refused)
            refused += 10
            d.tick()
            ticksRefusing += 1
        }
        XCTAssertEqual(d.writer.entries(.pidsRecovered, for: calm).count, 1, "calm recovered meanwhile: \(ticksRefusing) \(d.writer.findings.map { "\($0.kind.rawValue) \($0.container?.displayName ?? "")" })")
        XCTAssertEqual(ticksRefusing, 7, "the pause comes when bomb has refused for exhausted_for (6 s), whatever calm does")
        d.waitUntil("the pause") { !d.writer.entries(.actionTaken, for: bomb).isEmpty }
        XCTAssertEqual(actions.requests.map(\.request), [.pause])
    }

    /// A busybox fork bomb under --pids-limit refuses a burst of forks,
    /// then holds every slot with its shells blocked and refuses no more.
    func testASaturatedForkBombIsPausedThoughItRefusesNoMore() throws {
        let id = IDs.make(16)
        engine.add(details(id, name: "bomb", pidsLimit: 64))
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: pause, exhausted_for: 5s }")
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 3, max: 64)
        d.ticks(2)
        try host.setPids(id, current: 64, max: 64, refused: 43)
        d.ticks(5)
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: id).count, 1)
        waitForNoCalls(d)
        XCTAssertTrue(d.writer.entries(.actionTaken, for: id).isEmpty, "4 s pinned at its limit: not yet")
        d.ticks(2)
        d.waitUntil("the pause") { !d.writer.entries(.actionTaken, for: id).isEmpty }
        XCTAssertEqual(actions.requests.map(\.request), [.pause])
        XCTAssertEqual(d.writer.actionReports.map(\.reason), [.exhausted], "the typed report, as containment made it")
        XCTAssertTrue(d.metrics.render(containers: []).contains(#"dockward_actions_total{action="pause",result="taken"} 1"#),
                      "the metrics count the typed report")
    }

    /// The engine paused it, but answers only after the stop began: the
    /// result is journaled before `daemon-stopped`.
    func testAnActionInFlightAtStopIsJournaledBeforeDaemonStopped() throws {
        let id = IDs.make(17)
        engine.add(details(id, name: "bomb", pidsLimit: 20))
        actions.hold(id)
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: pause, exhausted_for: 2s }")
        d.start()
        d.waitForNames([id])
        for refused in [5, 15, 25, 35] {
            try host.setPids(id, current: 20, max: 20, refused: refused)
            d.tick()
        }
        d.waitUntil("the pause under way") { d.daemon.actionsInFlight == 1 }
        // The stop begins (STOPPING=1, waiting for the pause); then the engine answers.
        let stopped = DispatchSemaphore(value: 0)
        d.daemon.stop { stopped.signal() }
        d.waitUntil("the stop to begin") { d.notifier.messages.contains("STOPPING=1") }
        XCTAssertTrue(d.writer.entries(.actionTaken, for: id).isEmpty, "the pause is still out")
        actions.release(id)
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        let kinds = d.writer.entries.map(\.kind)
        XCTAssertEqual(kinds.suffix(2), [.actionTaken, .daemonStopped], "\(kinds.map(\.rawValue))")
        XCTAssertEqual(actions.requests.map(\.request), [.pause])
    }

    /// An engine that never answers within the grace: the action is
    /// journaled as failed with its result unknown, still before `daemon-stopped`.
    func testAnActionStillOpenAfterTheStopGraceIsJournaledAsUnknown() throws {
        let id = IDs.make(18)
        engine.add(details(id, name: "bomb", pidsLimit: 20))
        actions.hold(id)
        let d = try DaemonUnderTest(host: host, engine: engine, config: Self.base + "\nactions: { enabled: true, on_exhausted: kill, exhausted_for: 2s }",
                                    actions: actions, actionsStopGrace: .milliseconds(300))
        d.start()
        d.waitForNames([id])
        for refused in [5, 15, 25, 35] {
            try host.setPids(id, current: 20, max: 20, refused: refused)
            d.tick()
        }
        d.waitUntil("the kill under way") { d.daemon.actionsInFlight == 1 }
        d.stop()
        let kinds = d.writer.entries.map(\.kind)
        XCTAssertEqual(kinds.suffix(2), [.actionFailed, .daemonStopped], "\(kinds.map(\.rawValue))")
        XCTAssertTrue(field(d.writer.entries(.actionFailed, for: id).first, "ACTION_ERROR")?.contains("may still take effect") ?? false)
        actions.release(id)
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(d.writer.entries.map(\.kind).last, .daemonStopped, "a late answer writes nothing after the stop")
    }

    func testAContainerThatStoppedRefusingIsLeftAlone() throws {
        let id = IDs.make(5)
        engine.add(details(id, name: "svc", pidsLimit: 50))
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: kill, exhausted_for: 3s }")
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 3, max: 50)
        d.ticks(2)
        try host.setPids(id, current: 50, max: 50, refused: 4)
        d.tick()
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: id).count, 1)
        // It backed off: no more refusals for 10 s.
        try host.setPids(id, current: 40, max: 50, refused: 4)
        d.ticks(10)
        waitForNoCalls(d)
        XCTAssertTrue(d.writer.entries.filter { $0.kind.role == .action }.isEmpty, "\(d.writer.entries.map(\.kind.rawValue))")
        XCTAssertTrue(actions.requests.isEmpty)
    }

    func testEngineRefusingThePauseIsAFailedEntry() throws {
        let id = IDs.make(6)
        engine.add(details(id, name: "bomb", pidsLimit: 20))
        actions.fail(id, with: DockerClientError.httpStatus(code: 409, request: "/pause", message: "container is not running"))
        let d = try makeDaemon("actions: { enabled: true, on_exhausted: stop, exhausted_for: 2s }")
        d.start()
        d.waitForNames([id])
        var refused = 1
        for _ in 0..<5 {
            try host.setPids(id, current: 20, max: 20, refused: refused)
            d.tick()
            refused += 10
        }
        d.waitUntil("the action-failed entry") { !d.writer.entries(.actionFailed, for: id).isEmpty }
        let failed = d.writer.entries(.actionFailed, for: id)
        XCTAssertEqual(field(failed.first, "DOCKWARD_ACTION"), "stop")
        XCTAssertTrue(field(failed.first, "ACTION_ERROR")?.contains("container is not running") ?? false)
    }

    // MARK: Left alone

    func testDryRunSaysWhatItWouldDoAndChangesNothing() throws {
        let id = IDs.make(7)
        engine.add(details(id, name: "leaky"))
        let d = try makeDaemon("actions: { enabled: true, dry_run: true, cap_unlimited: 500 }")
        d.start()
        d.waitForNames([id])
        try leak(d, id)
        let dry = d.writer.entries(.actionDryRun, for: id)
        XCTAssertEqual(dry.count, 1)
        XCTAssertEqual(dry.first?.priority, .notice)
        XCTAssertTrue(dry.first?.message.hasPrefix("Dry run: would give container leaky") ?? false, dry.first?.message ?? "")
        XCTAssertEqual(try pidsMax(id), "max")
        XCTAssertEqual(actions.clientsMade, 0, "no action client is made for a dry run")
    }

    func testLabelIgnoreAndAllowRulesAreLeftAloneAndSaidOnce() throws {
        let labelled = IDs.make(8), ignored = IDs.make(9), allowed = IDs.make(10), off = IDs.make(11)
        engine.add(details(labelled, name: "labelled", labels: ["dockward.actions": "off"]))
        engine.add(details(ignored, name: "quiet-1"))
        engine.add(details(allowed, name: "portainer"))
        engine.add(details(off, name: "batch-1"))
        let d = try makeDaemon("""
            actions: { enabled: true, cap_unlimited: 500 }
            overrides:
              - match: { name: "quiet-*" }
                ignore: true
              - match: { name: "batch-*" }
                actions: { enabled: false }
            host_control:
              allow:
                - { name: "portainer" }
            """)
        d.start()
        d.waitForNames([labelled, ignored, allowed, off])
        var current = 10
        for _ in 0..<14 {
            for id in [labelled, ignored, allowed, off] { try host.setPids(id, current: current, max: nil) }
            d.tick()
            current += 20
        }
        waitForNoCalls(d)
        XCTAssertEqual(d.writer.entries(.actionSkipped, for: labelled).map { field($0, "SKIP_REASON") }, ["label"])
        XCTAssertTrue(d.writer.entries(.pidsForecast, for: ignored).isEmpty, "ignored: no alert, so no trigger")
        XCTAssertEqual(d.writer.entries(.actionSkipped, for: allowed).map { field($0, "SKIP_REASON") }, ["allow-rule"])
        XCTAssertTrue(d.writer.entries.filter { $0.kind.role == .action && $0.container?.id == off }.isEmpty,
                      "actions off by an override: nothing asked, nothing said")
        XCTAssertTrue(actions.requests.isEmpty)
        for id in [labelled, ignored, allowed, off] { XCTAssertEqual(try pidsMax(id), "max") }
    }

    // MARK: The host at its wall

    func testHostAtErrCapsTheFastestGrowingContainerWithoutALimit() throws {
        let slow = IDs.make(12), fast = IDs.make(13), limited = IDs.make(14)
        engine.add(details(slow, name: "slow"))
        engine.add(details(fast, name: "fast"))
        engine.add(details(limited, name: "limited", pidsLimit: 10000))
        // A horizon too short for a forecast: only the host's level can trigger.
        let d = try DaemonUnderTest(host: host, engine: engine, config: """
            pids:
              forecast_horizon: 1s
            actions: { enabled: true, cap_unlimited: 2000 }
            """, actions: actions)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([slow, fast, limited])
        for n in 0..<6 {
            try host.setPids(slow, current: 10 + n, max: nil)
            try host.setPids(fast, current: 10 + 50 * n, max: nil)
            try host.setPids(limited, current: 10 + 100 * n, max: 10000)
            d.tick()
        }
        XCTAssertTrue(d.writer.entries.filter { $0.kind.role == .action }.isEmpty)
        try FixtureHost.write("0.10 0.20 0.30 1/96000 12345\n", to: host.proc + "/loadavg")
        try host.setPids(fast, current: 400, max: nil)
        d.tick()
        XCTAssertEqual(d.writer.entries(.hostPidsHigh).first?.priority, .err)
        d.waitUntil("the cap") { !d.writer.entries(.actionTaken).isEmpty }
        let taken = d.writer.entries(.actionTaken)
        XCTAssertEqual(taken.map { $0.container?.id }, [fast])
        XCTAssertEqual(field(taken.first, "ACTION_REASON"), "host-pids-high")
        XCTAssertEqual(try pidsMax(fast), "2000")
        XCTAssertEqual(try pidsMax(slow), "max")
    }

    // MARK: Reload

    func testReloadTurnsActionsOn() throws {
        let id = IDs.make(15)
        engine.add(details(id, name: "leaky"))
        let d = try makeDaemon("actions: { enabled: false, cap_unlimited: 500 }")
        d.start()
        d.waitForNames([id])
        try leak(d, id)
        XCTAssertEqual(d.writer.entries(.pidsForecast, for: id).count, 1)
        XCTAssertTrue(d.writer.entries.filter { $0.kind.role == .action }.isEmpty, "off: nothing at all")
        try FixtureHost.write(Self.base + "\nactions: { enabled: true, cap_unlimited: 500 }\n", to: d.configPath)
        d.daemon.reload()
        d.waitUntil("the reload") { !d.writer.entries(.configReloaded).isEmpty }
        XCTAssertTrue(d.writer.entries(.configReloaded).first?.message.contains("actions.enabled: false -> true") ?? false)
    }
}
