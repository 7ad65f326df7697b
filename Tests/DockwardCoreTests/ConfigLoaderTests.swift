import DockwardCore
import XCTest

final class ConfigLoaderTests: XCTestCase {
    func parse(_ yaml: String) throws -> DockwardConfig {
        try ConfigLoader.parse(yaml, file: "test.yml")
    }

    func issues(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(yaml, file: "test.yml")
            XCTFail("expected the config to be refused", file: file, line: line)
            return []
        } catch {
            return error.issues
        }
    }

    func testEmptyFileGivesDefaults() throws {
        XCTAssertEqual(try parse(""), DockwardConfig())
        XCTAssertEqual(try parse("# only a comment\n"), DockwardConfig())
    }

    func testShippedConfigIsValidAndEqualsDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/dockward.yml").standardized
        let bytes = [UInt8](try Data(contentsOf: url))
        let config = try ConfigLoader.parse(bytes: bytes, file: url.path)
        XCTAssertEqual(config, DockwardConfig(), "config/dockward.yml must show the built-in defaults")
    }

    func testEveryKeyIsRead() throws {
        let config = try parse("""
        cgroup:
          root: /host/sys/fs/cgroup
        docker:
          socket: /run/docker.sock
        pids:
          poll_interval: 500ms
          warn_ratio: 0.7
          critical_ratio: 0.9
          high_for: 10s
          unlimited: ignore
          forecast_horizon: 2m
          forecast_window: 1m
        alerts:
          repeat_interval: 1h
          recover_after: 1m30s
        overrides:
          - match: { name: "ci-*", image: "builder/*", label: "tier=batch" }
            warn_ratio: 0.9
            critical_ratio: 0.99
            ignore: true
        socket_watch:
          protect: [/run/x.sock]
          allow:
            - { name: portainer }
          resync_interval: 1m
        """)
        XCTAssertEqual(config.cgroupRoot, "/host/sys/fs/cgroup")
        XCTAssertEqual(config.dockerSocket, "/run/docker.sock")
        XCTAssertEqual(config.pollInterval, .milliseconds(500))
        XCTAssertEqual(config.pids.warnRatio, 0.7)
        XCTAssertEqual(config.pids.criticalRatio, 0.9)
        XCTAssertEqual(config.pids.highFor, .seconds(10))
        XCTAssertEqual(config.pids.unlimited, .ignore)
        XCTAssertEqual(config.pids.forecastHorizon, .minutes(2))
        XCTAssertEqual(config.pids.forecastWindow, .minutes(1))
        XCTAssertEqual(config.repeatInterval, .minutes(60))
        XCTAssertEqual(config.recoverAfter, .seconds(90))
        XCTAssertEqual(config.overrides.count, 1)
        XCTAssertEqual(config.overrides[0].match,
                       ContainerMatcher(name: "ci-*", image: "builder/*", labels: [.init(key: "tier", value: "batch")]))
        XCTAssertEqual(config.overrides[0].ignore, true)
        XCTAssertEqual(config.hostControl.protect, ["/run/x.sock"])
        XCTAssertEqual(config.hostControl.allow, [ContainerMatcher(name: "portainer")])
        XCTAssertEqual(config.hostControl.resyncInterval, .minutes(1))
    }

    func testHostControlSectionAndItsOldName() throws {
        let config = try ConfigLoader.parse("""
        host_control:
          protect: ["/run/user/*/docker.sock"]
          checks: { privileged: false, host_pid: false, engine_state: true, block_devices: false, engine_tcp: false }
          engine_config_root: /host
        """, file: "t.yml")
        XCTAssertEqual(config.hostControl.protect, ["/run/user/*/docker.sock"])
        var checks = DockwardConfig.HostControlChecks()
        checks.privileged = false
        checks.hostPID = false
        checks.blockDevices = false
        checks.engineTCP = false
        XCTAssertEqual(config.hostControl.checks, checks)
        XCTAssertEqual(config.hostControl.engineConfigRoot, "/host")
        XCTAssertEqual(try ConfigLoader.parse("socket_watch:\n  checks: { privileged: false }\n", file: "t.yml")
                        .hostControl.checks.privileged, false, "the old name still reads the same section")

        let both = issues("""
        socket_watch:
          resync_interval: 1m
        host_control:
          resync_interval: 2m
        """)
        XCTAssertEqual(both.map(\.line), [4])
        XCTAssertTrue(both[0].message.contains("socket_watch is given too"), both[0].message)
        let bad = issues("""
        host_control:
          checks:
            privileged: sometimes
            sockets: true
          engine_config_root: host
        """)
        XCTAssertEqual(bad.map(\.key), ["host_control.checks.privileged", "host_control.checks.sockets",
                                        "host_control.engine_config_root"])
    }

    func testUnknownKeyNamesLineAndKey() {
        let found = issues("""
        pids:
          warn_ratio: 0.8
          warn_ration: 0.9
        """)
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found[0].line, 3)
        XCTAssertEqual(found[0].key, "pids.warn_ration")
        XCTAssertTrue(found[0].description.hasPrefix("test.yml:3: pids.warn_ration: unknown key"), found[0].description)
    }

    func testOutOfRangeAndWrongTypes() {
        let found = issues("""
        pids:
          warn_ratio: 1.5
          critical_ratio: zero
          poll_interval: 0s
          forecast_horizon: 10
          unlimited: maybe
        alerts:
          repeat_interval: -5m
        """)
        let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byKey["pids.warn_ratio"]?.line, 2)
        XCTAssertEqual(byKey["pids.critical_ratio"]?.line, 3)
        XCTAssertEqual(byKey["pids.poll_interval"]?.line, 4)
        XCTAssertEqual(byKey["pids.forecast_horizon"]?.line, 5)
        XCTAssertEqual(byKey["pids.unlimited"]?.line, 6)
        XCTAssertEqual(byKey["alerts.repeat_interval"]?.line, 8)
    }

    func testWarnAboveCriticalIsRefused() {
        let found = issues("""
        pids:
          warn_ratio: 0.9
          critical_ratio: 0.8
        """)
        XCTAssertEqual(found.map(\.key), ["pids.warn_ratio"])
        XCTAssertEqual(found.first?.line, 2)
    }

    func testOverrideWarnAboveCriticalIsRefused() {
        let found = issues("""
        overrides:
          - match: { name: web }
            warn_ratio: 0.99
        """)
        XCTAssertEqual(found.map(\.key), ["overrides[0].warn_ratio"])
    }

    func testOverrideWithoutMatchOrEmptyMatch() {
        let found = issues("""
        overrides:
          - warn_ratio: 0.5
          - match: {}
            ignore: true
          - match: { name: web, colour: red }
        """)
        XCTAssertEqual(Set(found.map(\.key)), ["overrides[0].match", "overrides[1].match", "overrides[2].match.colour"])
        XCTAssertEqual(found.first(where: { $0.key == "overrides[2].match.colour" })?.line, 5)
    }

    func testDuplicateKey() {
        let found = issues("pids:\n  warn_ratio: 0.5\n  warn_ratio: 0.6\n")
        XCTAssertEqual(found.map(\.key), ["warn_ratio"])
        XCTAssertEqual(found.first?.line, 2, "the parser points at the first of the two")
        XCTAssertEqual(found.first?.message, "given twice in one mapping")
    }

    func testBrokenYamlNamesLine() {
        let found = issues("pids:\n  warn_ratio: [0.5\n  critical_ratio: 0.9\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].message.hasPrefix("not valid YAML"), found[0].message)
        XCTAssertGreaterThanOrEqual(found[0].line, 2)
    }

    func testTopLevelMustBeMapping() {
        XCTAssertEqual(issues("- a\n- b\n").count, 1)
    }

    func testRelativePathsRefused() {
        XCTAssertEqual(issues("cgroup:\n  root: sys/fs/cgroup\n").map(\.key), ["cgroup.root"])
    }

    func testNonUTF8NamesLine() {
        var bytes = Array("pids:\n  warn_ratio: 0.5\n".utf8)
        bytes += [0x23, 0xff, 0xfe, 0x0a]
        XCTAssertThrowsError(try ConfigLoader.parse(bytes: bytes, file: "bin.yml")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.issues.first?.line, 3)
            XCTAssertTrue(e.description.contains("UTF-8"))
        }
    }

    func testHugeFileRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: UInt8(ascii: "#"), count: ConfigLoader.maxBytes + 1)
        XCTAssertThrowsError(try ConfigLoader.parse(bytes: bytes, file: "big.yml"))
    }

    func testPolicyAppliesOverridesInOrder() throws {
        let config = try parse("""
        overrides:
          - match: { name: "web-*" }
            warn_ratio: 0.5
          - match: { label: "team" }
            warn_ratio: 0.6
            unlimited: ignore
          - match: { image: "batch/*" }
            ignore: true
        """)
        let web = ContainerMetadata(name: "/web-1", image: "nginx", labels: ["team": "a"])
        XCTAssertEqual(config.policy(for: web).warnRatio, 0.6)
        XCTAssertEqual(config.policy(for: web).unlimited, .ignore)
        XCTAssertFalse(config.policy(for: web).ignore)
        XCTAssertTrue(config.policy(for: ContainerMetadata(name: "x", image: "batch/job:1")).ignore)
        XCTAssertEqual(config.policy(for: nil), config.pids, "unknown containers get the global policy")
    }

    func testChangesListsWhatDiffers() throws {
        let old = DockwardConfig()
        let new = try parse("pids:\n  warn_ratio: 0.7\nalerts:\n  repeat_interval: 1m\n")
        XCTAssertEqual(new.changes(from: old), ["pids.warn_ratio: 0.8 -> 0.7", "alerts.repeat_interval: 10m -> 1m"])
    }
}

