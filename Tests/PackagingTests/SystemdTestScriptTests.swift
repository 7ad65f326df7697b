import DockwardTestSupport
import Foundation
import XCTest

/// scripts/systemd-test.sh (run by `make test` as `make test-systemd`, after
/// the XCTests) boots the package under a real systemd. What can be checked
/// without booting: it is wired into `make test`, it takes its mirror from
/// the machine's apt sources, and the guest's checks are all there.
final class SystemdTestScriptTests: XCTestCase {
    func text(_ path: String) throws -> String {
        try String(contentsOf: TestEnvironment.repoRoot.appendingPathComponent(path), encoding: .utf8)
    }

    func testMakeTestRunsTheSystemdTest() throws {
        let makefile = try text("Makefile")
        guard let testRule = makefile.components(separatedBy: "\ntest: ").dropFirst().first else {
            return XCTFail("no test target in the Makefile")
        }
        let recipe = testRule.components(separatedBy: "\n\n").first ?? ""
        XCTAssertTrue(recipe.contains("$(MAKE) --no-print-directory test-systemd"), recipe)
        XCTAssertTrue(makefile.contains("\ntest-systemd: deps packaging-tools test-services deb\n"), "test-systemd builds the package it tests")
        XCTAssertTrue(makefile.contains("scripts/systemd-test.sh "))
    }

    func testNoMirrorHostIsWrittenIntoTheScripts() throws {
        for path in ["scripts/systemd-test.sh", "scripts/systemd-test-guest.sh", "scripts/apt-mirror.sh"] {
            let script = try text(path)
            // Loopback (the guest's own Alertmanager) is no mirror.
            XCTAssertNil(script.range(of: #"https?://(?!127\.0\.0\.1[:/])"#, options: .regularExpression), "\(path) names a URL")
            XCTAssertFalse(script.contains("debian.org"), "\(path) names a mirror")
        }
        XCTAssertTrue(try text("scripts/systemd-test.sh").contains(#". "$(dirname "$0")/apt-mirror.sh""#))
        XCTAssertTrue(try text("scripts/apt-mirror.sh").contains("/etc/apt/sources.list.d/*.sources"), "the mirror comes from apt's sources")
    }

    func testScriptsParseAndTheGuestRunsEveryCheck() throws {
        for (shell, path) in [("bash", "scripts/systemd-test.sh"), ("sh", "scripts/systemd-test-guest.sh")] {
            let url = TestEnvironment.repoRoot.appendingPathComponent(path)
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: url.path), "\(path) is not executable")
            let parsed = try Subprocess.run("/usr/bin/env", [shell, "-n", url.path])
            XCTAssertEqual(parsed.status, 0, "\(path): \(parsed.output)")
        }
        let guest = try text("scripts/systemd-test-guest.sh")
        for check in ["install", "start-without-group", "engine-lost-once-with-advice", "pids-watch-without-group",
                      "start-with-group", "tmp-symlink", "folder-0700", "nothing-unresolved", "named-volume", "privileged", "watchdog",
                      "reload-good", "reload-bad", "state-survives-restart", "alerts-command", "exposure-score",
                      "folder-0700-without-capability", "actions-drop-in", "alertmanager-needs-drop-in", "alertmanager-drop-in",
                      "stop", "journal-only-dockward"] {
            XCTAssertTrue(guest.contains("verdict \(check) "), "the guest script lacks the \(check) check")
        }
    }
}
