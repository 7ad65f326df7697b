import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// Containment (`actions:`) against the real engine, real cgroups and the
/// real journal. Bounded workloads only: a container without a limit runs a
/// leak of at most 300 tasks; fork bombs run only under `--pids-limit`.
///
/// Actions are off globally in every daemon here and turned on by overrides
/// matching this file's container names only, so containers of other tests
/// running against the same engine are never touched.
final class ActionsEndToEndTests: XCTestCase {
    // XCTest runs a class's setUp, tests and tearDown one after another on one thread.
    nonisolated(unsafe) static var daemon: DaemonProcess?
    nonisolated(unsafe) static var metricsPort = 0

    /// A 300-task leak at about 20 tasks a second, in a subshell so a refused
    /// fork cannot end the container; PID 1 waits on a long sleep.
    static func leak(after delay: Int = 0) -> [String] {
        ["sh", "-c", "sleep 3600 & sleep \(delay); (i=0; while [ $i -lt 300 ]; do sleep 600 & i=$((i+1)); sleep 0.05; done); wait"]
    }

    static let cap = 250

    /// `overrides`: the rules that turn actions on, by this file's name
    /// prefixes; actions stay off for every other container.
    static func config(metricsPort: Int?, overrides: String = sharedOverrides) -> String {
        """
        pids:
          poll_interval: 250ms
          forecast_window: 10s
        alerts:
          recover_after: 10s
        \(metricsPort.map { "metrics:\n  listen: 127.0.0.1:\($0)" } ?? "")
        actions:
          enabled: false
        overrides:
        \(overrides)
        """
    }

    static let sharedOverrides = """
          - match: { name: "dockward-e2e-actcap-*" }
            forecast_horizon: 24h
            actions: { enabled: true, cap_unlimited: \(cap) }
          - match: { name: "dockward-e2e-actdry-*" }
            forecast_horizon: 24h
            actions: { enabled: true, dry_run: true, cap_unlimited: \(cap) }
          - match: { name: "dockward-e2e-actlabel-*" }
            forecast_horizon: 24h
            actions: { enabled: true, cap_unlimited: \(cap) }
          - match: { name: "dockward-e2e-actbomb-*" }
            actions: { enabled: true, on_exhausted: pause, exhausted_for: 3s }
        """

    /// Only the engine-down test's daemon acts on its container.
    static let downOverrides = """
          - match: { name: "dockward-e2e-actdown-*" }
            forecast_horizon: 24h
            actions: { enabled: true, cap_unlimited: \(cap) }
        """

    override func setUpWithError() throws {
        try E2E.requireServices()
        if Self.daemon == nil {
            (Self.daemon, Self.metricsPort) = try DaemonProcess.startedWithMetrics { Self.config(metricsPort: $0) }
        }
        XCTAssertTrue(Self.daemon?.isRunning ?? false, "daemon died: \(Self.daemon?.stderrText ?? "")")
    }

    override class func tearDown() {
        daemon?.stop()
        daemon = nil
        super.tearDown()
    }

    // MARK: Helpers

