import Foundation
import XCTest

/// The pids watch against real containers, real cgroups and the real journal.
final class PidsWatchEndToEndTests: XCTestCase {
    /// Entries of this test's daemon only: other daemons may run beside it.
    let pidKey = "_PID"

    // XCTest runs a class's setUp, tests and tearDown one after another on one thread.
    nonisolated(unsafe) static var daemon: DaemonProcess?
    /// The daemon's metrics endpoint: what it watches, as it sees it.
    nonisolated(unsafe) static var metricsPort = 0

    // Short intervals so each case takes seconds; the logic is the same as
    // with the defaults, which the unit tests cover. The leak test's
    // containers get a long forecast horizon, so any steady growth is
    // forecast however fast this machine forks.
    static func config(metricsPort: Int) -> String {
        """
        pids:
          poll_interval: 250ms
          high_for: 1s
          forecast_horizon: 60s
          forecast_window: 10s
        alerts:
          recover_after: 10s
        metrics:
          listen: 127.0.0.1:\(metricsPort)
        overrides:
          - match: { name: "dockward-e2e-leak-*" }
            forecast_horizon: 10m
        """
    }

    override func setUpWithError() throws {
        try E2E.requireServices()
        if Self.daemon == nil {
            (Self.daemon, Self.metricsPort) = try DaemonProcess.startedWithMetrics { Self.config(metricsPort: $0) }
        }
        XCTAssertTrue(Self.daemon?.isRunning ?? false, "daemon died: \(Self.daemon?.stderrText ?? "")")
    }

    override class func tearDown() {
        daemon?.stop()
        daemon = nil
        super.tearDown()
    }

