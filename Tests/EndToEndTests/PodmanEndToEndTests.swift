import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// dockward on a Podman host, for real: Podman 4.3 rootful with the cgroupfs
/// manager (this machine has no systemd as PID 1; pids on cgroup v1), its
/// Docker-compatible API on a private socket started by
/// scripts/test-services.sh, containers with `--network none`, bombs only
/// under `--pids-limit`. The daemon is pointed at that socket as a Podman
/// host's config would point it at /run/podman/podman.sock.
final class PodmanEndToEndTests: XCTestCase {
    static let socket = ProcessInfo.processInfo.environment["DOCKWARD_TEST_PODMAN_SOCKET"] ?? "/run/dockward-test/podman.sock"
    static let state = (socket as NSString).deletingLastPathComponent
    /// The CLI with the API service's storage, manager, runtime and events;
    /// runc needs the two ulimits here ("error setting rlimit type 7").
    static let podman = ["--root", state + "/podman/root", "--runroot", state + "/podman/run",
                         "--cgroup-manager=cgroupfs", "--runtime", "runc", "--events-backend", "file"]
    static let runFlags = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    override func setUpWithError() throws {
        try E2E.requireServices()
        var missing: [String] = []
        if (try? Subprocess.run("/usr/bin/env", ["podman"] + Self.podman + ["version"])).map({ $0.status }) != 0 {
            missing.append("podman")
        }
        if !FileManager.default.fileExists(atPath: Self.socket) { missing.append("the Podman API at \(Self.socket)") }
        if !missing.isEmpty {
            try TestEnvironment.skipOrFailInCI("Podman end-to-end test needs \(missing.joined(separator: " and ")); run scripts/test-services.sh start")
        }
    }

