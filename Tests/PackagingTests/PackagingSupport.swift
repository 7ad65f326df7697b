import Foundation
import Glibc
import XCTest

/// Runs the tools the packaging tests check against (systemd-analyze,
/// journalctl, dpkg) and finds the files under test.
enum Packaging {
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized
    static var unitFile: URL { repoRoot.appendingPathComponent("packaging/dockward.service") }
    static var catalogFile: URL { repoRoot.appendingPathComponent("packaging/dockward.catalog") }
    static var buildDeb: URL { repoRoot.appendingPathComponent("scripts/build-deb.sh") }
    static var configFile: URL { repoRoot.appendingPathComponent("config/dockward.yml") }

    /// The dockward binary next to this test bundle (`swift build` puts both in one folder).
    static var binary: URL {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("dockward"),
            Bundle(for: Marker.self).bundleURL.deletingLastPathComponent().appendingPathComponent("dockward"),
            repoRoot.appendingPathComponent(".build/debug/dockward"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    private final class Marker {}

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Runs `tool` (looked up in PATH through /usr/bin/env) to completion.
    /// posix_spawn and waitpid with output in temp files rather than
    /// Foundation's Process, whose waitUntilExit was seen to hang when a child
    /// leaves a background process behind.
    static func run(_ tool: String, _ args: [String], environment extra: [String: String] = [:]) throws -> Result {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-pkg-\(UUID().uuidString)").path
        let outPath = base + ".out", errPath = base + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        env["SYSTEMD_PAGER"] = ""
        env["SYSTEMD_COLORS"] = "0"
        env["LC_ALL"] = "C.UTF-8"
        for (k, v) in extra { env[k] = v }
        let argv = (["/usr/bin/env", tool] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, envp)
        guard rc == 0 else {
            throw NSError(domain: "packaging", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot spawn \(tool)"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code,
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    static func toolExists(_ tool: String) -> Bool {
        ((try? run("sh", ["-c", "command -v \(tool)"]))?.status ?? 1) == 0
    }

    /// Fails in CI (CI=true), skips elsewhere, when a prerequisite is missing.
    static func require(_ condition: Bool, _ what: String) throws {
        guard !condition else { return }
        if inCI {
            XCTFail("packaging test needs \(what)")
            throw XCTSkip("failed above: needs \(what)")
        }
        throw XCTSkip("needs \(what)")
    }

    static func requireTools(_ tools: String...) throws {
        for tool in tools { try require(toolExists(tool), "\(tool) (apt-get install it)") }
    }

    static func requireBinary() throws {
        try require(FileManager.default.isExecutableFile(atPath: binary.path),
                    "the dockward binary at \(binary.path) (swift build)")
    }

    static func requireRoot() throws {
        try require(geteuid() == 0, "root")
    }

    static func makeTempDir(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