    func testForkBombGivesExhaustedEntryWithLimitAndName() throws {
        let name = E2E.uniqueName("bomb")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, options: ["--pids-limit", "50"],
                             // In a subshell, so a refused fork cannot end the container.
                             command: ["sh", "-c", "sleep 3600 & (b() { b | b & }; b); wait"])
        let started = E2E.nowMicros()
        let found = try E2E.waitForEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-exhausted"],
                                           sinceMicros: since, timeout: 20)
        guard let entry = found.first else {
            return XCTFail("no pids-exhausted entry for \(name); daemon said:\n\(Self.daemon?.stderrText.suffix(3000) ?? "")")
        }
        XCTAssertEqual(entry["PIDS_MAX"], "50")
        XCTAssertEqual(entry["PRIORITY"], "2")
        XCTAssertEqual(entry["MESSAGE_ID"], "9cbeffacd069472fb0b95e62b1ba4743")
        XCTAssertEqual(entry["CONTAINER_ID"]?.count, 12)
        XCTAssertEqual(entry["CONTAINER_ID_FULL"]?.count, 64)
        XCTAssertEqual(entry["IMAGE_NAME"], E2E.image)
        XCTAssertGreaterThan(Int(entry["PIDS_REJECTED"] ?? "0") ?? 0, 0)
        XCTAssertTrue(entry["MESSAGE"]?.contains(name) ?? false, entry["MESSAGE"] ?? "")
        let latency = Double((UInt64(entry["__REALTIME_TIMESTAMP"] ?? "0") ?? 0) &- started) / 1e6
        print("e2e: fork bomb started -> pids-exhausted entry in \(String(format: "%.3f", latency)) s")

        // Sitting at the wall does not repeat the alert.
        Thread.sleep(forTimeInterval: 3)
        let again = try E2E.journalEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-exhausted"], sinceMicros: since)
        XCTAssertEqual(again.count, 1, "one entry per episode")
    }

    func testContainerWithoutLimitGivesUnlimitedOnce() throws {
        let name = E2E.uniqueName("unlimited")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        try E2E.runContainer(name: name, command: ["sleep", "3600"])
        let found = try E2E.waitForEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                           sinceMicros: since, timeout: 15)
        XCTAssertEqual(found.count, 1, "daemon said:\n\(Self.daemon?.stderrText.suffix(2000) ?? "")")
        XCTAssertEqual(found.first?["PRIORITY"], "4")
        XCTAssertEqual(found.first?["PIDS_MAX_SOURCE"], "host")
        // Room for a duplicate: many polls, and a rediscovery of the cgroup
        // tree (another container appearing makes the daemon rescan it).
        let other = E2E.uniqueName("rescan")
        defer { E2E.removeContainer(other) }
        let otherID = try E2E.runContainer(name: other, options: ["--pids-limit", "100"], command: ["sleep", "3600"])
        let rescanned = Date().addingTimeInterval(20)
        while !Self.daemon!.stderrText.contains("watching container \(otherID.prefix(12))") && Date() < rescanned {
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(Self.daemon!.stderrText.contains("watching container \(otherID.prefix(12))"),
                      "the daemon rescanned and found the second container")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(try E2E.journalEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name], sinceMicros: since).count, 1, "once per container")
    }

    func testSteadyLeakGivesForecastBeforeAnyForkIsRefused() throws {
        let name = E2E.uniqueName("leak")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        // Up to 5 tasks a second that never exit, against a limit of 300:
        // the wall is a minute or more away, so the forecast (10 min horizon
        // for these containers, whatever the fork rate here) must speak
        // long before the kernel refuses anything.
        try E2E.runContainer(name: name, options: ["--pids-limit", "300"],
                             command: ["sh", "-c", "while true; do sleep 3600 & sleep 0.2; done"])
        let found = try E2E.waitForEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-forecast"],
                                           sinceMicros: since, timeout: 40)
        guard let entry = found.first else {
            return XCTFail("no pids-forecast for \(name); daemon said:\n\(Self.daemon?.stderrText.suffix(3000) ?? "")")
        }
        XCTAssertEqual(entry["PIDS_REJECTED"], "0", "the forecast must come before the first refused fork")
        XCTAssertEqual(entry["PIDS_MAX"], "300")
        XCTAssertEqual(entry["PRIORITY"], "3")
        // The forecast is the room left at the rate seen (both as written, rounded).
        let rate = Double(entry["PIDS_RATE"] ?? "") ?? 0
        let current = Double(entry["PIDS_CURRENT"] ?? "") ?? -1
        let seconds = Double(entry["PIDS_FORECAST_SECONDS"] ?? "") ?? -1
        XCTAssertGreaterThan(rate, 0, "a growing container has a positive rate")
        XCTAssertGreaterThan(current, 0)
        XCTAssertLessThan(current, 300)
        if rate > 0 {
            let expected = (300 - current) / rate
            XCTAssertEqual(seconds, expected, accuracy: max(2, expected * 0.05),
                           "PIDS_FORECAST_SECONDS = (PIDS_MAX - PIDS_CURRENT) / PIDS_RATE: \(entry)")
        }
        let exhausted = try E2E.journalEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-exhausted"], sinceMicros: since)
        XCTAssertTrue(exhausted.isEmpty)
        print("e2e: leak forecast: \(entry["MESSAGE"] ?? "")")
    }

    func testShortBurstGivesNothing() throws {
        let name = E2E.uniqueName("burst")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        // A build-like fan-out: 120 tasks at once for 3 s, then drained.
        try E2E.runContainer(name: name, options: ["--pids-limit", "500"],
                             command: ["sh", "-c", "sleep 2; for i in $(seq 1 120); do sleep 3 & done; wait; sleep 3600"])
        // Positive control: the daemon watched the container through the
        // burst; its own metrics show the burst's tasks.
        var peak = 0.0
        let deadline = Date().addingTimeInterval(14)
        while Date() < deadline {
            let samples = try E2E.scrape(port: Self.metricsPort)
            for (key, value) in samples where key.hasPrefix("dockward_container_pids_current{") && key.contains("container=\"\(name)\"") {
                peak = max(peak, Double(value) ?? 0)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertGreaterThanOrEqual(peak, 100, "the daemon saw the burst (dockward_container_pids_current); it said:\n"
                                    + (Self.daemon?.stderrText.suffix(2000) ?? ""))
        let entries = try E2E.journalEntries([pidKey: Self.daemon!.pid, "CONTAINER_NAME": name], sinceMicros: since)
        XCTAssertEqual(entries.map { $0["DOCKWARD_ALERT"] ?? "?" }, [], "a draining burst is not an alert")
    }
}