    @discardableResult
    static func podman(_ args: [String], allowFailure: Bool = false) throws -> String {
        let result = try Subprocess.run("/usr/bin/env", ["podman"] + podman + args)
        if result.status != 0 && !allowFailure {
            throw E2E.failure("podman \(args.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func run(_ name: String, _ options: [String] = [], _ command: [String]) throws -> String {
        try podman(["run", "-d", "--name", name] + runFlags + options + [E2E.image] + command)
    }

    static func remove(_ name: String) { _ = try? podman(["rm", "-f", "-t", "0", name], allowFailure: true) }

    private func daemon(_ config: String = "pids:\n  poll_interval: 5s\n", stateDir: String? = nil) throws -> DaemonProcess {
        try DaemonProcess(config: config, environment: ["DOCKER_HOST": "unix://\(Self.socket)"],
                          arguments: stateDir.map { ["--state-dir", $0] } ?? [])
    }

    private func require(_ daemon: DaemonProcess, _ fields: [String: String], timeout: TimeInterval = 15) throws -> [String: String] {
        try E2E.requireEntries(fields.merging(["_PID": daemon.pid]) { a, _ in a }, sinceMicros: daemon.startedMicros,
                               timeout: timeout, context: "daemon said:\n\(daemon.stderrText.suffix(3000))")[0]
    }

    /// The kernel's record of a cgroup's first refused fork, on its monotonic clock (µs).
    private func kernelRefusal(_ id: String) throws -> UInt64? {
        let text = try E2E.run("journalctl", ["-o", "json", "--no-pager", "-k", "-n", "300", "_TRANSPORT=kernel"])
        for line in text.split(separator: "\n") where line.contains(id) && line.contains("fork rejected") {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if let t = (obj?["_SOURCE_MONOTONIC_TIMESTAMP"] as? String).flatMap(UInt64.init) { return t }
        }
        return nil
    }

    func testEngineConnectedSaysPodman() throws {
        let d = try daemon()
        defer { d.stop() }
        let entry = try require(d, ["DOCKWARD_EVENT": "engine-connected"])
        print("e2e: podman: \(entry["MESSAGE"] ?? "")")
        XCTAssertEqual(entry["ENGINE_PRODUCT"]?.hasPrefix("Podman 4."), true, entry["ENGINE_PRODUCT"] ?? "none")
        XCTAssertEqual(entry["ENGINE_API_VERSION"], "1.41")
    }

    /// A fork bomb under --pids-limit 50: its entry from the kernel's line,
    /// long before the 5 s poll, against Podman's cgroup libpod_parent/libpod-<id>.
    func testForkBombUnderItsLimitIsReportedAtOnce() throws {
        let d = try daemon()
        defer { d.stop() }
        _ = try d.waitUntilStarted()
        _ = try require(d, ["DOCKWARD_EVENT": "engine-connected"])
        Thread.sleep(forTimeInterval: 1)
        let name = E2E.uniqueName("podbomb")
        defer { Self.remove(name) }
        let id = try Self.run(name, ["--pids-limit", "50"], ["sh", "-c", "b() { b | b & }; b; sleep 3600"])
        let entry = try require(d, ["CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-exhausted"])
        XCTAssertEqual(entry["PIDS_MAX"], "50")
        XCTAssertEqual(entry["CGROUP_PATH"], "/sys/fs/cgroup/pids/libpod_parent/libpod-\(id)")
        let refusedAt = try XCTUnwrap(try kernelRefusal(id), "the kernel logged no refusal for \(id)")
        let writtenAt = try XCTUnwrap(entry["__MONOTONIC_TIMESTAMP"].flatMap(UInt64.init))
        let latency = Double(Int64(writtenAt) - Int64(refusedAt)) / 1e3
        print("e2e: podman: first refused fork -> pids-exhausted in \(String(format: "%.1f", latency)) ms (poll 5s): \(entry["MESSAGE"] ?? "")")
        XCTAssertLessThan(latency, 2500, "from the kernel's line, not a poll")
    }

    /// Podman's socket mounted directly and through its folder; no limit
    /// (`--pids-limit -1`); a container that dies at its limit; and a
    /// restart over them that repeats nothing. `dockward alerts` lists them.
    func testSocketMountsUnlimitedDyingAndAQuietRestart() throws {
        let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-podman-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let first = try daemon("pids:\n  poll_interval: 1s\n", stateDir: stateDir)
        _ = try first.waitUntilStarted()
        _ = try require(first, ["DOCKWARD_EVENT": "engine-connected"])
        let direct = E2E.uniqueName("podsock"), folder = E2E.uniqueName("podrun"), open = E2E.uniqueName("podopen")
        let dies = E2E.uniqueName("poddies")
        defer { for n in [direct, folder, open, dies] { Self.remove(n) } }
        try Self.run(direct, ["-v", "\(Self.socket):/run/podman/podman.sock"], ["sleep", "3600"])
        try Self.run(folder, ["-v", "\(Self.state):/host-run:ro"], ["sleep", "3600"])
        try Self.run(open, ["--pids-limit", "-1"], ["sh", "-c", "for i in $(seq 1 20); do sleep 3600 & done; wait"])
        try Self.run(dies, ["--pids-limit", "20"], ["sh", "-c", "for i in $(seq 1 40); do sleep 30 & done; exit 3"])
        let mount = try require(first, ["CONTAINER_NAME": direct, "DOCKWARD_ALERT": "socket-mount"])
        XCTAssertEqual(mount["EXPOSURE"], "direct")
        print("e2e: podman: \(mount["MESSAGE"] ?? "")")
        let parent = try require(first, ["CONTAINER_NAME": folder, "DOCKWARD_ALERT": "socket-mount"])
        XCTAssertEqual(parent["EXPOSURE"], "parent-dir")
        let unlimited = try require(first, ["CONTAINER_NAME": open, "DOCKWARD_ALERT": "pids-unlimited"])
        XCTAssertEqual(unlimited["PIDS_MAX_SOURCE"], "host", "no limit at all: the host's ceiling")
        let died = try require(first, ["CONTAINER_NAME": dies, "DOCKWARD_ALERT": "pids-exhausted"])
        XCTAssertEqual(died["IMAGE_NAME"]?.hasSuffix(E2E.image), true, died["IMAGE_NAME"] ?? "")
        first.stop()

        let second = try daemon("pids:\n  poll_interval: 1s\n", stateDir: stateDir)
        defer { second.stop() }
        _ = try second.waitUntilStarted()
        _ = try require(second, ["DOCKWARD_EVENT": "engine-connected"])
        Thread.sleep(forTimeInterval: 4)  // a listing and a few polls
        for (name, kind) in [(direct, "socket-mount"), (folder, "socket-mount"), (open, "pids-unlimited")] {
            XCTAssertEqual(try E2E.journalEntries(["_PID": second.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": kind],
                                                  sinceMicros: second.startedMicros).count, 0, "\(name) \(kind) repeated")
        }

        let listed = try Subprocess.run(E2E.binary.path, ["alerts", "--since", "10m", "--json"], timeout: 20)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        for name in [direct, folder, open, dies] {
            XCTAssertTrue(listed.stdout.contains(name), "dockward alerts lists \(name)")
        }
        print("e2e: podman: dockward alerts: " + listed.stdout.split(separator: "\n")
            .filter { [direct, dies].contains(where: $0.contains) }.prefix(2).joined(separator: "\n"))
    }
}