    static func inspect(_ name: String, _ format: String) throws -> String {
        try E2E.run("docker", ["inspect", "--format", format, name]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `docker inspect`'s HostConfig.PidsLimit of a container that asked for none.
    static func noLimit(_ shown: String) -> Bool { ["<nil>", "0", "-1"].contains(shown) }

    static func pidsMax(_ id: String) -> String {
        (try? String(contentsOfFile: "/sys/fs/cgroup/pids/docker/\(id)/pids.max", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }

    static func micros(_ entry: [String: String]?) -> UInt64 { entry?["__REALTIME_TIMESTAMP"].flatMap(UInt64.init) ?? 0 }

    static func milliseconds(from a: [String: String]?, to b: [String: String]?) -> String {
        String(format: "%.1f", Double(Int64(bitPattern: micros(b) &- micros(a))) / 1000)
    }

    static func summary(_ e: [String: String]) -> String {
        ["DOCKWARD_ALERT", "DOCKWARD_ACTION", "ACTION_REASON", "PIDS_LIMIT_SET", "PIDS_CURRENT", "PIDS_MAX", "SKIP_REASON",
         "CGROUP_WRITE", "ENGINE_UPDATE", "ACTION_UNDO", "PRIORITY", "MESSAGE_ID"]
            .compactMap { k in e[k].map { "\(k)=\($0)" } }.joined(separator: " ")
    }

    func context() -> String { "daemon said:\n\(Self.daemon?.stderrText.suffix(3000) ?? "")" }

    // MARK: Cases

    func testLeakWithoutLimitGetsTheCapAndDockerInspectShowsIt() throws {
        let name = E2E.uniqueName("actcap")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let id = try E2E.runContainer(name: name, command: Self.leak())
        let pid = Self.daemon!.pid
        let taken = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"],
                                           sinceMicros: since, timeout: 60, context: context())[0]
        let forecast = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-forecast"],
                                              sinceMicros: since, timeout: 5)[0]
        XCTAssertEqual(taken["MESSAGE_ID"], "e9b9578cce3544a5b02545e7310cd9db")
        XCTAssertEqual(taken["PRIORITY"], "4")
        XCTAssertEqual(taken["DOCKWARD_ACTION"], "cap")
        XCTAssertEqual(taken["ACTION_REASON"], "runaway-forecast")
        XCTAssertEqual(taken["PIDS_LIMIT_SET"], "\(Self.cap)")
        XCTAssertEqual(taken["CGROUP_WRITE"], "ok")
        XCTAssertEqual(taken["ENGINE_UPDATE"], "ok")
        XCTAssertEqual(taken["ACTION_UNDO"], "docker update --pids-limit -1 \(id.prefix(12))")
        XCTAssertEqual(forecast["PIDS_MAX_SOURCE"], "host")
        XCTAssertLessThanOrEqual(Self.micros(forecast), Self.micros(taken), "the alert comes first")
        XCTAssertEqual(try Self.inspect(name, "{{.HostConfig.PidsLimit}}"), "\(Self.cap)", "docker inspect shows the cap")
        XCTAssertEqual(Self.pidsMax(id), "\(Self.cap)")

        // The cap holds: the leak of 300 stops at it.
        Thread.sleep(forTimeInterval: 16)
        let current = Int((try? String(contentsOfFile: "/sys/fs/cgroup/pids/docker/\(id)/pids.current", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        XCTAssertLessThanOrEqual(current, Self.cap)
        XCTAssertGreaterThan(current, 0)
        let actions = try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"], sinceMicros: since)
        XCTAssertEqual(actions.count, 1, "one action per episode")
        let samples = try E2E.scrape(port: Self.metricsPort)
        XCTAssertGreaterThanOrEqual(Double(samples[#"dockward_actions_total{action="cap",result="taken"}"#] ?? "0") ?? 0, 1)
        let first = try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"], sinceMicros: since).first
        print("e2e-actions: cap: first alert pids-unlimited -> action-taken in \(Self.milliseconds(from: first, to: taken)) ms;"
              + " pids-forecast [\(Self.summary(forecast))]"
              + " -> action-taken [\(Self.summary(taken))] in \(Self.milliseconds(from: forecast, to: taken)) ms;"
              + " docker inspect HostConfig.PidsLimit=\(try Self.inspect(name, "{{.HostConfig.PidsLimit}}")),"
              + " pids.max=\(Self.pidsMax(id)), pids.current after the leak=\(current)")
    }

    func testForkBombUnderItsLimitIsPausedAfterExhaustedFor() throws {
        let name = E2E.uniqueName("actbomb")
        defer {
            _ = try? E2E.run("docker", ["unpause", name], allowFailure: true)
            E2E.removeContainer(name)
        }
        let since = E2E.nowMicros()
        // A fork bomb under --pids-limit 50 dies out within a second (each
        // task whose fork is refused exits), so the container relaunches it
        // every second: refused forks go on until it is paused. The pause
        // between launches is the shell's own read -t, which needs no fork.
        try E2E.runContainer(name: name, options: ["--pids-limit", "50"], command: [
            "sh", "-c", "mkfifo /tmp/f; sleep 3600 & while :; do (b() { b | b & }; b) 2>/dev/null; read -t 1 x <> /tmp/f; done",
        ])
        let pid = Self.daemon!.pid
        let exhausted = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-exhausted"],
                                               sinceMicros: since, timeout: 20, context: context())[0]
        let taken = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"],
                                           sinceMicros: since, timeout: 30, context: context())[0]
        XCTAssertEqual(taken["DOCKWARD_ACTION"], "pause")
        XCTAssertEqual(taken["ACTION_REASON"], "exhausted")
        XCTAssertEqual(taken["PIDS_MAX"], "50")
        XCTAssertEqual(taken["ACTION_UNDO"], "docker unpause \(taken["CONTAINER_ID"] ?? "?")")
        let waited = Double(Self.micros(taken) &- Self.micros(exhausted)) / 1e6
        XCTAssertGreaterThanOrEqual(waited, 3, "not before exhausted_for")
        XCTAssertEqual(try Self.inspect(name, "{{.State.Status}} {{.State.Paused}}"), "paused true", "docker inspect shows it paused")
        let ps = try E2E.run("docker", ["ps", "--filter", "name=\(name)", "--format", "{{.Status}}"])
        XCTAssertTrue(ps.contains("(Paused)"), "docker ps: \(ps)")
        print("e2e-actions: pause: pids-exhausted [\(Self.summary(exhausted)) PIDS_REJECTED=\(exhausted["PIDS_REJECTED"] ?? "?")]"
              + " -> action-taken [\(Self.summary(taken))] in \(Self.milliseconds(from: exhausted, to: taken)) ms"
              + " (exhausted_for 3s); docker inspect State=\(try Self.inspect(name, "{{.State.Status}} Paused={{.State.Paused}}"));"
              + " docker ps: \(ps.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    func testDryRunChangesNothingAndSaysWhatItWouldHaveDone() throws {
        let name = E2E.uniqueName("actdry")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let id = try E2E.runContainer(name: name, command: Self.leak())
        let pid = Self.daemon!.pid
        let dry = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-dry-run"],
                                         sinceMicros: since, timeout: 60, context: context())[0]
        let forecast = try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-forecast"], sinceMicros: since).first
        XCTAssertEqual(dry["MESSAGE_ID"], "516d0b9e206d4b6889ec35ea87863989")
        XCTAssertEqual(dry["PRIORITY"], "5")
        XCTAssertEqual(dry["DOCKWARD_ACTION"], "cap")
        XCTAssertTrue(dry["MESSAGE"]?.hasPrefix("Dry run: would give container \(name)") ?? false, dry["MESSAGE"] ?? "")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(Self.noLimit(try Self.inspect(name, "{{.HostConfig.PidsLimit}}")), "docker inspect: no limit given")
        XCTAssertEqual(Self.pidsMax(id), "max")
        XCTAssertTrue(try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"], sinceMicros: since).isEmpty)
        print("e2e-actions: dry run: pids-forecast -> action-dry-run [\(Self.summary(dry))] in"
              + " \(Self.milliseconds(from: forecast, to: dry)) ms; docker inspect HostConfig.PidsLimit="
              + "\(try Self.inspect(name, "{{.HostConfig.PidsLimit}}")), pids.max=\(Self.pidsMax(id))")
    }

    func testLabelledContainerIsLeftAlone() throws {
        let name = E2E.uniqueName("actlabel")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let id = try E2E.runContainer(name: name, options: ["--label", "dockward.actions=off"], command: Self.leak())
        let pid = Self.daemon!.pid
        let skipped = try E2E.requireEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-skipped"],
                                             sinceMicros: since, timeout: 60, context: context())[0]
        let forecast = try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-forecast"], sinceMicros: since).first
        XCTAssertEqual(skipped["SKIP_REASON"], "label")
        XCTAssertEqual(skipped["PRIORITY"], "5")
        XCTAssertEqual(skipped["MESSAGE_ID"], "563843aea54740e09456a9fa6872f980")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(Self.noLimit(try Self.inspect(name, "{{.HostConfig.PidsLimit}}")))
        XCTAssertEqual(Self.pidsMax(id), "max")
        XCTAssertEqual(try E2E.journalEntries(["_PID": pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-skipped"], sinceMicros: since).count, 1,
                       "said once")
        print("e2e-actions: label: pids-forecast -> action-skipped [\(Self.summary(skipped))] in"
              + " \(Self.milliseconds(from: forecast, to: skipped)) ms; docker inspect HostConfig.PidsLimit="
              + "\(try Self.inspect(name, "{{.HostConfig.PidsLimit}}")), pids.max=\(Self.pidsMax(id))")
    }

    /// The daemon reaches the engine through a proxy the test closes: the
    /// engine is down for the daemon (and only for it) when the cap comes.
    func testEngineDownAtTheCapStillGetsTheKernelLimitThenTheEngineIsTold() throws {
        let proxyPath = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-e2e-proxy-\(getpid()).sock").path
        var proxy: SocketProxy? = try SocketProxy(listen: proxyPath, upstream: E2E.socket)
        defer { proxy?.stop() }
        let daemon = try DaemonProcess(config: Self.config(metricsPort: nil, overrides: Self.downOverrides), environment: ["DOCKER_HOST": "unix://\(proxyPath)"])
        defer { daemon.stop() }
        try daemon.waitUntilStarted()
        let name = E2E.uniqueName("actdown")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        // The leak starts 10 s in: time for the daemon to learn its name, then lose the engine.
        let id = try E2E.runContainer(name: name, command: Self.leak(after: 10))
        try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                               sinceMicros: since, timeout: 8, context: daemon.stderrText.suffix(3000).description)
        proxy?.stop()
        proxy = nil
        try E2E.requireEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "engine-lost"], sinceMicros: since, timeout: 5,
                               context: daemon.stderrText.suffix(3000).description)
        let taken = try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"],
                                           sinceMicros: since, timeout: 60, context: daemon.stderrText.suffix(3000).description)[0]
        let forecast = try E2E.journalEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-forecast"], sinceMicros: since).first
        XCTAssertEqual(taken["CGROUP_WRITE"], "ok")
        XCTAssertEqual(taken["ENGINE_UPDATE"], "pending")
        XCTAssertEqual(Self.pidsMax(id), "\(Self.cap)", "the kernel's limit is there with the engine away")
        let inspectDuring = try Self.inspect(name, "{{.HostConfig.PidsLimit}}")
        XCTAssertTrue(Self.noLimit(inspectDuring), "the engine was not told yet: \(inspectDuring)")

        // The engine back for the daemon: it is told, and docker inspect shows the cap.
        proxy = try SocketProxy(listen: proxyPath, upstream: E2E.socket)
        let back = Date()
        let deadline = back.addingTimeInterval(60)
        var shown = ""
        while Date() < deadline {
            shown = try Self.inspect(name, "{{.HostConfig.PidsLimit}}")
            if shown == "\(Self.cap)" { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        XCTAssertEqual(shown, "\(Self.cap)", "docker inspect after the engine came back; \(daemon.stderrText.suffix(2000))")
        XCTAssertEqual(try E2E.journalEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "action-taken"], sinceMicros: since).count, 1)
        print("e2e-actions: engine down: pids-forecast -> action-taken [\(Self.summary(taken))] in"
              + " \(Self.milliseconds(from: forecast, to: taken)) ms; pids.max=\(Self.pidsMax(id)) while docker inspect said"
              + " PidsLimit=\(inspectDuring); after the engine came back docker inspect PidsLimit=\(shown) within"
              + " \(String(format: "%.1f", Date().timeIntervalSince(back))) s (reconnect backoff included)")
    }
}

/// A Unix-socket proxy to the engine that the test can close: for the daemon
/// behind it the engine is gone (connections reset, the socket missing),
/// while the engine itself and every other test's client go on untouched.
final class SocketProxy: @unchecked Sendable {
    let path: String
    private let upstream: String
    private let listenFD: Int32
    private let lock = NSLock()
    private var connections: [Int32] = []
    private var stopped = false

    init(listen path: String, upstream: String) throws {
        self.path = path
        self.upstream = upstream
        unlink(path)
        listenFD = try Self.unixSocket(path, bind: true)
        guard listen(listenFD, 64) == 0 else { throw E2E.failure("listen \(path): errno \(errno)") }
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    static func unixSocket(_ path: String, bind doBind: Bool) throws -> Int32 {
        switch UnixSocket.open(path, doBind ? .bind : .connect) {
        case .success(let fd): return fd
        case .failure(let error): throw E2E.failure("\(doBind ? "bind" : "connect") \(path): \(error)")
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            guard let server = try? Self.unixSocket(upstream, bind: false) else {
                close(client)
                continue
            }
            let keep: Bool = lock.withLock {
                if stopped { return false }
                connections += [client, server]
                return true
            }
            guard keep else { close(client); close(server); return }
            Thread { Self.pump(from: client, to: server) }.start()
            Thread { Self.pump(from: server, to: client) }.start()
        }
    }

    private static func pump(from a: Int32, to b: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(a, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var off = 0
            while off < n {
                let w = buffer[off..<n].withUnsafeBytes { send(b, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { shutdown(a, Int32(SHUT_RDWR)); shutdown(b, Int32(SHUT_RDWR)); return }
                off += w
            }
        }
        shutdown(b, Int32(SHUT_RDWR))
        shutdown(a, Int32(SHUT_RDWR))
    }

    /// Closes the listening socket and resets every connection through it.
    func stop() {
        let open: [Int32]? = lock.withLock {
            if stopped { return nil }
            stopped = true
            return connections
        }
        guard let open else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        unlink(path)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }
}
