import DockwardCore
import Foundation
import XCTest

/// Checks across keys run on the whole file: warn_ratio against
/// critical_ratio for every container, the alertmanager keys that go
/// together, whatever the order of the sections.
final class ConfigValidationTests: XCTestCase {
    func issues(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(yaml, file: "test.yml")
            XCTFail("expected the config to be refused", file: file, line: line)
            return []
        } catch {
            return error.issues
        }
    }

    func accepts(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try ConfigLoader.parse(yaml, file: "test.yml"), file: file, line: line)
    }

    func testOverrideIsCheckedAgainstThePidsSectionBelowIt() {
        let found = issues("""
        overrides:
          - match: { name: web }
            warn_ratio: 0.9
        pids:
          warn_ratio: 0.5
          critical_ratio: 0.85
        """)
        XCTAssertEqual(found.map(\.key), ["overrides[0].warn_ratio"])
        XCTAssertEqual(found.first?.line, 3)
        XCTAssertEqual(found.first?.message, "must not be above critical_ratio (0.9 > 0.85, pids.critical_ratio at line 6)")
    }

    func testOverrideCriticalBelowTheGlobalWarnNamesBoth() {
        let found = issues("""
        pids:
          warn_ratio: 0.8
        overrides:
          - match: { name: web }
            critical_ratio: 0.7
        """)
        XCTAssertEqual(found.map(\.key), ["overrides[0].critical_ratio"])
        XCTAssertEqual(found.first?.line, 5)
        XCTAssertEqual(found.first?.message, "must not be below warn_ratio (0.7 < 0.8, pids.warn_ratio at line 2)")
        let byDefault = issues("overrides:\n  - match: { name: web }\n    critical_ratio: 0.7\n")
        XCTAssertEqual(byDefault.first?.message, "must not be below warn_ratio (0.7 < 0.8, pids.warn_ratio by default)")
    }

    func testARuleThatLowersBothRatiosIsFine() {
        accepts("""
        overrides:
          - match: { name: web }
            warn_ratio: 0.6
            critical_ratio: 0.7
        """)
        XCTAssertEqual(issues("overrides:\n  - match: { name: web }\n    warn_ratio: 0.7\n    critical_ratio: 0.6\n")
            .map { "\($0.line) \($0.key) \($0.message)" }, ["3 overrides[0].warn_ratio must not be above critical_ratio (0.7 > 0.6)"])
    }

    func testOverlappingRulesAreCheckedTogether() {
        let found = issues("""
        overrides:
          - match: { name: "web-*" }
            warn_ratio: 0.9
            critical_ratio: 0.99
          - match: { label: "tier=prod" }
            critical_ratio: 0.85
        """)
        XCTAssertEqual(found.map(\.key), ["overrides[1].critical_ratio"])
        XCTAssertEqual(found.first?.line, 6)
        XCTAssertEqual(found.first?.message, "must not be below warn_ratio (0.85 < 0.9, overrides[0].warn_ratio at line 3, "
                       + "a rule that can match the same containers)")
        // And the loaded policy would have been wrong for web-1 with tier=prod:
        var config = DockwardConfig()
        var web = DockwardConfig.Override(match: ContainerMatcher(name: "web-*"))
        web.warnRatio = 0.9
        web.criticalRatio = 0.99
        var prod = DockwardConfig.Override(match: ContainerMatcher(labels: [.init(key: "tier", value: "prod")]))
        prod.criticalRatio = 0.85
        config.overrides = [web, prod]
        let policy = config.policy(for: ContainerMetadata(name: "web-1", image: "nginx", labels: ["tier": "prod"]))
        XCTAssertGreaterThan(policy.warnRatio, policy.criticalRatio)

        let laterWarn = issues("""
        overrides:
          - match: { image: "nginx*" }
            critical_ratio: 0.85
          - match: { name: "*-1" }
            warn_ratio: 0.9
        """)
        XCTAssertEqual(laterWarn.map(\.key), ["overrides[1].warn_ratio"], "the later rule is named, with the other's line")
        XCTAssertEqual(laterWarn.first?.line, 5)
        XCTAssertTrue(laterWarn.first?.message.contains("overrides[0].critical_ratio at line 3") ?? false, "\(laterWarn)")
    }

    func testProvablyDisjointRulesAreNotCheckedTogether() {
        for (a, b) in [("{ name: web }", "{ name: db }"),                       // two literal names
                       ("{ name: \"web-*\" }", "{ name: db }"),                 // a literal the glob does not match
                       ("{ image: nginx }", "{ image: \"postgres:*\" }"),
                       ("{ label: tier=prod }", "{ labels: [tier=dev, x] }"),   // one label, two values
                       ("{ name: \"web-*\", image: a }", "{ name: \"*-1\", image: b }")] {
            accepts("""
            overrides:
              - match: \(a)
                warn_ratio: 0.9
                critical_ratio: 0.99
              - match: \(b)
                critical_ratio: 0.85
            """)
        }
        for (a, b) in [("{ name: \"web-*\" }", "{ name: \"*-1\" }"),             // two globs: may overlap
                       ("{ name: web }", "{ image: nginx }"),                   // different criteria
                       ("{ label: tier=prod }", "{ label: tier }"),
                       ("{ name: \"web-*\" }", "{ name: web-1 }")] {
            let found = issues("""
            overrides:
              - match: \(a)
                warn_ratio: 0.9
                critical_ratio: 0.99
              - match: \(b)
                critical_ratio: 0.85
            """)
            XCTAssertEqual(found.map(\.key), ["overrides[1].critical_ratio"], "\(a) \(b)")
        }
    }

    /// A later rule that sets the ratio again for every container of the
    /// pair takes the pair out of play.
    func testALaterRuleCoveringThePairSettlesIt() {
        accepts("""
        overrides:
          - match: { name: "web-*" }
            warn_ratio: 0.9
            critical_ratio: 0.99
          - match: { name: "web-*", label: tier=prod }
            critical_ratio: 0.85
            warn_ratio: 0.8
        """)
        accepts("""
        overrides:
          - match: { name: web-1 }
            warn_ratio: 0.97
          - match: { name: "web-*" }
            critical_ratio: 0.99
        """)
        let uncovered = issues("""
        overrides:
          - match: { name: web-1 }
            warn_ratio: 0.97
          - match: { name: "web-*", image: nginx }
            critical_ratio: 0.99
        """)
        XCTAssertEqual(uncovered.map(\.key), ["overrides[0].warn_ratio"], "web-1 with another image keeps 0.97 > 0.95")
    }

    // MARK: Section order

    /// Top-level sections of one file; each permutation is parsed.
    struct Scenario {
        var name: String
        var sections: [(name: String, text: String)]
        var valid: Bool
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "valid", sections: [
            ("pids", "pids:\n  warn_ratio: 0.7\n  critical_ratio: 0.9\n"),
            ("overrides", "overrides:\n  - match: { name: web }\n    warn_ratio: 0.85\n  - match: { name: db }\n    critical_ratio: 0.8\n"),
            ("actions", "actions:\n  enabled: true\n  cap_unlimited: 512\n"),
            ("host_control", "host_control:\n  checks: { privileged: false }\n  allow: [{ name: portainer }]\n"),
            ("alerts", "alerts:\n  repeat_interval: 1m\n"),
            ("alertmanager", "alertmanager:\n  urls: [https://am:9093]\n  tls: { ca_file: /etc/ca.pem }\n"
                + "  labels: { cluster: prod }\n  timeout: 5s\n"),
        ], valid: true),
        Scenario(name: "an override above the pids section's critical ratio", sections: [
            ("pids", "pids:\n  warn_ratio: 0.5\n  critical_ratio: 0.85\n"),
            ("overrides", "overrides:\n  - match: { name: web }\n    warn_ratio: 0.9\n"),
            ("actions", "actions:\n  dry_run: true\n"),
            ("host_control", "host_control:\n  resync_interval: 1m\n"),
            ("alerts", "alerts:\n  recover_after: 1m\n"),
            ("alertmanager", "alertmanager:\n  urls: [http://am:9093]\n  resend_interval: 5s\n"),
        ], valid: false),
        Scenario(name: "overlapping rules, the pids section, and bad values", sections: [
            ("pids", "pids:\n  warn_ratio: 0.9\n  critical_ratio: 0.8\n"),
            ("overrides", "overrides:\n  - match: { name: \"web-*\" }\n    warn_ratio: 0.6\n"
                + "  - match: { label: tier }\n    critical_ratio: 0.5\n    actions: { on_exhausted: freeze }\n"),
            ("actions", "actions:\n  cap_unlimited: -1\n"),
            ("host_control", "host_control:\n  colour: red\n"),
            ("alerts", "alerts:\n  repeat_interval: 1m\n"),
            ("metrics", "metrics:\n  listen: \"127.0.0.1:9327\"\n"),
            ("alertmanager", "alertmanager:\n  urls: [http://am:9093, http://am:9093/]\n  tls: { ca_file: /etc/ca.pem }\n"
                + "  labels: { severity: high }\n  timeout: 2m\n  bearer_token_file: /etc/token\n  basic_auth: { username: d }\n"),
        ], valid: false),
    ]

    /// A verdict with the lines written as section and offset, so the
    /// permutations of one file can be compared.
    struct Verdict: Equatable {
        var config: DockwardConfig?
        var ruleLines: [String]
        var issues: Set<String>
    }

    static func verdict(_ sections: [(name: String, text: String)]) -> Verdict {
        var text = ""
        var starts: [(name: String, line: Int)] = []
        for section in sections {
            starts.append((section.name, text.split(separator: "\n", omittingEmptySubsequences: false).count))
            text += section.text
        }
        func place(_ line: Int) -> String {
            guard let s = starts.last(where: { $0.line <= line }) else { return "line \(line)" }
            return "\(s.name)+\(line - s.line)"
        }
        do {
            var config = try ConfigLoader.parse(text, file: "order.yml")
            let ruleLines = config.overrides.map { place($0.line) }
            for i in config.overrides.indices { config.overrides[i].line = 0 }
            return Verdict(config: config, ruleLines: ruleLines, issues: [])
        } catch {
            let regex = try! NSRegularExpression(pattern: "line ([0-9]+)")
            return Verdict(config: nil, ruleLines: [], issues: Set(error.issues.map { issue in
                var message = issue.message
                for match in regex.matches(in: issue.message, range: NSRange(issue.message.startIndex..., in: issue.message)).reversed() {
                    let number = Int((issue.message as NSString).substring(with: match.range(at: 1)))!
                    message = (message as NSString).replacingCharacters(in: match.range, with: place(number))
                }
                return "\(issue.file) \(place(issue.line)) \(issue.key): \(message)"
            }))
        }
    }

    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i in
            var rest = items
            let first = rest.remove(at: i)
            return permutations(rest).map { [first] + $0 }
        }
    }

    /// `check-config` is this parse: the same verdict, config and issues for
    /// every order of the sections.
    func testEveryOrderOfTheSectionsGivesTheSameVerdict() {
        for scenario in Self.scenarios {
            let orders = Self.permutations(scenario.sections)
            let first = Self.verdict(orders[0])
            XCTAssertEqual(first.config != nil, scenario.valid, "\(scenario.name): \(first.issues.sorted())")
            for order in orders.dropFirst() {
                XCTAssertEqual(Self.verdict(order), first, "\(scenario.name) in the order \(order.map(\.name))")
            }
            print("\(scenario.name): \(orders.count) orders, \(first.issues.count) issue(s): \(first.issues.sorted())")
        }
    }

    func testTheMixedScenarioFindsEveryProblem() {
        let issues = Self.verdict(Self.scenarios[2].sections).issues
        XCTAssertEqual(issues, [
            "order.yml pids+1 pids.warn_ratio: must not be above critical_ratio (0.9 > 0.8)",
            "order.yml overrides+4 overrides[1].critical_ratio: must not be below warn_ratio (0.5 < 0.9, pids.warn_ratio at pids+1)",
            "order.yml overrides+4 overrides[1].critical_ratio: must not be below warn_ratio (0.5 < 0.6, "
                + "overrides[0].warn_ratio at overrides+2, a rule that can match the same containers)",
            "order.yml overrides+5 overrides[1].actions.on_exhausted: expected none, pause, stop or kill, got \"freeze\"",
            "order.yml actions+1 actions.cap_unlimited: must be from 0 (off) to 4194304, got -1",
            "order.yml host_control+1 host_control.colour: unknown key; expected one of: "
                + "protect, allow, resync_interval, checks, engine_config_root",
            "order.yml alertmanager+1 alertmanager.urls[1]: given twice (as alertmanager.urls[0] too)",
            "order.yml alertmanager+2 alertmanager.tls.ca_file: tls applies only to https:// urls, and alertmanager.urls has none",
            "order.yml alertmanager+3 alertmanager.labels.severity: reserved: dockward sets this label itself "
                + "(alertname, severity, kind, container, container_id, image, host, episode, namespace, pod)",
            "order.yml alertmanager+4 alertmanager.timeout: must be below resend_interval "
                + "(2m >= 1m, alertmanager.resend_interval by default)",
            "order.yml alertmanager+5 alertmanager.bearer_token_file: not with basic_auth "
                + "(alertmanager.basic_auth.username at alertmanager+6): one Authorization header per request",
            "order.yml alertmanager+6 alertmanager.basic_auth.username: needs basic_auth.password_file too "
                + "(the password stays in a file)",
        ])
    }
}

extension ConfigValidationTests {
    /// Thousands of rules whose ratios cross: refused within the work
    /// bound, not after minutes of pairwise checks.
    func testManyCrossingRulesAreRefusedWithinTheWorkBound() {
        let rules = (0..<3000).map { i in
            i % 2 == 0 ? "  - { match: { name: \"a\(i)*\" }, warn_ratio: 0.9, critical_ratio: 0.99 }"
                : "  - { match: { name: \"b\(i)*\" }, critical_ratio: 0.85 }"
        }
        let found = issues("overrides:\n" + rules.joined(separator: "\n") + "\n")
        XCTAssertTrue(found.contains { $0.key == "overrides" && $0.message.hasPrefix("too many rules") }, "\(found.suffix(3))")
        XCTAssertEqual(found.count, ConfigLoader.maxIssues + 1, "capped like any other list of problems")
        // And many rules whose ratios agree cost nothing.
        let calm = (0..<3000).map { "  - { match: { name: \"a\($0)*\" }, warn_ratio: 0.5, critical_ratio: 0.6 }" }
        accepts("overrides:\n" + calm.joined(separator: "\n") + "\n")
    }
}
