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
            Thread.sleep(forTimeInterval: 0.05)
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
        let removed = Date()
        _ = try waitForAlerts(am, "the mount's alert to resolve") { list in !list.contains { $0.labels["container"] == exposed } }
        print("e2e: docker rm -> socket-mount alert resolved in Alertmanager in \(String(format: "%.2f", Date().timeIntervalSince(removed))) s")
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

    func testForkBombIsListedWithinSecondsOfItsFirstRefusalAndItsRecoveryResolvesIt() throws {
        let am = try AlertmanagerProcess()
        defer { am.stop() }
        let daemon = try DaemonProcess(config: Self.config(url: am.url) + "\nalerts:\n  recover_after: 2s\n")
        defer { _ = daemon.stop() }
        try daemon.waitUntilStarted()
        let bomb = E2E.uniqueName("am-recovers")
        defer { E2E.removeContainer(bomb) }
        // Under its limit: a bomb for 4 s, then pid 1 kills every other
        // process and the container sits calm (the sleep forks first, so a
        // refused fork cannot hold it back).
        try E2E.runContainer(name: bomb, options: ["--pids-limit", "40"], command: [
            "sh", "-c", "sleep 4 & s=$!; (b() { b | b & }; b) & wait $s; kill -9 -1; exec sleep 3600",
        ])
        let started = Date()
        let listed = try waitForAlerts(am, "the bomb's alert") { list in
            list.contains { $0.labels["container"] == bomb && $0.labels["alertname"] == "DockwardPidsExhausted" }
        }
        let listedAt = Date()
        let alert = try XCTUnwrap(listed.first { $0.labels["container"] == bomb && $0.labels["alertname"] == "DockwardPidsExhausted" })
        XCTAssertEqual(alert.labels["severity"], "critical")
        XCTAssertEqual(alert.labels["kind"], "pids-exhausted")
        let entry = try XCTUnwrap(E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": bomb, "DOCKWARD_ALERT": "pids-exhausted"],
                                                     sinceMicros: daemon.startedMicros, timeout: 5).first)
        let entryAt = Double(UInt64(entry["__REALTIME_TIMESTAMP"] ?? "0") ?? 0) / 1e6
        print("e2e: fork bomb started -> DockwardPidsExhausted listed by Alertmanager in \(String(format: "%.2f", listedAt.timeIntervalSince(started))) s"
              + " (\(String(format: "%.2f", listedAt.timeIntervalSince1970 - entryAt)) s after its pids-exhausted entry)")

        _ = try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": bomb, "DOCKWARD_ALERT": "pids-recovered"],
                                   sinceMicros: daemon.startedMicros, timeout: 30)
        let recovered = Date()
        _ = try waitForAlerts(am, "the bomb's alert to resolve") { list in
            !list.contains { $0.labels["container"] == bomb && $0.labels["alertname"] == "DockwardPidsExhausted" }
        }
        print("e2e: pids-recovered -> the bomb's alert resolved in \(String(format: "%.2f", Date().timeIntervalSince(recovered))) s")
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "CONTAINER_NAME": bomb], sinceMicros: daemon.startedMicros)
                        .filter { $0["DOCKWARD_ALERT"] == "pids-exhausted" }.count, 1)
    }

    func testAlertmanagerStoppedForThirtySecondsHasTheAlertWithinOneResendIntervalOfItsStart() throws {
        var am = try AlertmanagerProcess()
        let port = am.port
        defer { am.stop() }
        let daemon = try DaemonProcess(config: Self.config(url: am.url))
        defer { _ = daemon.stop() }
        try daemon.waitUntilStarted()
        let exposed = E2E.uniqueName("am-outage")
        defer { E2E.removeContainer(exposed) }
        try E2E.runContainer(name: exposed, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])
        _ = try waitForAlerts(am, "the alert") { list in list.contains { $0.labels["container"] == exposed } }

        am.stop()
        Thread.sleep(forTimeInterval: 30)
        am = try AlertmanagerProcess(port: port)
        let up = Date()
        _ = try waitForAlerts(am, "the alert after the outage", timeout: 10) { list in list.contains { $0.labels["container"] == exposed } }
        let after = Date().timeIntervalSince(up)
        print("e2e: Alertmanager down 30 s, up again -> the open alert listed in \(String(format: "%.2f", after)) s (resend_interval 2s)")
        XCTAssertLessThanOrEqual(after, 10)
        _ = try E2E.requireEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "alertmanager-back"], sinceMicros: daemon.startedMicros, timeout: 10)
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "alertmanager-lost"],
                                              sinceMicros: daemon.startedMicros).count, 1)
    }

    func testThreeRestartsDuringAnEpisodeGiveOneFiringAndOneResolvedNotification() throws {
        let webhook = try WebhookReceiver()
        defer { webhook.stop() }
        let am = try AlertmanagerProcess(webhookURL: webhook.url, groupBy: ["container_id", "alertname"])
        defer { am.stop() }
        let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-am-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: stateDir) }
        let exposed = E2E.uniqueName("am-restarts")
        defer { E2E.removeContainer(exposed) }
        try E2E.runContainer(name: exposed, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "3600"])

        var fingerprint: String?
        for run in 0..<4 {
            let daemon = try DaemonProcess(config: Self.config(url: am.url), arguments: ["--state-dir", stateDir])
            try daemon.waitUntilStarted()
            let alerts = try waitForAlerts(am, "the alert in run \(run)") { list in list.contains { $0.labels["container"] == exposed } }
            let current = alerts.first { $0.labels["container"] == exposed }?.fingerprint
            if fingerprint == nil { fingerprint = current }
            XCTAssertEqual(current, fingerprint, "run \(run): the same alert, not a second one")
            // A few resends and the webhook's group_wait.
            Thread.sleep(forTimeInterval: 3)
            if run < 3 {
                XCTAssertTrue(daemon.stop())
            } else {
                E2E.removeContainer(exposed)
                _ = try waitForAlerts(am, "the resolution") { list in !list.contains { $0.labels["container"] == exposed } }
                Thread.sleep(forTimeInterval: 3)  // group_interval: the resolved notification
                XCTAssertTrue(daemon.stop())
            }
        }
        let mine = webhook.notified.filter { $0.fingerprint == fingerprint }
        print("e2e: 3 restarts during an open socket-mount episode -> webhook notifications: "
              + "\(mine.filter { $0.status == "firing" }.count) firing, \(mine.filter { $0.status == "resolved" }.count) resolved")
        XCTAssertEqual(mine.map(\.status), ["firing", "resolved"], "\(webhook.notified)")
    }
}
