import DockwardCore
import DockwardMetrics
import XCTest

final class SourceHealthMetricsTests: XCTestCase {
    func testNoSourceSeriesBeforeTheDaemonReports() {
        let text = MetricsRegistry(version: "test").render(containers: [])
        XCTAssertFalse(text.contains("dockward_source_up"), text)
        XCTAssertFalse(text.contains("dockward_refusal_source"), text)
        XCTAssertFalse(text.contains("dockward_open_file_budget_exceeded"), text)
    }

    func testEverySourceHasAnUpSeries() {
        let registry = MetricsRegistry(version: "test")
        registry.setSourceHealth(SourceHealth(down: [.kmsg, .stateFile], refusalSource: .journal))
        let s = samples(registry.render(containers: []))
        XCTAssertEqual(s[#"dockward_source_up{source="kmsg"}"#], "0.0")
        XCTAssertEqual(s[#"dockward_source_up{source="journal"}"#], "1.0")
        XCTAssertEqual(s[#"dockward_source_up{source="inotify"}"#], "1.0")
        XCTAssertEqual(s[#"dockward_source_up{source="engine"}"#], "1.0")
        XCTAssertEqual(s[#"dockward_source_up{source="state_file"}"#], "0.0")
        XCTAssertEqual(s.keys.filter { $0.hasPrefix("dockward_source_up") }.count, HealthSource.allCases.count)
        XCTAssertEqual(s[#"dockward_refusal_source{source="journal"}"#], "1.0")
        XCTAssertEqual(s["dockward_open_file_budget_exceeded"], "0.0")
    }

    /// A source not in use (Alertmanager not configured, the journal while
    /// kmsg is read) has no series: a 1 would say it works. In use again, it has.
    func testASourceNotInUseHasNoSeries() {
        let registry = MetricsRegistry(version: "test")
        registry.setSourceHealth(SourceHealth(unused: [.alertmanager, .journal]))
        let s = samples(registry.render(containers: []))
        XCTAssertNil(s[#"dockward_source_up{source="alertmanager"}"#])
        XCTAssertNil(s[#"dockward_source_up{source="journal"}"#])
        XCTAssertEqual(s[#"dockward_source_up{source="kmsg"}"#], "1.0")
        registry.setSourceHealth(SourceHealth(down: [.kmsg], unused: [.alertmanager], refusalSource: .journal))
        let later = samples(registry.render(containers: []))
        XCTAssertEqual(later[#"dockward_source_up{source="journal"}"#], "1.0", "the fallback in use")
        XCTAssertNil(later[#"dockward_source_up{source="alertmanager"}"#])
        XCTAssertEqual(SourceHealth(unused: [.stateFile]).statusText, "sources: kmsg up, inotify up",
                       "the STATUS line names only the sources in use")
    }

    func testRefusalSourceIsOneSeriesReplacedWhenItChanges() {
        let registry = MetricsRegistry(version: "test")
        registry.setSourceHealth(SourceHealth())
        registry.setSourceHealth(SourceHealth(down: [.kmsg], refusalSource: .journal))
        registry.setSourceHealth(SourceHealth(down: [.kmsg, .journal], refusalSource: .poll, openFileBudgetExceeded: true))
        let s = samples(registry.render(containers: []))
        XCTAssertEqual(s.keys.filter { $0.hasPrefix("dockward_refusal_source") }, [#"dockward_refusal_source{source="poll"}"#])
        XCTAssertEqual(s[#"dockward_source_up{source="journal"}"#], "0.0")
        XCTAssertEqual(s["dockward_open_file_budget_exceeded"], "1.0")

        // And back up: the kmsg series again, the others updated in place.
        registry.setSourceHealth(SourceHealth())
        let back = samples(registry.render(containers: []))
        XCTAssertEqual(back.keys.filter { $0.hasPrefix("dockward_refusal_source") }, [#"dockward_refusal_source{source="kmsg"}"#])
        XCTAssertEqual(back[#"dockward_source_up{source="kmsg"}"#], "1.0")
        XCTAssertEqual(back["dockward_open_file_budget_exceeded"], "0.0")
    }
}
