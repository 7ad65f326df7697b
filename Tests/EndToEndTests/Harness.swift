import Foundation
import Glibc
import DockwardTestSupport
import XCTest

/// End-to-end harness: the real dockward binary, a real private dockerd and
/// the real journald (started by `scripts/test-services.sh`, which `make test`
/// runs). The harness may use the docker CLI and journalctl; the daemon never does.
enum E2E {
    static let socket = ProcessInfo.processInfo.environment["DOCKWARD_TEST_DOCKER_SOCKET"] ?? "/run/dockward-test/docker.sock"
    static let image = ProcessInfo.processInfo.environment["DOCKWARD_TEST_IMAGE"] ?? "local/busybox:test"
    static var inCI: Bool { TestEnvironment.inCI }
    static var repoRoot: URL { TestEnvironment.repoRoot }
    /// The dockward binary next to this test bundle (`swift build` puts both in one folder).
    static var binary: URL { TestEnvironment.dockwardBinary }

    /// Fails in CI, skips elsewhere, when the engine or journald is missing.
    static func requireServices() throws {
        var missing: [String] = []
        if (try? run("docker", ["version", "--format", "{{.Server.APIVersion}}"])) == nil {
            missing.append("Docker engine at \(socket)")
        }
        if !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") {
            missing.append("journald (/run/systemd/journal/socket)")
        }
        if !FileManager.default.isExecutableFile(atPath: binary.path) {
            missing.append("dockward binary at \(binary.path) (run swift build)")
        }
        guard !missing.isEmpty else { return }
        try TestEnvironment.skipOrFailInCI(
            "end-to-end test needs \(missing.joined(separator: " and ")); run scripts/test-services.sh start")
    }

    /// Runs a command with DOCKER_HOST set to the private engine; returns stdout.
    @discardableResult
    static func run(_ tool: String, _ args: [String], allowFailure: Bool = false) throws -> String {
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "unix://\(socket)"
        let result = try Subprocess.run("/usr/bin/env", [tool] + args, environment: env)
        if result.status != 0 && !allowFailure {
            throw NSError(domain: "e2e", code: Int(result.status), userInfo: [
                NSLocalizedDescriptionKey: "\(tool) \(args.joined(separator: " ")) failed (\(result.status)): \(result.stderr)",
            ])
        }
        return result.stdout
    }

    static func uniqueName(_ prefix: String) -> String {
        "dockward-e2e-\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Starts a container (network none: nothing leaves loopback); returns its id.
    @discardableResult
    static func runContainer(name: String, options: [String] = [], command: [String]) throws -> String {
        try run("docker", ["run", "-d", "--network", "none", "--name", name] + options + [image] + command)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func removeContainer(_ name: String) {
        _ = try? run("docker", ["rm", "-f", name], allowFailure: true)
    }

    /// dockward's journal entries matching `fields` since `since` (µs since epoch).
    static func journalEntries(_ fields: [String: String], sinceMicros: UInt64) throws -> [[String: String]] {
        var args = ["-o", "json", "--no-pager", "--all", "SYSLOG_IDENTIFIER=dockward"]
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { args.append("\(k)=\(v)") }
        let text = try run("journalctl", args, allowFailure: true)
        return text.split(separator: "\n").compactMap { line -> [String: String]? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            var out: [String: String] = [:]
            for (k, v) in obj { if let s = v as? String { out[k] = s } }
            guard let ts = out["__REALTIME_TIMESTAMP"].flatMap(UInt64.init), ts >= sinceMicros else { return nil }
            return out
        }
    }

    /// Waits until at least `count` entries match, or `timeout` passes.
    static func waitForEntries(_ fields: [String: String], sinceMicros: UInt64, count: Int = 1,
                               timeout: TimeInterval) throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found = try journalEntries(fields, sinceMicros: sinceMicros)
            if found.count >= count || Date() > deadline { return found }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// The real daemon as a child process with a config of the test's choosing.
final class DaemonProcess {
    let process = Process()
    let configURL: URL
    let stderrURL: URL

    init(config: String, environment extra: [String: String] = [:], arguments: [String] = []) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("dockward.yml")
        stderrURL = dir.appendingPathComponent("stderr.txt")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = E2E.binary
        process.arguments = ["run", "--config", configURL.path, "--log-stderr", "--log-level", "debug"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "unix://\(E2E.socket)"
        env.merge(extra) { $1 }
        process.environment = env
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var pid: String { String(process.processIdentifier) }

    func writeConfig(_ text: String) throws { try text.write(to: configURL, atomically: true, encoding: .utf8) }
    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// True once the process has exited, false if it still runs at the deadline.
    func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !process.isRunning
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
