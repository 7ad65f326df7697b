import DockwardCore
import DockwardMetrics
import XCTest

/// The exposition and the shipped alerting rules, checked by Prometheus's
/// own promtool (Debian package `prometheus`).
final class PromtoolTests: XCTestCase {
    static let rulesDir = Tool.repoRoot.appendingPathComponent("packaging/prometheus").path

    func promtool() throws -> String { try Tool.require("promtool", package: "prometheus") }

    func testRenderedExpositionPassesPromtoolCheckMetrics() throws {
        let promtool = try promtool()
        let registry = MetricsRegistry()
        registry.setEngineConnected(true)
        registry.setEventStreamLag(seconds: 0.003)
        registry.observePollDuration(seconds: 0.00042)
        registry.recordAlert(kind: .pidsHigh)
        registry.setSourceHealth(SourceHealth(down: [.kmsg], refusalSource: .journal, openFileBudgetExceeded: true))
        registry.setAlertmanagerStats(url: "http://am:9093", AlertmanagerDeliveryStats(sent: 12, failed: 1, dropped: 2, pending: 3))
        registry.setAlertmanagerStats(url: "https://u:p@am-2.example:9093/prefix", AlertmanagerDeliveryStats(pending: 1))
        let odd = ContainerMetrics(id: ContainerID(String(repeating: "ab", count: 32))!, name: "we\"ird\\name\nx",
                                   image: "reg/img:\"tag\"", current: 1, limit: 10, refusedForks: 2, rate: -0.25,
                                   forecastSeconds: nil)
        let leak = ContainerMetrics(id: ContainerID(String(repeating: "0123456789abcdef", count: 4))!, name: "leak",
                                    image: "app:2", current: 90, limit: 100, refusedForks: 0, rate: 0.3333333333,
                                    forecastSeconds: 30.000001)
        let free = ContainerMetrics(id: ContainerID(String(repeating: "f", count: 64))!, name: nil, image: nil,
                                    current: 3, limit: PidsSample.unlimited, refusedForks: 0)
        let text = registry.render(containers: [odd, leak, free])
        let result = try Tool.run(promtool, ["check", "metrics"], stdin: text)
        XCTAssertEqual(result.status, 0, "promtool check metrics:\n\(result.output)\n--- exposition ---\n\(text)")
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "promtool lint findings:\n\(result.output)")

        // And after a container is gone.
        let after = registry.render(containers: [free])
        let again = try Tool.run(promtool, ["check", "metrics"], stdin: after)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(again.output.trimmingCharacters(in: .whitespacesAndNewlines), "", again.output)
    }

    func testAlertingRulesAreValid() throws {
        let promtool = try promtool()
        let result = try Tool.run(promtool, ["check", "rules", Self.rulesDir + "/dockward-rules.yml"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("SUCCESS"), result.output)
    }

    func testAlertingRulesUnitTestsPass() throws {
        let promtool = try promtool()
        let result = try Tool.run(promtool, ["test", "rules", Self.rulesDir + "/dockward-rules.test.yml"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("SUCCESS"), result.output)
    }

    /// DockwardSourceDown says what each source's failure means; a new
    /// source needs its words there (the engine has its own rule).
    func testSourceDownRuleExplainsEverySource() throws {
        let rules = try String(contentsOfFile: Self.rulesDir + "/dockward-rules.yml", encoding: .utf8)
        XCTAssertTrue(rules.contains("alert: DockwardSourceDown"), "no DockwardSourceDown rule")
        for source in HealthSource.allCases where source != .engine {
            XCTAssertTrue(rules.contains("eq $labels.source \"\(source.rawValue)\""),
                          "DockwardSourceDown's description has no words for source \(source.rawValue)")
        }
    }

    /// Every kind the kind table calls an alert has a rule named for it,
    /// and no rule names a kind that is not one (actions have their own).
    func testEveryAlertKindOfTheKindTableHasARule() throws {
        let rules = try String(contentsOfFile: Self.rulesDir + "/dockward-rules.yml", encoding: .utf8)
        for kind in EntryKind.allCases where kind.role == .alert {
            XCTAssertTrue(rules.contains("dockward_alert: \(kind.rawValue)\n"), "no rule for \(kind.rawValue)")
        }
        for line in rules.split(separator: "\n") where line.contains("dockward_alert: ") {
            let name = line.components(separatedBy: "dockward_alert: ")[1].trimmingCharacters(in: .whitespaces)
            let kind = EntryKind(rawValue: name)
            XCTAssertTrue(kind?.role == .alert || kind?.role == .action, "a rule for \(name), which is no alert kind")
        }
    }
}
