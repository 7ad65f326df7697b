import Foundation
import Glibc
import DockwardTestSupport
import XCTest

/// Runs external tools (promtool) the way the end-to-end harness does:
/// posix_spawn, waitpid and temp files, not Foundation's Process, whose
/// waitUntilExit was seen to hang here. Bounded by a deadline.
enum Tool {
    static var repoRoot: URL { TestEnvironment.repoRoot }

    typealias Result = Subprocess.Output

    /// The tool's path on PATH (plus the sbin folders), or nil.
    static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The tool's path; when it is missing, fails in CI and skips elsewhere.
    static func require(_ name: String, package: String) throws -> String {
        if let path = find(name) { return path }
        try TestEnvironment.skipOrFailInCI(
            "\(name) not found: install it with `apt-get install -y --no-install-recommends \(package)`")
    }

    /// Runs `path args`, feeding `stdin`; kills it (SIGKILL) past `timeout` seconds.
    static func run(_ path: String, _ args: [String], stdin: String? = nil,
                    timeout: TimeInterval = 60) throws -> Result {
        try Subprocess.run(path, args, stdin: stdin ?? "", timeout: timeout)
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