final class IntervalTests: XCTestCase {
    func testParse() {
        XCTAssertEqual(Interval(text: "500ms"), .milliseconds(500))
        XCTAssertEqual(Interval(text: "1s"), .seconds(1))
        XCTAssertEqual(Interval(text: "5m"), .minutes(5))
        XCTAssertEqual(Interval(text: "2h"), .minutes(120))
        XCTAssertEqual(Interval(text: "1m30s"), .seconds(90))
        for bad in ["", "1", "s", "1x", "-1s", "1.5s", "99999999999999h", " 1 s"] {
            XCTAssertNil(Interval(text: bad), bad)
        }
    }

    func testDescriptionRoundTrips() {
        for text in ["500ms", "1s", "10m", "1h", "1500ms"] {
            XCTAssertEqual(Interval(text: text)?.description, text)
        }
    }
}

final class ContainerMatcherTests: XCTestCase {
    func testGlobsAndLabels() {
        let m = ContainerMetadata(name: "web-1", image: "registry.example/team/web:2", labels: ["tier": "front", "x": ""])
        XCTAssertTrue(ContainerMatcher(name: "web-*").matches(m))
        XCTAssertFalse(ContainerMatcher(name: "web").matches(m))
        XCTAssertTrue(ContainerMatcher(image: "registry.example/*").matches(m))
        XCTAssertTrue(ContainerMatcher(labels: [.init(key: "x", value: nil)]).matches(m))
        XCTAssertTrue(ContainerMatcher(labels: [.init(key: "tier", value: "fr*")]).matches(m))
        XCTAssertFalse(ContainerMatcher(labels: [.init(key: "tier", value: "back")]).matches(m))
        XCTAssertFalse(ContainerMatcher(name: "web-*", image: "nginx").matches(m), "every criterion must match")
        XCTAssertFalse(ContainerMatcher(name: "*").matches(nil), "unknown metadata matches no rule")
    }
}

