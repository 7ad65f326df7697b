import DockwardCore
@testable import DockwardMetrics
import XCTest

final class MetricsRegistryTests: XCTestCase {
    static let webID = ContainerID(String(repeating: "0123456789abcdef", count: 4))!
    static let dbID = ContainerID(String(repeating: "fedcba9876543210", count: 4))!

    static var web: ContainerMetrics {
        ContainerMetrics(id: webID, name: "web", image: "nginx:1.27", current: 42, limit: 100, refusedForks: 3,
                         rate: 0.5, forecastSeconds: 116)
    }

    static var db: ContainerMetrics {
        ContainerMetrics(id: dbID, name: "db", image: "postgres:16", current: 7, limit: PidsSample.unlimited,
                         refusedForks: 0, rate: 0, forecastSeconds: nil)
    }

    func testTwoContainersThenOneGoneLeavesNoSeriesOfIt() {
        let registry = MetricsRegistry(version: "test")
        let both = samples(registry.render(containers: [Self.web, Self.db]))
        let web = #"{container="web",id="0123456789ab",image="nginx:1.27"}"#
        let db = #"{container="db",id="fedcba987654",image="postgres:16"}"#
        XCTAssertEqual(both["dockward_container_pids_current\(web)"], "42.0")
        XCTAssertEqual(both["dockward_container_pids_max\(web)"], "100.0")
        XCTAssertEqual(both["dockward_container_pids_rate\(web)"], "0.5")
        XCTAssertEqual(both["dockward_container_pids_forecast_seconds\(web)"], "116.0")
        XCTAssertEqual(both["dockward_container_pids_refused_forks_total\(web)"], "3")
        XCTAssertEqual(both["dockward_container_pids_current\(db)"], "7.0")
        XCTAssertNil(both["dockward_container_pids_max\(db)"], "an unlimited container has no pids_max series")
        XCTAssertNil(both["dockward_container_pids_forecast_seconds\(db)"], "no forecast, no series")
        XCTAssertEqual(both["dockward_container_pids_refused_forks_total\(db)"], "0")
        XCTAssertEqual(both["dockward_containers_watched"], "2.0")

        let text = registry.render(containers: [Self.db])
        XCTAssertFalse(text.contains("0123456789ab"), "every series of the gone container must vanish:\n\(text)")
        XCTAssertFalse(text.contains("dockward_container_pids_max"), "no container with a limit is left, so no family")
        let one = samples(text)
        XCTAssertEqual(one["dockward_container_pids_current\(db)"], "7.0")
        XCTAssertEqual(one["dockward_containers_watched"], "1.0")
        XCTAssertEqual(registry.containerSeriesCount, 1)

        let none = registry.render(containers: [])
        XCTAssertFalse(none.contains("dockward_container_"), none)
        XCTAssertEqual(samples(none)["dockward_containers_watched"], "0.0")
    }

    func testManyContainersComeAndGoWithoutGrowth() {
        let registry = MetricsRegistry(version: "test")
        for round in 0..<20 {
            let batch = (0..<50).map { i -> ContainerMetrics in
                let hex = String(format: "%064x", round * 1000 + i)
                return ContainerMetrics(id: ContainerID(hex)!, name: "c\(round)-\(i)", image: "img",
                                        current: Int64(i), limit: 100, refusedForks: 0)
            }
            _ = registry.render(containers: batch)
        }
        let text = registry.render(containers: [])
        XCTAssertEqual(registry.containerSeriesCount, 0)
        XCTAssertFalse(text.contains("container="), text)
    }

