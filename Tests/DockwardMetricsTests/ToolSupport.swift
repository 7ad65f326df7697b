import Foundation
import Glibc
import XCTest

/// Runs external tools (promtool) the way the end-to-end harness does:
/// posix_spawn, waitpid and temp files, not Foundation's Process, whose
/// waitUntilExit was seen to hang here. Bounded by a deadline.
enum Tool {
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// The tool's path on PATH (plus the sbin folders), or nil.
    static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The tool's path; when it is missing, fails in CI (CI=true) and skips elsewhere.
    static func require(_ name: String, package: String) throws -> String {
        if let path = find(name) { return path }
        let text = "\(name) not found: install it with `apt-get install -y --no-install-recommends \(package)`"
        if inCI {
            XCTFail(text)
            throw XCTSkip("failed above: \(text)")
        }
        throw XCTSkip(text)
    }

    /// Runs `path args`, feeding `stdin`; kills it (SIGKILL) past `timeout` seconds.
    static func run(_ path: String, _ args: [String], stdin: String? = nil,
                    timeout: TimeInterval = 60) throws -> Result {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("dockward-metrics-tool-\(UUID().uuidString)").path
        let inPath = base + ".in", outPath = base + ".out", errPath = base + ".err"
        defer { unlink(inPath); unlink(outPath); unlink(errPath) }
        try (stdin ?? "").write(toFile: inPath, atomically: false, encoding: .utf8)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw NSError(domain: "tool", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot spawn \(path): errno \(rc)"])
        }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline && !timedOut {
                timedOut = true
                kill(pid, SIGKILL)
            }
            usleep(10_000)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if timedOut {
            throw NSError(domain: "tool", code: -1, userInfo: [
                NSLocalizedDescriptionKey: "\(path) \(args.joined(separator: " ")) timed out after \(timeout)s: \(out)\(err)",
            ])
        }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitCode, stdout: out, stderr: err)
    }
}

/// The samples of an exposition, keyed by `name{labels}` exactly as written.
func samples(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        out[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return out
}

/// Metric names that have at least one sample.
func metricNames(_ text: String) -> Set<String> {
    Set(samples(text).keys.map { key in String(key.prefix { $0 != "{" && $0 != " " }) })
}
