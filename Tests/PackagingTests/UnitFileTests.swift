import DockwardCore
import DockwardTestSupport
import Foundation
import XCTest

/// packaging/dockward.service against systemd's own checkers, which work
/// without systemd running as PID 1.
final class UnitFileTests: XCTestCase {
    /// The exposure `systemd-analyze security --offline=true` gives the unit
    /// (systemd 252): it may only go down. 0.0 is the safest, 10.0 the least.
    /// 1.0 since the host-control watch sees the host as the engine does (no
    /// PrivateTmp=/PrivateUsers=, CAP_DAC_READ_SEARCH) and setpriority() is
    /// allowed; 1.2 since the pids watch reads containers' main processes'
    /// /proc/<pid>/cgroup (ProtectProc=default); packaging/README.md lists
    /// every item.
    static let exposureCeiling = 1.2

    /// A copy of the unit, named dockward.service, whose ExecStart runs the
    /// dockward binary built next to this test bundle: `verify` checks that
    /// the command exists, and /usr/bin/dockward is there only once the
    /// package is installed.
    func unitCopy() throws -> URL {
        let url = try Self.unitCopy()
        addTeardownBlock { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        return url
    }

    /// The same in a folder of its own, which the caller removes.
    static func unitCopy() throws -> URL {
        let dir = try Packaging.makeTempDir("unit")
        let text = try String(contentsOf: Packaging.unitFile, encoding: .utf8)
        XCTAssertTrue(text.contains("\nExecStart=/usr/bin/dockward run "), "ExecStart runs the packaged binary")
        let copy = text.replacingOccurrences(of: "\nExecStart=/usr/bin/dockward ",
                                             with: "\nExecStart=\(Packaging.binary.path) ")
        let url = dir.appendingPathComponent("dockward.service")
        try copy.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testUnitFilePassesSystemdAnalyzeVerify() throws {
        try Packaging.requireTools("systemd-analyze")
        try Packaging.requireBinary()
        let unit = try unitCopy()
        let result = try Packaging.run("systemd-analyze", ["verify", unit.path])
        XCTAssertEqual(result.status, 0, result.output)
        // verify prints warnings (unknown keys, bad values) and still exits 0.
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "", result.output)
    }

    func testUnitFileSecurityExposureDoesNotRegress() throws {
        try Packaging.requireTools("systemd-analyze")
        let result = try Packaging.run("systemd-analyze", ["security", "--offline=true", "--no-pager", Packaging.unitFile.path])
        // It exits non-zero only above --threshold; the score is on the last line:
        // "→ Overall exposure level for dockward.service: 0.3 SAFE 😀"
        guard let range = result.stdout.range(of: #"Overall exposure level for dockward\.service: ([0-9]+\.[0-9]+)"#,
                                              options: .regularExpression) else {
            return XCTFail("no exposure level in:\n\(result.output)")
        }
        let score = Double(result.stdout[range].split(separator: " ").last!)!
        XCTAssertLessThanOrEqual(score, Self.exposureCeiling,
                                 "exposure rose to \(score):\n\(result.stdout.split(separator: "\n").filter { $0.hasPrefix("✗") }.joined(separator: "\n"))")
    }

    /// Settings the daemon's job depends on; a "tidy up" must not drop them.
    func testUnitFileKeepsTheDaemonsContract() throws {
        let text = try String(contentsOf: Packaging.unitFile, encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for expected in [
            "Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "Restart=on-failure",
            "ExecStart=/usr/bin/dockward run --config /etc/dockward/dockward.yml",
            "ExecReload=/bin/sh -c 'kill -HUP \"$$MAINPID\"'", "RestartPreventExitStatus=78",
            "User=dockward", "StateDirectory=dockward", "PrivateTmp=no", "PrivateUsers=no",
            "CapabilityBoundingSet=CAP_DAC_READ_SEARCH", "AmbientCapabilities=CAP_DAC_READ_SEARCH",
            "SystemCallFilter=setpriority", "Nice=-4",
        ] {
            XCTAssertTrue(lines.contains(expected), "the unit lacks \(expected)")
        }
        // A host without the group must still start the service (216/GROUP
        // otherwise), and a minimal system has no /bin/kill (procps).
        XCTAssertFalse(lines.contains { $0.hasPrefix("SupplementaryGroups=") }, "a missing group would stop every start")
        XCTAssertFalse(lines.contains { $0.hasPrefix("ExecReload=/bin/kill") }, "/bin/kill is missing on a minimal system")
        // DynamicUser=yes forces PrivateTmp=yes: the host's /tmp hidden from the host-control watch.
        XCTAssertFalse(lines.contains("DynamicUser=yes"), "DynamicUser=yes hides the host's /tmp")
        // /proc/loadavg and /proc/sys/kernel/* are what the host pids watch reads.
        XCTAssertFalse(lines.contains { $0.hasPrefix("ProcSubset=pid") }, "ProcSubset=pid hides /proc/loadavg and /proc/sys")
    }
}

/// packaging/actions/dockward.service.d/actions.conf: the drop-in that
/// enabling actions needs loads cleanly on top of the unit and grants what
/// it says, and the unit itself stays without it.
final class ActionsDropInTests: XCTestCase {
    /// Verifies the unit with the drop-in at `path` (in the repository)
    /// beside it, as systemd would load them; returns the drop-in's lines.
    static func verifyDropIn(_ path: String, in test: XCTestCase) throws -> Set<String> {
        try Packaging.requireTools("systemd-analyze")
        try Packaging.requireBinary()
        let dir = try UnitFileTests.unitCopy().deletingLastPathComponent()
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let dropIn = TestEnvironment.repoRoot.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("dockward.service.d"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: dropIn, to: dir.appendingPathComponent("dockward.service.d/\(dropIn.lastPathComponent)"))
        let service = dir.appendingPathComponent("dockward.service").path
        let verify = try Packaging.run("/usr/bin/env", ["SYSTEMD_UNIT_PATH=\(dir.path):", "systemd-analyze", "verify", service])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertEqual(verify.output.trimmingCharacters(in: .whitespacesAndNewlines), "", verify.output)
        return Set(try String(contentsOf: dropIn, encoding: .utf8).split(separator: "\n").map(String.init))
    }

    func testActionsDropInVerifiesOnTopOfTheUnit() throws {
        let lines = try Self.verifyDropIn("packaging/actions/dockward.service.d/actions.conf", in: self)
        for expected in ["ProtectControlGroups=no", "ReadWritePaths=/sys/fs/cgroup",
                         "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE",
                         "AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE"] {
            XCTAssertTrue(lines.contains(expected), "the drop-in lacks \(expected)")
        }
        let unit = try String(contentsOf: Packaging.unitFile, encoding: .utf8)
        XCTAssertFalse(unit.contains("CAP_DAC_OVERRIDE"), "the default unit grants no write to the cgroup tree")
        XCTAssertTrue(unit.contains("\nProtectControlGroups=yes\n"))
    }
}

/// packaging/alertmanager/: the drop-in that `alertmanager.urls` needs loads
/// cleanly on top of the unit and opens only what it says, and the sample
/// route for Alertmanager's own config passes `amtool check-config`.
final class AlertmanagerPackagingTests: XCTestCase {
    func testAlertmanagerDropInVerifiesOnTopOfTheUnit() throws {
        let lines = try ActionsDropInTests.verifyDropIn("packaging/alertmanager/dockward.service.d/alertmanager.conf", in: self)
        for expected in ["PrivateNetwork=no", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                         "IPAddressAllow=localhost"] {
            XCTAssertTrue(lines.contains(expected), "the drop-in lacks \(expected)")
        }
        XCTAssertFalse(lines.contains { $0.hasPrefix("IPAddressDeny") }, "the unit's IPAddressDeny=any stays")
    }

    func testSampleRouteIsAValidAlertmanagerConfig() throws {
        try Packaging.requireTools("amtool")
        let sample = TestEnvironment.repoRoot.appendingPathComponent("packaging/alertmanager/alertmanager.yml").path
        let check = try Packaging.run("/usr/bin/env", ["amtool", "check-config", sample])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains("SUCCESS"), check.output)
        // Every alertname the sample matches is one dockward sends.
        let text = try String(contentsOfFile: sample, encoding: .utf8)
        let names = Set(EntryKind.allCases.compactMap(\.facts.alertName))
        for name in ["DockwardPidsExhausted", "DockwardPidsHigh", "DockwardPidsForecast", "DockwardHostPidsHigh"] {
            XCTAssertTrue(text.contains(name) && names.contains(name), name)
        }
    }
}
