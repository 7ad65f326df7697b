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

    /// dockward's journal entries matching `fields` since `since` (µs since
    /// epoch). Throws when journalctl fails or prints a line that is not a
    /// JSON object: a journal that cannot be read must not look empty.
    static func journalEntries(_ fields: [String: String], sinceMicros: UInt64) throws -> [[String: String]] {
        var args = ["-o", "json", "--no-pager", "--all", "SYSLOG_IDENTIFIER=dockward"]
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { args.append("\(k)=\(v)") }
        let text = try run("journalctl", args)
        var entries: [[String: String]] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw failure("journalctl \(args.joined(separator: " ")) printed a line that is not a JSON object: \(line.prefix(300))")
            }
            var out: [String: String] = [:]
            for (k, v) in obj { if let s = v as? String { out[k] = s } }
            guard let ts = out["__REALTIME_TIMESTAMP"].flatMap(UInt64.init) else {
                throw failure("journal entry without __REALTIME_TIMESTAMP: \(line.prefix(300))")
            }
            if ts >= sinceMicros { entries.append(out) }
        }
        return entries
    }

    /// Waits until at least `count` entries match, or `timeout` passes; returns what is there.
    static func waitForEntries(_ fields: [String: String], sinceMicros: UInt64, count: Int = 1,
                               timeout: TimeInterval) throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found = try journalEntries(fields, sinceMicros: sinceMicros)
            if found.count >= count || Date() > deadline { return found }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    /// Like ``waitForEntries``, but throws (failing the test) when fewer than
    /// `count` entries arrive in time; `context` (the daemon's stderr) goes in the message.
    @discardableResult
    static func requireEntries(_ fields: [String: String], sinceMicros: UInt64, count: Int = 1, timeout: TimeInterval,
                               context: @autoclosure () -> String = "") throws -> [[String: String]] {
        let found = try waitForEntries(fields, sinceMicros: sinceMicros, count: count, timeout: timeout)
        guard found.count >= count else {
            throw failure("\(found.count) of \(count) journal entries matching \(fields) within \(Int(timeout)) s\n\(context())")
        }
        return found
    }

    static func failure(_ text: String) -> NSError {
        NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: text])
    }

    /// A port the kernel just handed out on 127.0.0.1 (closed again for the caller).
    static func freeLoopbackPort() throws -> Int {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw failure("bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// GET http://127.0.0.1:`port`/metrics over a plain socket (5 s at
    /// most); the samples keyed by `name{labels}` exactly as written.
    static func scrape(port: Int) throws -> [String: String] {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw failure("connect 127.0.0.1:\(port): errno \(errno)") }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw failure("send to :\(port): errno \(errno)")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw failure("recv from :\(port): errno \(errno) after \(bytes.count) bytes")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else {
            throw failure("scrape of :\(port) answered: \(text.prefix(300))")
        }
        var out: [String: String] = [:]
        for line in text[split.upperBound...].split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    /// The pids of this host's systemd-journald: argv[0] is systemd-journald
    /// and the mount namespace is this process's. A journald inside a
    /// systemd-nspawn container shows in /proc too, and systemd-journal-remote
    /// has the same 15-character process name; neither may be touched.
    static func hostJournaldPIDs() -> [pid_t] {
        let fm = FileManager.default
        guard let mine = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt"),
              let entries = try? fm.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let cmdline = fm.contents(atPath: "/proc/\(pid)/cmdline"),
                  let argv0 = cmdline.split(separator: 0).first,
                  String(decoding: argv0, as: UTF8.self).hasSuffix("/systemd-journald") else { return false }
            return (try? fm.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")) == mine
        }
    }

    /// A Unix socket bound and listening at `path` (a stand-in for another
    /// runtime's socket); close the returned descriptor when done.
    static func listeningUnixSocket(_ path: String) throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 1) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw failure("cannot listen on \(path): \(reason)")
        }
        return fd
    }

    /// The first block device in /dev (a disk or a loop device), by name.
    static func firstBlockDevice() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev"))?.sorted() ?? []
        return names.map { "/dev/" + $0 }.first { path in
            var st = stat()
            return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK
        }
    }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// The real daemon as a child process with a config of the test's choosing,
/// started with posix_spawn and reaped with waitpid (Subprocess), every wait
/// bounded, so a daemon that hangs fails the test instead of stalling the run.
final class DaemonProcess {
    let configURL: URL
    let stderrURL: URL
    /// The journal time (µs) just before the daemon started: every entry of
    /// this daemon is at or after it, so lookups by `_PID` (which the kernel
    /// reuses) since this time see only this daemon's entries.
    let startedMicros: UInt64
    let processIdentifier: pid_t
    /// The exit code (128+signal when killed) once reaped.
    private(set) var exitStatus: Int32?

    init(config: String, environment extra: [String: String] = [:], arguments: [String] = []) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configURL = dir.appendingPathComponent("dockward.yml")
        stderrURL = dir.appendingPathComponent("stderr.txt")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "unix://\(E2E.socket)"
        env.merge(extra) { $1 }
        startedMicros = E2E.nowMicros()
        processIdentifier = try Subprocess.spawn(
            E2E.binary.path, ["run", "--config", configURL.path, "--log-stderr", "--log-level", "debug"] + arguments,
            environment: env, stdoutPath: "/dev/null", stderrPath: stderrURL.path)
    }

    var pid: String { String(processIdentifier) }

    /// A daemon with a metrics endpoint on a free loopback port, started
    /// and past its start entry; `config` is given the port.
    static func startedWithMetrics(_ config: (Int) -> String) throws -> (DaemonProcess, Int) {
        let port = try E2E.freeLoopbackPort()
        let daemon = try DaemonProcess(config: config(port))
        try daemon.waitUntilStarted()
        return (daemon, port)
    }

    func writeConfig(_ text: String) throws { try text.write(to: configURL, atomically: true, encoding: .utf8) }
    func signal(_ sig: Int32) { if exitStatus == nil { kill(processIdentifier, sig) } }

    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// False once the process has exited (it is reaped then).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let r = waitpid(processIdentifier, &status, WNOHANG)
        if r == processIdentifier { exitStatus = Subprocess.exitCode(status) }
        return exitStatus == nil
    }

    /// The exit code once the process has exited, nil if it still runs at the deadline.
    @discardableResult
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return exitStatus
    }

    /// Waits for this daemon's `daemon-started` entry; throws with its stderr when none comes.
    @discardableResult
    func waitUntilStarted(timeout: TimeInterval = 20) throws -> [String: String] {
        let found = try E2E.requireEntries(["_PID": pid, "DOCKWARD_EVENT": "daemon-started"], sinceMicros: startedMicros,
                                           timeout: timeout, context: "daemon said:\n\(stderrText.suffix(3000))")
        return found[0]
    }

    /// SIGTERM, then SIGKILL (and, with `failOnHang`, a test failure) if it
    /// is still running after `timeout` seconds; always reaped. False when
    /// SIGTERM was not enough.
    @discardableResult
    func stop(timeout: TimeInterval = 20, failOnHang: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        guard isRunning else { return true }
        kill(processIdentifier, SIGTERM)
        if waitForExit(timeout: timeout) != nil { return true }
        if failOnHang {
            XCTFail("dockward (pid \(processIdentifier)) still ran \(Int(timeout)) s after SIGTERM; killed. It said:\n"
                    + stderrText.suffix(2000), file: file, line: line)
        }
        kill(processIdentifier, SIGKILL)
        exitStatus = Subprocess.wait(processIdentifier, timeout: 30) ?? 128 + SIGKILL
        return false
    }

    deinit { stop() }
}