    func testNameArrivingLaterReplacesTheIdLabelledSeries() {
        let registry = MetricsRegistry(version: "test")
        var early = Self.web
        early.name = nil
        early.image = nil
        let first = samples(registry.render(containers: [early]))
        XCTAssertEqual(first[#"dockward_container_pids_current{container="0123456789ab",id="0123456789ab",image=""}"#], "42.0")
        let text = registry.render(containers: [Self.web])
        XCTAssertFalse(text.contains(#"image="""#), "the id-labelled series must go once the name is known:\n\(text)")
        XCTAssertEqual(samples(text)[#"dockward_container_pids_refused_forks_total{container="web",id="0123456789ab",image="nginx:1.27"}"#], "3")
    }

    func testLimitAndForecastSeriesComeAndGoWithTheirValues() {
        let registry = MetricsRegistry(version: "test")
        var c = Self.web
        _ = registry.render(containers: [c])
        c.forecastSeconds = nil
        c.limit = PidsSample.unlimited
        let text = registry.render(containers: [c])
        XCTAssertFalse(text.contains("dockward_container_pids_forecast_seconds{"), text)
        XCTAssertFalse(text.contains("dockward_container_pids_max{"), text)
        c.limit = 64
        c.forecastSeconds = 12.5
        let back = samples(registry.render(containers: [c]))
        XCTAssertEqual(back[#"dockward_container_pids_max{container="web",id="0123456789ab",image="nginx:1.27"}"#], "64.0")
        XCTAssertEqual(back[#"dockward_container_pids_forecast_seconds{container="web",id="0123456789ab",image="nginx:1.27"}"#], "12.5")
    }

    func testRefusedForksFollowTheKernelCountAndResetOnANewCgroup() {
        let registry = MetricsRegistry(version: "test")
        let key = #"dockward_container_pids_refused_forks_total{container="web",id="0123456789ab",image="nginx:1.27"}"#
        var c = Self.web
        for (value, expected) in [(3, "3"), (3, "3"), (10, "10"), (2, "2"), (5, "5")] {
            c.refusedForks = Int64(value)
            XCTAssertEqual(samples(registry.render(containers: [c]))[key], expected)
        }
    }

    func testLabelValuesAreEscapedPerTheExpositionFormat() {
        let registry = MetricsRegistry(version: "test")
        let odd = ContainerMetrics(id: Self.webID, name: "we\"ird\\name\nx", image: "reg/img:\"tag\"",
                                   current: 1, limit: 10, refusedForks: 0)
        let text = registry.render(containers: [odd])
        let expected = #"dockward_container_pids_current{container="we\"ird\\name\nx",id="0123456789ab",image="reg/img:\"tag\""} 1.0"#
        XCTAssertTrue(text.split(separator: "\n").contains { $0 == expected }, "missing \(expected) in:\n\(text)")
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where line.contains("ird") {
            XCTAssertTrue(line.hasPrefix("dockward_container_"), "a raw newline split a sample: \(line)")
        }
    }

    func testAlertsTotalCountsAlertKindsOnly() {
        let registry = MetricsRegistry(version: "test")
        let start = samples(registry.render(containers: []))
        for kind in EntryKind.allCases where kind.role == .alert {
            XCTAssertEqual(start[#"dockward_alerts_total{kind="\#(kind.rawValue)"}"#], "0", "\(kind) starts at 0")
        }
        registry.recordAlert(kind: .pidsExhausted)
        registry.recordAlert(kind: .pidsExhausted)
        registry.recordAlert(kind: .socketMount)
        registry.recordAlert(kind: .daemonStarted)  // not an alert: ignored
        let after = samples(registry.render(containers: []))
        XCTAssertEqual(after[#"dockward_alerts_total{kind="pids-exhausted"}"#], "2")
        XCTAssertEqual(after[#"dockward_alerts_total{kind="socket-mount"}"#], "1")
        XCTAssertEqual(after[#"dockward_alerts_total{kind="pids-high"}"#], "0")
        XCTAssertNil(after[#"dockward_alerts_total{kind="daemon-started"}"#])
    }

    func testDaemonWideGauges() {
        let registry = MetricsRegistry(version: "1.2.3")
        XCTAssertNil(samples(registry.render(containers: []))["dockward_event_stream_lag_seconds"], "no event yet, no lag")
        registry.setEngineConnected(true)
        registry.setEventStreamLag(seconds: 0.25)
        registry.observePollDuration(seconds: 0.00003)
        registry.observePollDuration(seconds: 0.002)
        var s = samples(registry.render(containers: []))
        XCTAssertEqual(s["dockward_engine_connected"], "1.0")
        XCTAssertEqual(s["dockward_event_stream_lag_seconds"], "0.25")
        XCTAssertEqual(s[#"dockward_build_info{version="1.2.3"}"#], "1.0")
        XCTAssertEqual(s["dockward_poll_duration_seconds_count"], "2")
        XCTAssertEqual(s[#"dockward_poll_duration_seconds_bucket{le="1e-05"}"#], "0")
        XCTAssertEqual(s[#"dockward_poll_duration_seconds_bucket{le="5e-05"}"#], "1")
        XCTAssertEqual(s[#"dockward_poll_duration_seconds_bucket{le="0.0025"}"#], "2")
        XCTAssertEqual(s[#"dockward_poll_duration_seconds_bucket{le="+Inf"}"#], "2")
        registry.setEngineConnected(false)
        // Arrival time given, so the lag does not depend on how fast this runs.
        let arrival = Date(timeIntervalSince1970: 1_795_915_556.25)
        registry.observeEvent(timeNano: 1_795_915_554_250_000_000, now: arrival)
        s = samples(registry.render(containers: []))
        XCTAssertEqual(s["dockward_engine_connected"], "0.0")
        let lag = Double(s["dockward_event_stream_lag_seconds"] ?? "") ?? -1
        XCTAssertEqual(lag, 2, accuracy: 0.001, "arrival minus the event's timeNano")
    }

    func testMetricsFromTheWatchState() {
        var trend = PidsTrend(window: .seconds(30))
        for t in 0...30 { trend.append(time: Int64(t) * 1_000_000_000, value: Int64(10 + t)) }
        let metadata = ContainerMetadata(name: "/leaky", image: "app:2")
        let limited = ContainerMetrics(id: Self.webID, metadata: metadata,
                                       sample: PidsSample(current: 40, limit: 100, refusedForks: 1),
                                       trend: trend, host: nil)
        XCTAssertEqual(limited.name, "leaky")
        XCTAssertEqual(limited.limit, 100)
        XCTAssertEqual(limited.rate, 1, accuracy: 1e-9)
        XCTAssertEqual(limited.forecastSeconds ?? -1, 60, accuracy: 1e-6)  // (100 - 40) / 1 per s
        let unlimited = ContainerMetrics(id: Self.webID, metadata: nil,
                                         sample: PidsSample(current: 40, limit: PidsSample.unlimited, refusedForks: 0),
                                         trend: trend, host: HostPidsSample(tasks: 1000, ceiling: 1120))
        XCTAssertEqual(unlimited.limit, PidsSample.unlimited)
        XCTAssertEqual(unlimited.displayName, "0123456789ab")
        // The label and the alerts name a container the same way, an empty name included.
        for name in ["leaky", "", nil] as [String?] {
            let m = ContainerMetrics(id: Self.webID, name: name, current: 1, limit: 10, refusedForks: 0)
            let ref = ContainerRef(id: Self.webID, metadata: name.map { ContainerMetadata(name: $0, image: "i") })
            XCTAssertEqual(m.displayName, ref.displayName, "\(name ?? "nil")")
        }
        XCTAssertEqual(unlimited.forecastSeconds ?? -1, 120, accuracy: 1e-6)  // host room 120 at 1/s
        let noHost = ContainerMetrics(id: Self.webID, metadata: nil,
                                      sample: PidsSample(current: 40, limit: PidsSample.unlimited, refusedForks: 0),
                                      trend: trend, host: nil)
        XCTAssertNil(noHost.forecastSeconds)
    }

    /// The poll loop, the socket watch and scrapes call in from their own threads.
    func testConcurrentUseIsSafe() {
        let registry = MetricsRegistry(version: "test")
        let ids = (0..<8).map { ContainerID(String(format: "%064x", $0 + 1))! }
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            switch i % 4 {
            case 0: registry.recordAlert(kind: .pidsHigh)
            case 1: registry.observePollDuration(seconds: Double(i) * 1e-6)
            case 2: registry.setEventStreamLag(seconds: Double(i) / 1000)
            default:
                let some = ids.prefix(i % ids.count + 1).map {
                    ContainerMetrics(id: $0, name: "c\($0.short)", image: "img", current: Int64(i), limit: 100, refusedForks: Int64(i))
                }
                _ = registry.render(containers: some)
            }
        }
        let s = samples(registry.render(containers: []))
        XCTAssertEqual(s[#"dockward_alerts_total{kind="pids-high"}"#], "100")
        XCTAssertEqual(s["dockward_poll_duration_seconds_count"], "100")
        XCTAssertEqual(registry.containerSeriesCount, 0)
    }

    /// One series set per Alertmanager, labelled by its URL without
    /// userinfo; counters follow the delivery's totals; a removed URL
    /// leaves no series.
    func testAlertmanagerSeriesFollowTheDeliveryAndGoWithTheURL() {
        let registry = MetricsRegistry(version: "test")
        XCTAssertFalse(registry.render(containers: []).contains("dockward_alertmanager_"), "no series while the push is off")
        let url = "http://user:secret@am-1:9093"
        registry.setAlertmanagerStats(url: url, AlertmanagerDeliveryStats(sent: 3, failed: 1, dropped: 0, pending: 5))
        registry.setAlertmanagerStats(url: "https://am-2:9093", AlertmanagerDeliveryStats(pending: 2))
        let first = registry.render(containers: [])
        XCTAssertFalse(first.contains("secret") || first.contains("user@"), "userinfo must not reach a label:\n\(first)")
        let one = samples(first)
        XCTAssertEqual(one[#"dockward_alertmanager_alerts_sent_total{url="http://am-1:9093"}"#], "3")
        XCTAssertEqual(one[#"dockward_alertmanager_alerts_failed_total{url="http://am-1:9093"}"#], "1")
        XCTAssertEqual(one[#"dockward_alertmanager_alerts_dropped_total{url="http://am-1:9093"}"#], "0")
        XCTAssertEqual(one[#"dockward_alertmanager_alerts_pending{url="http://am-1:9093"}"#], "5.0")
        XCTAssertEqual(one[#"dockward_alertmanager_alerts_pending{url="https://am-2:9093"}"#], "2.0")

        registry.setAlertmanagerStats(url: url, AlertmanagerDeliveryStats(sent: 10, failed: 1, dropped: 4, pending: 0))
        let two = samples(registry.render(containers: []))
        XCTAssertEqual(two[#"dockward_alertmanager_alerts_sent_total{url="http://am-1:9093"}"#], "10")
        XCTAssertEqual(two[#"dockward_alertmanager_alerts_dropped_total{url="http://am-1:9093"}"#], "4")
        XCTAssertEqual(two[#"dockward_alertmanager_alerts_pending{url="http://am-1:9093"}"#], "0.0")

        registry.removeAlertmanager(url: url)
        let gone = registry.render(containers: [])
        XCTAssertFalse(gone.contains("am-1"), gone)
        XCTAssertTrue(gone.contains("am-2"), gone)

        // Back after a removal: counted from the new totals, not the old ones.
        registry.setAlertmanagerStats(url: url, AlertmanagerDeliveryStats(sent: 2))
        XCTAssertEqual(samples(registry.render(containers: []))[#"dockward_alertmanager_alerts_sent_total{url="http://am-1:9093"}"#], "2")
    }
}
