import DockwardCore
import XCTest

/// The `actions:` section: defaults, strict parsing, overrides, reload lines.
extension ConfigLoaderTests {
    func testActionsDefaultsChangeNothing() {
        let a = DockwardConfig().actions
        XCTAssertFalse(a.enabled)
        XCTAssertFalse(a.dryRun)
        XCTAssertEqual(a.capUnlimited, 0)
        XCTAssertEqual(a.onExhausted, .none)
        XCTAssertEqual(a.exhaustedFor, .seconds(30))
        XCTAssertFalse(a.mayAct)
        XCTAssertFalse(DockwardConfig().actionsMayBeEnabled)
    }

    func testEveryActionsKeyIsRead() throws {
        let c = try parse("""
        actions:
          enabled: true
          dry_run: true
          cap_unlimited: 2048
          on_exhausted: pause
          exhausted_for: 1m
        """)
        XCTAssertTrue(c.actions.enabled)
        XCTAssertTrue(c.actions.dryRun)
        XCTAssertEqual(c.actions.capUnlimited, 2048)
        XCTAssertEqual(c.actions.onExhausted, .pause)
        XCTAssertEqual(c.actions.exhaustedFor, .minutes(1))
        XCTAssertTrue(c.actions.mayAct)
        XCTAssertTrue(c.summary.hasSuffix(", actions enabled (dry run)"), c.summary)
    }

    func testBadActionsValuesNameLineAndKey() {
        let found = issues("""
        actions:
          enabled: yes please
          cap_unlimited: -1
          on_exhausted: freeze
          exhausted_for: 0s
          dry_run: 1
          whatever: 3
        overrides:
          - match: { name: "x" }
            actions: { cap_unlimited: lots }
        """)
        let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byKey["actions.enabled"]?.line, 2)
        XCTAssertEqual(byKey["actions.cap_unlimited"]?.line, 3)
        XCTAssertEqual(byKey["actions.on_exhausted"]?.line, 4)
        XCTAssertTrue(byKey["actions.on_exhausted"]?.message.contains("none, pause, stop or kill") ?? false)
        XCTAssertEqual(byKey["actions.exhausted_for"]?.line, 5)
        XCTAssertEqual(byKey["actions.dry_run"]?.line, 6)
        XCTAssertEqual(byKey["actions.whatever"]?.line, 7)
        XCTAssertEqual(byKey["overrides[0].actions.cap_unlimited"]?.line, 10)
        XCTAssertEqual(found.count, 7, "\(found)")
        XCTAssertEqual(issues("actions:\n  cap_unlimited: 5000000\n").first?.key, "actions.cap_unlimited")
        XCTAssertEqual(issues("actions: 3\n").first?.key, "actions")
    }

    func testActionsOverridesApplyByTheSameMatcherInOrder() throws {
        let c = try parse("""
        actions:
          cap_unlimited: 1000
        overrides:
          - match: { name: "batch-*" }
            actions: { enabled: true, on_exhausted: pause }
          - match: { name: "batch-7" }
            actions: { dry_run: true, cap_unlimited: 300 }
          - match: { label: "tier=prod" }
            warn_ratio: 0.5
        """)
        XCTAssertTrue(c.actionsMayBeEnabled)
        let web = c.actionsPolicy(for: ContainerMetadata(name: "web", image: "nginx"))
        XCTAssertFalse(web.enabled)
        XCTAssertEqual(web.capUnlimited, 1000)
        let b1 = c.actionsPolicy(for: ContainerMetadata(name: "batch-1", image: "x"))
        XCTAssertTrue(b1.enabled)
        XCTAssertFalse(b1.dryRun)
        XCTAssertEqual(b1.onExhausted, .pause)
        XCTAssertEqual(b1.capUnlimited, 1000)
        let b7 = c.actionsPolicy(for: ContainerMetadata(name: "batch-7", image: "x"))
        XCTAssertTrue(b7.enabled && b7.dryRun)
        XCTAssertEqual(b7.capUnlimited, 300)
        XCTAssertFalse(c.actionsPolicy(for: nil).enabled, "an unnamed container matches no rule")
        XCTAssertEqual(c.policy(for: ContainerMetadata(name: "batch-1", image: "x")), c.pids, "pids policy untouched")
    }

    func testChangesNameEveryActionsKey() throws {
        let old = DockwardConfig()
        let new = try parse("""
        actions: { enabled: true, dry_run: true, cap_unlimited: 9, on_exhausted: kill, exhausted_for: 5s }
        """)
        XCTAssertEqual(new.changes(from: old), [
            "actions.enabled: false -> true", "actions.dry_run: false -> true", "actions.cap_unlimited: 0 -> 9",
            "actions.on_exhausted: none -> kill", "actions.exhausted_for: 30s -> 5s",
        ])
    }
}