/// Inputs the fuzzer found (fuzz/regressions/config); each must be refused
/// quickly, with the same answer every time.
final class ConfigLoaderRegressionTests: XCTestCase {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fuzz/regressions/config").standardized

    func load(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.regressions.appendingPathComponent(name)))
    }

    func refusal(_ bytes: [UInt8]) -> ConfigError? {
        do { _ = try ConfigLoader.parse(bytes: bytes, file: "fuzz.yml"); return nil } catch { return error }
    }

    func testAliasBombsAreRefusedBeforeParsing() throws {
        for name in ["alias-bomb-in-mapping-key.yml", "alias-fanout-issues.yml", "alias-fanout-override-labels.yml"] {
            let start = Date()
            let error = refusal(try load(name))
            XCTAssertEqual(error?.issues.count, 1, name)
            XCTAssertTrue(error?.description.contains("anchors and aliases") ?? false, "\(name): \(error?.description ?? "accepted")")
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(name) must not expand")  // generous: it takes milliseconds
        }
    }

    /// Every file in the folder, found by listing it (a file added there is
    /// replayed without editing this test), with the fuzz target's checks
    /// (fuzz/config/main.swift): parsed quickly, a refusal has issues that
    /// name the file and a line, and the answer is the same every time.
    func testEveryConfigRegressionParsesQuicklyAndTheSameWayEveryTime() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)
            .filter { $0 != "README.md" && !$0.hasPrefix(".") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 6, "inputs in \(Self.regressions.path): \(names)")
        for name in names {
            let bytes = try load(name)
            let start = Date()
            let first = refusal(bytes)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(name) must parse quickly")  // generous: milliseconds
            if let first {
                XCTAssertFalse(first.issues.isEmpty, name)
                for issue in first.issues {
                    XCTAssertGreaterThanOrEqual(issue.line, 1, "\(name): \(issue)")
                    XCTAssertEqual(issue.file, "fuzz.yml", "\(name): \(issue)")
                }
            }
            for _ in 0..<20 { XCTAssertEqual(refusal(bytes), first, name) }
            print("replayed fuzz/regressions/config/\(name): \(first.map { "\($0)" } ?? "accepted")")
        }
    }

    /// Each folder under fuzz/regressions is replayed by a test that lists
    /// it: config here, events by EventStreamRegressionTests.
    func testEveryRegressionFolderIsReplayed() throws {
        let root = Self.regressions.deletingLastPathComponent()
        let folders = try FileManager.default.contentsOfDirectory(atPath: root.path).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isDir) && isDir.boolValue
        }
        XCTAssertEqual(Set(folders), ["config", "events"],
                       "a folder of fuzz regressions without a test that replays it: add one like ConfigLoaderRegressionTests")
    }

    func testDuplicateKeysAreReportedTheSameWayEveryTime() throws {
        for name in ["duplicate-keys-nondeterministic-line.yml", "duplicate-keys-same-text-other-tag.yml",
                     "duplicate-complex-keys-nondeterministic-line.yml"] {
            let bytes = try load(name)
            let first = refusal(bytes)
            XCTAssertNotNil(first, name)
            for _ in 0..<20 { XCTAssertEqual(refusal(bytes), first, name) }
        }
    }

    func testGlobsAndQuotedStarsAreNotAliases() throws {
        let config = try ConfigLoader.parse("""
        overrides:
          - match: { name: web-*, image: "*/batch:*", label: 'a=*' }   # *not* an alias
            ignore: true
        """, file: "t.yml")
        XCTAssertEqual(config.overrides.first?.match.name, "web-*")
        XCTAssertEqual(config.overrides.first?.match.image, "*/batch:*")
    }

    func testManyProblemsAreCappedInOneError() {
        let text = "pids:\n" + (0..<500).map { "  k\($0): 1" }.joined(separator: "\n")
        let error = refusal(Array(text.utf8))
        XCTAssertEqual(error?.issues.count, ConfigLoader.maxIssues + 1)
        XCTAssertTrue(error?.issues.last?.message.contains("450 more") ?? false)
    }
}
