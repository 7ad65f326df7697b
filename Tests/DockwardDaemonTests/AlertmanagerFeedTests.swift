import DockwardAlertmanager
import DockwardCore
import DockwardDaemon
import DockwardDocker
import Foundation
import XCTest

/// The Alertmanager feed through the wiring: typed findings open one alert
/// per episode, the owners of each episode end it, and a restart takes the
/// open ones up. A recorder stands where the delivery POSTs (the delivery
/// itself is tested against a real Alertmanager in AlertmanagerDeliveryTests).
final class AlertmanagerFeedTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private let minute: Int64 = 60_000_000_000

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func config(_ extra: String = "") -> String {
        "alerts:\n  recover_after: 5s\nalertmanager:\n  urls: [\"http://am.test:9093\"]\n" + extra
    }

    private func makeDaemon(config: String, submitter: RecordingSubmitter,
                            stateDirectory: String? = nil) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: config, stateDirectory: stateDirectory,
                                    alertmanager: submitter)
        addTeardownBlock { d.stop() }
        return d
    }

    /// A container whose bind mounts the engine's socket.
    private func mountingTheSocket(_ id: ContainerID, name: String) -> ContainerDetails {
        details(id, name: name, binds: [(host.engineSocket, "/var/run/docker.sock")])
    }

    /// A started daemon that has judged one container mounting the socket
    /// (listed at connect) and made one pass since.
    private func startedWithMountedSocket(_ id: ContainerID, name: String, config: String,
                                          submitter: RecordingSubmitter) throws -> DaemonUnderTest {
        engine.add(mountingTheSocket(id, name: name))
        let d = try makeDaemon(config: config, submitter: submitter)
        d.start()
        d.waitUntil("the socket-mount entry") { !d.writer.entries(.socketMount).isEmpty }
        d.tick()
        return d
    }

    /// Writes `text` as the daemon's config, reloads, and waits for its entry.
    private func reload(_ d: DaemonUnderTest, to text: String) throws {
        let before = d.writer.entries(.configReloaded).count
        try FixtureHost.write(text, to: d.configPath)
        d.daemon.reload()
        d.waitUntil("the reload") { d.writer.entries(.configReloaded).count > before }
    }

    func testForkBombFiresOnceResendsWhileOpenAndResolvesOnRecovery() throws {
        let id = IDs.make(1)
        engine.add(details(id, name: "bomb", pidsLimit: 50))
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 50, max: 50, refused: 17)
        let openedAt = d.wall.now
        d.tick()

        let fired = am.states("DockwardPidsExhausted")
        XCTAssertEqual(fired.count, 1, "sent at once, not at the end of a resend interval")
        let alert = try XCTUnwrap(fired.first)
        XCTAssertEqual(alert.labels["severity"], "critical")
        XCTAssertEqual(alert.labels["kind"], "pids-exhausted")
        XCTAssertEqual(alert.labels["container"], "bomb")
        XCTAssertEqual(alert.labels["container_id"], id.short)
        XCTAssertEqual(alert.labels["image"], "local/busybox:test")
        XCTAssertEqual(alert.labels["host"], "test-host")
        XCTAssertEqual(alert.labels["episode"], String(openedAt / 1_000_000))
        XCTAssertEqual(alert.startsAt, openedAt)
        XCTAssertEqual(alert.endsAt, openedAt + 4 * minute, "four resend intervals ahead")
        XCTAssertEqual(alert.annotations["pids_rejected"], "17")
        XCTAssertEqual(alert.annotations["message_id"], EntryKind.pidsExhausted.messageID)
        XCTAssertFalse(alert.annotations["description"]?.isEmpty ?? true)
        XCTAssertEqual(alert.annotations["summary"], d.writer.entries(.pidsExhausted, for: id).first?.message)

        // Still stuck: re-sent once a minute with the same identity and start.
        d.ticks(30)
        XCTAssertEqual(am.states("DockwardPidsExhausted").count, 1, "nothing new within the resend interval")
        d.ticks(31)
        let resent = am.states("DockwardPidsExhausted")
        XCTAssertEqual(resent.count, 2)
        XCTAssertEqual(resent.last?.identity, alert.identity)
        XCTAssertEqual(resent.last?.startsAt, openedAt)
        XCTAssertGreaterThan(resent.last?.endsAt ?? 0, d.wall.now)

        // Calm for recover_after: pids-recovered, and the alert resolves, once.
        try host.setPids(id, current: 2, max: 50, refused: 17)
        d.ticks(8)
        XCTAssertEqual(d.writer.entries(.pidsRecovered, for: id).count, 1)
        let afterRecovery = am.states("DockwardPidsExhausted")
        XCTAssertEqual(afterRecovery.count, 3)
        let resolved = try XCTUnwrap(afterRecovery.last)
        XCTAssertEqual(resolved.identity, alert.identity)
        XCTAssertTrue(resolved.isResolved(at: d.wall.now))
        d.ticks(70)
        XCTAssertEqual(am.states("DockwardPidsExhausted").count, 3, "a resolved alert is not sent again")
        XCTAssertEqual(DaemonActor.sync { d.daemon.alertmanagerOpenCount }, 0, "every episode ended: \(am.states.map(\.labels))")
    }

    func testEscalationIsANewAlertAndTheOldSeverityResolves() throws {
        let id = IDs.make(2)
        engine.add(details(id, name: "leak"))
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 85, max: 100)
        d.ticks(5)
        let warning = try XCTUnwrap(am.states("DockwardPidsHigh").first)
        XCTAssertEqual(warning.labels["severity"], "warning")
        try host.setPids(id, current: 98, max: 100)
        d.ticks(5)
        let states = am.states("DockwardPidsHigh")
        let critical = try XCTUnwrap(states.first { $0.labels["severity"] == "critical" })
        XCTAssertEqual(critical.startsAt, warning.startsAt, "one episode: the same start")
        XCTAssertTrue(states.contains { $0.identity == warning.identity && $0.isResolved(at: d.wall.now) },
                      "the warning's label set is resolved: \(states)")
    }

    func testSocketMountResolvesWhenTheContainerIsRemoved() throws {
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.waitUntil("the first listing") { d.engine.listings > 0 }
        let id = IDs.make(3)
        engine.add(mountingTheSocket(id, name: "ci"))
        engine.emit("create", id)
        d.waitUntil("the socket-mount entry") { !d.writer.entries(.socketMount).isEmpty }
        let fired = try XCTUnwrap(am.states("DockwardSocketMount").first)
        XCTAssertEqual(fired.labels["container"], "ci")
        XCTAssertEqual(fired.labels["severity"], "critical")
        d.ticks(2)
        XCTAssertFalse(am.states("DockwardSocketMount").contains { $0.isResolved(at: d.wall.now) }, "still there: firing")

        engine.remove(id)
        engine.emit("destroy", id)
        d.tickUntil("the resolved state") {
            am.states("DockwardSocketMount").contains { $0.identity == fired.identity && $0.endsAt <= d.wall.now }
        }
    }

    func testAllowRuleAddedByReloadResolvesTheAlert() throws {
        let id = IDs.make(4)
        let am = RecordingSubmitter()
        let d = try startedWithMountedSocket(id, name: "portainer", config: config(), submitter: am)
        XCTAssertEqual(am.states("DockwardSocketMount").count, 1)

        try reload(d, to: config("host_control:\n  allow:\n    - { name: \"portainer\" }\n"))
        // It fired a second ago: it stays firing a resend interval from its start.
        d.ticks(30)
        XCTAssertEqual(am.states("DockwardSocketMount").count, 1)
        d.ticks(31)
        let states = am.states("DockwardSocketMount")
        XCTAssertEqual(states.count, 2, "resolved, and not re-sent meanwhile")
        XCTAssertTrue(states.last?.isResolved(at: d.wall.now) ?? false, "allowed now: the alert ends")
        d.ticks(70)
        XCTAssertEqual(am.states("DockwardSocketMount").count, 2)
    }

    func testAShortLivedContainerFiresForAResendIntervalThenResolves() throws {
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.waitUntil("the first listing") { d.engine.listings > 0 }
        let id = IDs.make(9)
        engine.add(mountingTheSocket(id, name: "oneshot"))
        engine.emit("create", id)
        d.waitUntil("the socket-mount entry") { !d.writer.entries(.socketMount).isEmpty }
        let openedAt = try XCTUnwrap(am.states("DockwardSocketMount").first).startsAt
        engine.remove(id)
        engine.emit("destroy", id)
        // Events are read in order: once this one is judged, the destroy was read.
        let marker = IDs.make(19)
        engine.add(mountingTheSocket(marker, name: "marker"))
        engine.emit("create", marker)
        d.waitUntil("the marker's verdict") { !d.writer.entries(.socketMount, for: marker).isEmpty }
        let mine = { am.states("DockwardSocketMount").filter { $0.labels["container"] == "oneshot" } }
        d.ticks(58)
        XCTAssertFalse(mine().contains { $0.isResolved(at: d.wall.now) },
                       "gone after a second, but an instant's alert would reach no receiver")
        d.ticks(4)
        let last = try XCTUnwrap(mine().last)
        XCTAssertTrue(last.isResolved(at: d.wall.now))
        XCTAssertGreaterThanOrEqual(last.endsAt - openedAt, minute)
    }

    func testANameLearntLaterAndAReminderKeepTheAlertsIdentity() throws {
        let id = IDs.make(10)
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config("alerts:\n  repeat_interval: 5s\n".isEmpty ? "" : ""), submitter: am)
        d.start()
        // The engine does not know it yet: the first alert names it by id.
        try host.setPids(id, current: 40, max: 40, refused: 3)
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.ticks(4)
        let first = try XCTUnwrap(am.states("DockwardPidsExhausted").first)
        XCTAssertEqual(first.labels["container"], id.short)
        engine.add(details(id, name: "late", pidsLimit: 40))
        engine.emit("create", id)
        d.waitForNames([id])
        try host.setPids(id, current: 40, max: 40, refused: 90)
        d.ticks(700)
        let states = am.states("DockwardPidsExhausted")
        XCTAssertGreaterThan(states.count, 5)
        XCTAssertEqual(Set(states.map(\.identity)), [first.identity], "one alert for the whole episode")
    }

    func testALongerResendIntervalByReloadMovesEveryEndsAtAtOnce() throws {
        let id = IDs.make(11)
        let am = RecordingSubmitter()
        let d = try startedWithMountedSocket(id, name: "ci", config: config(), submitter: am)
        try reload(d, to: config("  resend_interval: 10m\n"))
        let last = try XCTUnwrap(am.states("DockwardSocketMount").last)
        XCTAssertEqual(am.states("DockwardSocketMount").count, 2)
        XCTAssertEqual(last.endsAt, d.wall.now + 40 * minute, "four of the new intervals ahead, before the old endsAt passed")
    }

    func testAnOverrideThatIgnoresTheContainerEndsItsEpisodes() throws {
        let id = IDs.make(12)
        engine.add(details(id, name: "batch-1"))
        try host.setPids(id, current: 4, max: nil)
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.waitForNames([id])
        d.ticks(2)
        let unlimited = try XCTUnwrap(am.states("DockwardPidsUnlimited").first)
        try reload(d, to: config("overrides:\n  - match: { name: \"batch-*\" }\n    unlimited: ignore\n"))
        d.ticks(62)
        XCTAssertTrue(am.states("DockwardPidsUnlimited").last.map { $0.identity == unlimited.identity && $0.isResolved(at: d.wall.now) } ?? false,
                      "\(am.states("DockwardPidsUnlimited"))")
    }

    func testStaticLabelsOnEveryAlertAndARelabelResolvesTheOldSet() throws {
        let id = IDs.make(5)
        let am = RecordingSubmitter()
        let d = try startedWithMountedSocket(id, name: "ci", config: config("  labels:\n    cluster: eu-1\n"), submitter: am)
        let first = try XCTUnwrap(am.states("DockwardSocketMount").first)
        XCTAssertEqual(first.labels["cluster"], "eu-1")

        try reload(d, to: config("  labels:\n    cluster: eu-2\n"))
        d.tick()
        let states = am.states("DockwardSocketMount")
        XCTAssertTrue(states.contains { $0.identity == first.identity && $0.isResolved(at: d.wall.now) })
        let relabelled = try XCTUnwrap(states.last { $0.labels["cluster"] == "eu-2" })
        XCTAssertEqual(relabelled.startsAt, first.startsAt)
        XCTAssertFalse(relabelled.isResolved(at: d.wall.now))
    }

    func testRestartResendsOpenAlertsWithTheirStartAndResolvesWhatEndedMeanwhile() throws {
        let exposed = IDs.make(6), bomb = IDs.make(7)
        engine.add(mountingTheSocket(exposed, name: "exposed"))
        engine.add(details(bomb, name: "bomb"))
        try host.setPids(bomb, current: 20, max: 20, refused: 5)
        let firstAM = RecordingSubmitter()
        let first = try makeDaemon(config: config(), submitter: firstAM, stateDirectory: host.stateDirectory)
        first.start()
        first.waitForNames([exposed, bomb])
        first.ticks(3)
        let socketAlert = try XCTUnwrap(firstAM.states("DockwardSocketMount").first)
        let bombAlert = try XCTUnwrap(firstAM.states("DockwardPidsExhausted").first)
        first.stop()
        XCTAssertEqual(firstAM.finished, 1, "stop gave the delivery its last try")

        // While dockward is down the exposed container is removed.
        engine.remove(exposed)
        let secondAM = RecordingSubmitter()
        let second = try makeDaemon(config: config(), submitter: secondAM, stateDirectory: host.stateDirectory)
        second.start()
        second.waitUntil("the listing") { second.engine.listings > 0 }
        second.waitForNames([bomb])
        second.tickUntil("the listing to drop the removed container") {
            secondAM.states("DockwardSocketMount").contains { $0.isResolved(at: second.wall.now) }
        }
        let resolved = secondAM.states("DockwardSocketMount")
        XCTAssertEqual(resolved.map(\.identity), Array(repeating: socketAlert.identity, count: resolved.count),
                       "the same alert, resolved: \(resolved)")
        let bombAgain = try XCTUnwrap(secondAM.states("DockwardPidsExhausted").first)
        XCTAssertEqual(bombAgain.identity, bombAlert.identity, "the same label set: no second page")
        XCTAssertEqual(bombAgain.startsAt, bombAlert.startsAt)
        XCTAssertFalse(bombAgain.isResolved(at: second.wall.now))
        XCTAssertEqual(second.writer.entries(.pidsExhausted).count, 0, "and the journal is not told twice")
    }

    func testAnOutageIsOneLostAndOneBackEntryAndTheSourceMetric() throws {
        let am = RecordingSubmitter()
        let d = try makeDaemon(config: config(), submitter: am)
        d.start()
        d.tick()
        XCTAssertEqual(am.made, 1)
        am.tell(.lost(url: "http://am.test:9093", reason: "connection refused"))
        d.waitUntil("alertmanager-lost") { !d.writer.entries(.alertmanagerLost).isEmpty }
        XCTAssertTrue(d.metrics.render(containers: []).contains("dockward_source_up{source=\"alertmanager\"} 0"))
        XCTAssertTrue(DaemonActor.sync { d.daemon.statusLine }.contains("alertmanager unreachable"))
        // Retries fail silently; the queue overflows meanwhile.
        am.tell(.lost(url: "http://am.test:9093", reason: "connection refused"))
        am.tell(.dropped(url: "http://am.test:9093", count: 4))
        am.tell(.dropped(url: "http://am.test:9093", count: 3))
        am.tell(.stats(url: "http://am.test:9093", AlertmanagerDeliveryStats(sent: 2, failed: 0, dropped: 7, pending: 10)))
        am.tell(.back(url: "http://am.test:9093", outage: 3_000_000_000))
        d.waitUntil("alertmanager-back") { !d.writer.entries(.alertmanagerBack).isEmpty }
        let back = d.writer.entries(.alertmanagerBack).first
        XCTAssertEqual(field(back, "OUTAGE_SECONDS"), "3")
        XCTAssertEqual(field(back, "ALERTS_DROPPED"), "7", "the drops of this outage")
        XCTAssertEqual(back?.priority, .warning)
        XCTAssertTrue(d.metrics.render(containers: []).contains("dockward_alertmanager_alerts_dropped_total{url=\"http://am.test:9093\"} 7"),
                      d.metrics.render(containers: []))
        XCTAssertTrue(d.metrics.render(containers: []).contains("dockward_source_up{source=\"alertmanager\"} 1"))
        XCTAssertEqual(d.writer.entries(.alertmanagerLost).count, 1)
    }

    func testOffByDefaultMakesNoDeliveryAndAReloadTurnsItOnWithWhatIsOpen() throws {
        let id = IDs.make(8)
        let am = RecordingSubmitter()
        let d = try startedWithMountedSocket(id, name: "ci", config: "", submitter: am)
        XCTAssertEqual(am.made, 0, "no urls: no delivery")
        try reload(d, to: config())
        XCTAssertEqual(am.made, 1)
        XCTAssertEqual(am.states("DockwardSocketMount").count, 1, "the episode open before it was turned on")

        // Another URL: the same delivery takes the new config (its queues stay).
        try reload(d, to: config().replacingOccurrences(of: "am.test:9093", with: "am-2.test:9093"))
        XCTAssertEqual(am.made, 1)
        XCTAssertEqual(am.applied.map(\.urls), [["http://am-2.test:9093"]])
        XCTAssertEqual(am.states("DockwardSocketMount").count, 2, "the new URL gets the open alert at once")

        // Off again: the delivery gets its last try and goes.
        try reload(d, to: "")
        XCTAssertEqual(am.finished, 1)
    }

    func testStaticLabelsChangedWhileDownRelabelTheResumedAlert() throws {
        let id = IDs.make(13)
        engine.add(mountingTheSocket(id, name: "ci"))
        let firstAM = RecordingSubmitter()
        let first = try makeDaemon(config: config("  labels:\n    env: staging\n"), submitter: firstAM,
                                   stateDirectory: host.stateDirectory)
        first.start()
        first.waitUntil("the socket-mount entry") { !first.writer.entries(.socketMount).isEmpty }
        first.tick()
        let before = try XCTUnwrap(firstAM.states("DockwardSocketMount").first)
        first.stop()

        let secondAM = RecordingSubmitter()
        let second = try makeDaemon(config: config("  labels:\n    env: prod\n"), submitter: secondAM,
                                    stateDirectory: host.stateDirectory)
        second.start()
        second.waitUntil("the listing") { second.engine.listings > 0 }
        second.tickUntil("the relabelled alert") { secondAM.states("DockwardSocketMount").contains { $0.labels["env"] == "prod" } }
        let states = secondAM.states("DockwardSocketMount")
        XCTAssertTrue(states.contains { $0.identity == before.identity && $0.isResolved(at: second.wall.now) },
                      "the staging label set is resolved: \(states)")
        let after = try XCTUnwrap(states.first { $0.labels["env"] == "prod" })
        XCTAssertEqual(after.startsAt, before.startsAt)
        XCTAssertFalse(after.isResolved(at: second.wall.now))
    }
}
