import DockwardTestSupport
import Foundation
import XCTest

/// The Alertmanager push against a real Alertmanager (Debian's 0.25), the
/// real engine and the real daemon: a socket mount and a fork bomb each
/// become one alert with dockward's labels, the mount's alert resolves when
/// its container goes, and an Alertmanager that comes up late gets what was
/// kept, with one alertmanager-lost and one alertmanager-back entry.
final class AlertmanagerEndToEndTests: XCTestCase {
    static func config(url: String) -> String {
        """
        pids:
          unlimited: ignore
        host_control:
          resync_interval: 1s
        alertmanager:
          urls: ["\(url)"]
          resend_interval: 2s
          timeout: 1s
          labels:
            cluster: e2e
        """
    }

    override func setUpWithError() throws {
        try E2E.requireServices()
        _ = try AlertmanagerProcess.require()
    }

    /// Waits until `condition` holds for the Alertmanager's alert list.
    func waitForAlerts(_ am: AlertmanagerProcess, _ what: String, timeout: TimeInterval = 20,
                       _ condition: ([AlertmanagerProcess.Alert]) -> Bool) throws -> [AlertmanagerProcess.Alert] {
        let deadline = Date().addingTimeInterval(timeout)
        var alerts: [AlertmanagerProcess.Alert] = []
        while Date() < deadline {
            alerts = try am.alerts()
            if condition(alerts) { return alerts }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("timed out waiting for \(what); Alertmanager lists \(alerts.map(\.labels))")
        return alerts
    }

    func testSocketMountAndForkBombAreAlertsAndTheMountResolvesWhenItsContainerGoes() throws {
        let am = try AlertmanagerProcess()
        defer { am.stop() }
        let daemon = try DaemonProcess(config: Self.config(url: am.url))
        defer { _ = daemon.stop() }
        try daemon.waitUntilStarted()

        let exposed = E2E.uniqueName("am-socket"), bomb = E2E.uniqueName("am-bomb")
        defer { E2E.removeContainer(exposed); E2E.removeContainer(bomb) }
        try E2E.runContainer(name: exposed, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        try E2E.runContainer(name: bomb, options: ["--pids-limit", "40"],
                             command: ["sh", "-c", "sleep 3600 & (b() { b | b & }; b); wait"])

        let alerts = try waitForAlerts(am, "both alerts") { list in
            list.contains { $0.labels["container"] == exposed && $0.labels["alertname"] == "DockwardSocketMount" }
                && list.contains { $0.labels["container"] == bomb && $0.labels["alertname"] == "DockwardPidsExhausted" }
        }
        let mount = try XCTUnwrap(alerts.first { $0.labels["container"] == exposed })
        XCTAssertEqual(mount.labels["severity"], "critical")
        XCTAssertEqual(mount.labels["kind"], "socket-mount")
        XCTAssertEqual(mount.labels["cluster"], "e2e")
        XCTAssertEqual(mount.labels["image"], E2E.image)
        XCTAssertEqual(mount.labels["container_id"]?.count, 12)
        XCTAssertNotNil(mount.labels["host"])
        XCTAssertNotNil(mount.labels["episode"])
        XCTAssertEqual(mount.status.state, "active")
        XCTAssertTrue(mount.annotations["summary"]?.contains(exposed) ?? false, "\(mount.annotations)")
        let journal = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": exposed, "DOCKWARD_ALERT": "socket-mount"],
                                             sinceMicros: daemon.startedMicros, timeout: 5)
        XCTAssertEqual(mount.annotations["summary"], journal.first?["MESSAGE"], "the same words as the journal")
        let bombAlert = try XCTUnwrap(alerts.first { $0.labels["container"] == bomb })
        XCTAssertEqual(bombAlert.annotations["pids_max"], "40")

        // Re-sent every 2 s with the same identity and start: still one alert each.
        Thread.sleep(forTimeInterval: 5)
        let later = try am.alerts().filter { $0.labels["container"] == exposed }
        XCTAssertEqual(later.map(\.fingerprint), [mount.fingerprint])
        XCTAssertEqual(later.first?.startsAt, mount.startsAt)

        let resolvedBefore = try am.metric("alertmanager_alerts_received_total{status=\"resolved\",version=\"v2\"}") ?? 0
        E2E.removeContainer(exposed)
        _ = try waitForAlerts(am, "the mount's alert to resolve") { list in !list.contains { $0.labels["container"] == exposed } }
        let resolvedAfter = try am.metric("alertmanager_alerts_received_total{status=\"resolved\",version=\"v2\"}") ?? 0
        XCTAssertGreaterThan(resolvedAfter, resolvedBefore, "resolved by dockward, not expired")
        XCTAssertTrue(try am.alerts().contains { $0.labels["container"] == bomb }, "the bomb's episode is still open")
    }

    func testAlertmanagerDownAtStartGetsTheAlertsWhenItComesUp() throws {
        let port = try LoopbackTCP.freePort()
        let daemon = try DaemonProcess(config: Self.config(url: "http://127.0.0.1:\(port)"))
        defer { _ = daemon.stop() }
        try daemon.waitUntilStarted()
        let exposed = E2E.uniqueName("am-late")
        defer { E2E.removeContainer(exposed) }
        try E2E.runContainer(name: exposed, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        _ = try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": exposed, "DOCKWARD_ALERT": "socket-mount"],
                               sinceMicros: daemon.startedMicros, timeout: 15)
        let lost = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "alertmanager-lost"],
                                          sinceMicros: daemon.startedMicros, timeout: 15)
        XCTAssertEqual(lost.first?["ALERTMANAGER_URL"], "http://127.0.0.1:\(port)")
        Thread.sleep(forTimeInterval: 4)  // retries meanwhile are silent

        let am = try AlertmanagerProcess(port: port)
        defer { am.stop() }
        _ = try waitForAlerts(am, "the kept alert", timeout: 30) { list in list.contains { $0.labels["container"] == exposed } }
        let back = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "alertmanager-back"],
                                          sinceMicros: daemon.startedMicros, timeout: 10)
        XCTAssertEqual(back.first?["ALERTS_DROPPED"], "0")
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "alertmanager-lost"],
                                              sinceMicros: daemon.startedMicros).count, 1, "one entry per outage")
    }
}
