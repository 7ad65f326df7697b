import Foundation
import Glibc
import DockwardTestSupport
import XCTest

/// Runs the tools the packaging tests check against (systemd-analyze,
/// journalctl, dpkg) and finds the files under test.
enum Packaging {
    static var repoRoot: URL { TestEnvironment.repoRoot }
    static var unitFile: URL { repoRoot.appendingPathComponent("packaging/dockward.service") }
    static var catalogFile: URL { repoRoot.appendingPathComponent("packaging/dockward.catalog") }
    static var buildDeb: URL { repoRoot.appendingPathComponent("scripts/build-deb.sh") }
    static var configFile: URL { repoRoot.appendingPathComponent("config/dockward.yml") }

    static var binary: URL { TestEnvironment.dockwardBinary }

    typealias Result = Subprocess.Output

    /// Runs `tool` (looked up in PATH through /usr/bin/env) to completion.
    /// posix_spawn and waitpid with output in temp files rather than
    /// Foundation's Process, whose waitUntilExit was seen to hang when a child
    /// leaves a background process behind.
    static func run(_ tool: String, _ args: [String], environment extra: [String: String] = [:]) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env["SYSTEMD_PAGER"] = ""
        env["SYSTEMD_COLORS"] = "0"
        env["LC_ALL"] = "C.UTF-8"
        for (k, v) in extra { env[k] = v }
        return try Subprocess.run("/usr/bin/env", [tool] + args, environment: env)
    }

    static func toolExists(_ tool: String) -> Bool {
        ((try? run("sh", ["-c", "command -v \(tool)"]))?.status ?? 1) == 0
    }

    /// Fails in CI, skips elsewhere, when a prerequisite is missing.
    static func require(_ condition: Bool, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try TestEnvironment.require(condition, "packaging test needs \(what)", file: file, line: line)
    }

    static func requireTools(_ tools: String...) throws {
        for tool in tools { try require(toolExists(tool), "\(tool) (apt-get install it)") }
    }

    static func requireBinary() throws { try TestEnvironment.requireDockwardBinary() }

    static func requireRoot() throws {
        try require(geteuid() == 0, "root")
    }

    static func makeTempDir(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
