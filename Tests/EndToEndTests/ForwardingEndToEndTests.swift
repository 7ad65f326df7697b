import Foundation
import Glibc
import DockwardTestSupport
import XCTest

/// Journal forwarding (packaging/journal/) for real: systemd's own
/// systemd-journal-remote listening on loopback, systemd-journal-upload and
/// packaging/journal/dockward-journal-forward sending, the local journald in
/// between. Entries are written with util-linux's `logger --journald`, which
/// passes each NAME=value line of a file to sd_journal_sendv unchanged, so
/// they carry exactly the fields a dockward alert carries. Nothing leaves
/// loopback.
final class ForwardingEndToEndTests: XCTestCase {
    static let remoteBinary = "/lib/systemd/systemd-journal-remote"
    static let uploadBinary = "/lib/systemd/systemd-journal-upload"
    static let forwardScript = E2E.repoRoot.appendingPathComponent("packaging/journal/dockward-journal-forward").path

    var dir: URL!

    override func setUpWithError() throws {
        try Self.requireTools()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-fwd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    /// systemd-journal-upload.service's way: the whole local journal goes up
    /// (upload has no match filter); the receiver selects dockward's entries
    /// with a match. --save-state makes a second run send nothing twice.
    func testUploadForwardsAnAlertAndTheReceiverFiltersByIdentifier() throws {
        let remote = try RemoteJournal(dir: dir)
        defer { remote.stop() }
        let start = try Journal.lastCursor()
        let name = E2E.uniqueName("fwd")
        try Journal.write(dockwardAlert(container: name), dir: dir)
        try Journal.write(containerLogLine(container: name), dir: dir)
        try Journal.forge(dockwardAlert(container: name, kind: "pids-recovered", priority: 5), dir: dir)
        try Journal.waitLocal(["CONTAINER_NAME=\(name)"], count: 3)

        let state = dir.appendingPathComponent("upload.state").path
        var args = ["--url=\(remote.url)", "--save-state=\(state)", "--follow=no"]
        if let start { args.append("--after-cursor=\(start)") }
        let upload = try Spawn.run(Self.uploadBinary, args, timeout: 60)
        XCTAssertEqual(upload.status, 0, "systemd-journal-upload: \(upload.output)\nremote: \(remote.stderr)")

        // All three arrived; the receiver's trusted match keeps only
        // dockward's: the sender's _UID travels with each entry.
        let all = try remote.waitFor(["CONTAINER_NAME=\(name)"], count: 3)
        XCTAssertEqual(all.count, 3, "remote: \(remote.stderr)")
        XCTAssertEqual(all.filter { $0["SYSLOG_IDENTIFIER"] == "dockward" }.count, 2, "the forgery claims the identifier")
        let alerts = try remote.entries(Self.trustedMatch(["CONTAINER_NAME=\(name)"]))
        XCTAssertEqual(alerts.map { $0["DOCKWARD_ALERT"] ?? "" }, ["pids-exhausted"], "the forgery is not dockward's")
        let entry = try XCTUnwrap(alerts.first)
        checkAlertFields(entry, container: name)
        printForwarded(entry, via: "systemd-journal-upload")
        // dockward alerts on the receiving side: the same.
        let shown = try Spawn.run(E2E.binary.path, ["alerts", "--directory", remote.directory, "--container", name, "--json"],
                                  timeout: 30)
        XCTAssertEqual(shown.status, 0, shown.output)
        XCTAssertTrue(shown.stdout.contains("\"kind\":\"pids-exhausted\""), shown.output)
        XCTAssertFalse(shown.stdout.contains("pids-recovered"), "forged entry shown on the receiving side: \(shown.output)")
        let summary = try Spawn.run(E2E.binary.path, ["alerts", "--directory", remote.directory, "--container", name, "--summary"],
                                    timeout: 30)
        XCTAssertTrue(summary.stdout.contains("UNTRUSTED: 1 entry"), summary.output)

        // The state file holds the last cursor sent; a second run resumes
        // there. systemd 252 resumes AT that cursor, not after it, so the one
        // entry it names is sent again (one duplicate per restart of
        // systemd-journal-upload.service; README.md says so), but nothing
        // before it is.
        let stateText = try String(contentsOfFile: state, encoding: .utf8)
        XCTAssertTrue(stateText.contains("LAST_CURSOR="), stateText)
        let again = try Spawn.run(Self.uploadBinary, ["--url=\(remote.url)", "--save-state=\(state)", "--follow=no"],
                                  timeout: 60)
        XCTAssertEqual(again.status, 0, again.output)
        Thread.sleep(forTimeInterval: 0.5)
        let resent = try remote.entries(["CONTAINER_NAME=\(name)"])
        XCTAssertTrue((3...4).contains(resent.count), "a resumed upload resent more than its cursor's entry: \(resent.count)")
        XCTAssertEqual(resent.filter { $0["DOCKWARD_ALERT"] == "pids-exhausted" }.count, 1,
                       "the alert was not the last entry sent, so it must not come twice")
    }

    /// packaging/journal/dockward-journal-forward: only SYSLOG_IDENTIFIER=dockward
    /// leaves the host; the cursor advances only after a successful upload.
    func testForwardScriptSendsOnlyDockwardEntriesOnce() throws {
        let remote = try RemoteJournal(dir: dir)
        defer { remote.stop() }
        let stateDir = dir.appendingPathComponent("forward-state")
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        // Start after an entry that is not dockward's (a cursor set by hand,
        // or one whose entry was vacuumed): journalctl 252's --after-cursor
        // would then skip the first dockward entry; the script must not.
        let name = E2E.uniqueName("fwdonly")
        try Journal.write([("MESSAGE", "before"), ("SYSLOG_IDENTIFIER", "dockward-e2e-seed"), ("DOCKWARD_E2E_SEED", name)],
                          dir: dir)
        try Journal.waitLocal(["DOCKWARD_E2E_SEED=\(name)"], count: 1)
        let seeded = try Journal.entries(["DOCKWARD_E2E_SEED=\(name)"]).first?["__CURSOR"]
        try XCTUnwrap(seeded).write(to: stateDir.appendingPathComponent("cursor"), atomically: true, encoding: .utf8)
        try Journal.write(dockwardAlert(container: name), dir: dir)
        try Journal.write(containerLogLine(container: name), dir: dir)
        try Journal.forge(dockwardAlert(container: name, kind: "pids-recovered", priority: 5), dir: dir)
        try Journal.waitLocal(["CONTAINER_NAME=\(name)"], count: 3)

        let forward = { () throws -> Spawn.Result in
            try Spawn.run("/bin/sh", [Self.forwardScript, "--url", remote.url, "--state-dir", stateDir.path], timeout: 60)
        }
        var run = try forward()
        XCTAssertEqual(run.status, 0, "dockward-journal-forward: \(run.output)\nremote: \(remote.stderr)")
        let alerts = try remote.waitFor(["CONTAINER_NAME=\(name)"], count: 1)
        let local = try Journal.entries(["CONTAINER_NAME=\(name)"]).map { $0["__CURSOR"] ?? "" }
        XCTAssertEqual(alerts.count, 1, "forward: \(run.output)\nremote: \(remote.stderr)\nseeded: \(seeded ?? "none")\n"
                       + "committed: \((try? String(contentsOf: stateDir.appendingPathComponent("cursor"), encoding: .utf8)) ?? "none")\n"
                       + "local: \(local)")
        let entry = try XCTUnwrap(alerts.first)
        checkAlertFields(entry, container: name)
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], "dockward", "the container's own log line must stay on the host")
        XCTAssertEqual(entry["DOCKWARD_ALERT"], "pids-exhausted", "the forged entry must stay on the host")
        printForwarded(entry, via: "dockward-journal-forward")

        // Nothing new: nothing sent. A new alert: only it is sent.
        run = try forward()
        XCTAssertEqual(run.status, 0, run.output)
        try Journal.write(dockwardAlert(container: name, kind: "pids-recovered", priority: 5), dir: dir)
        try Journal.waitLocal(["CONTAINER_NAME=\(name)", "DOCKWARD_ALERT=pids-recovered"], count: 1)
        run = try forward()
        XCTAssertEqual(run.status, 0, run.output)
        let after = try remote.waitFor(["CONTAINER_NAME=\(name)"], count: 2)
        XCTAssertEqual(after.map { $0["DOCKWARD_ALERT"] ?? "" }.sorted(), ["pids-exhausted", "pids-recovered"])

        // Receiver down: the run fails and the cursor stays, so the next run resends.
        let cursorBefore = try String(contentsOf: stateDir.appendingPathComponent("cursor"), encoding: .utf8)
        try Journal.write(dockwardAlert(container: name, kind: "pids-high", priority: 4), dir: dir)
        try Journal.waitLocal(["CONTAINER_NAME=\(name)", "DOCKWARD_ALERT=pids-high"], count: 1)
        remote.stop()
        run = try forward()
        XCTAssertNotEqual(run.status, 0, "an upload to a closed port must fail: \(run.output)")
        XCTAssertEqual(try String(contentsOf: stateDir.appendingPathComponent("cursor"), encoding: .utf8), cursorBefore)
    }

    /// An alert the real daemon wrote about a real container (not one
    /// written by hand) leaves the host through dockward-journal-forward
    /// with its fields and its writer's trusted fields.
    func testForwardScriptSendsAnAlertTheDaemonWrote() throws {
        try E2E.requireServices()
        let remote = try RemoteJournal(dir: dir)
        defer { remote.stop() }
        let stateDir = dir.appendingPathComponent("forward-state")
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        // Start from now, not from the first dockward entry this journal holds.
        let name = E2E.uniqueName("fwdreal")
        try Journal.write([("MESSAGE", "before"), ("SYSLOG_IDENTIFIER", "dockward-e2e-seed"), ("DOCKWARD_E2E_SEED", name)],
                          dir: dir)
        try Journal.waitLocal(["DOCKWARD_E2E_SEED=\(name)"], count: 1)
        let seeded = try XCTUnwrap(try Journal.entries(["DOCKWARD_E2E_SEED=\(name)"]).first?["__CURSOR"])
        try seeded.write(to: stateDir.appendingPathComponent("cursor"), atomically: true, encoding: .utf8)

        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n")
        defer { daemon.stop() }
        defer { E2E.removeContainer(name) }
        try E2E.runContainer(name: name, command: ["sleep", "3600"])
        let local = try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                           sinceMicros: daemon.startedMicros, timeout: 20,
                                           context: daemon.stderrText.suffix(2000).description)

        let run = try Spawn.run("/bin/sh", [Self.forwardScript, "--url", remote.url, "--state-dir", stateDir.path], timeout: 60)
        XCTAssertEqual(run.status, 0, "dockward-journal-forward: \(run.output)\nremote: \(remote.stderr)")
        let arrived = try remote.waitFor(["CONTAINER_NAME=\(name)"], count: 1)
        XCTAssertEqual(arrived.count, 1, "forward: \(run.output)\nremote: \(remote.stderr)")
        let entry = try XCTUnwrap(arrived.first)
        XCTAssertEqual(entry["_PID"], daemon.pid, "written by the daemon itself")
        XCTAssertEqual(entry["__REALTIME_TIMESTAMP"], local[0]["__REALTIME_TIMESTAMP"], "the very entry the daemon wrote")
        XCTAssertEqual(entry["MESSAGE"], local[0]["MESSAGE"])
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], "dockward")
        XCTAssertEqual(entry["DOCKWARD_ALERT"], "pids-unlimited")
        XCTAssertEqual(entry["MESSAGE_ID"], "239549ddbcd24315a1b43ff729527960")
        XCTAssertEqual(entry["PRIORITY"], "4")
        XCTAssertEqual(entry["PIDS_MAX_SOURCE"], "host")
        XCTAssertEqual(entry["CONTAINER_ID_FULL"]?.count, 64)
        XCTAssertEqual(entry["_HOSTNAME"], Self.hostname)
        XCTAssertEqual(entry["_UID"], "0")
        printForwarded(entry, via: "dockward-journal-forward (written by the daemon)")
    }

    /// The shipped unit files load cleanly (systemd-analyze verify, offline).
    func testForwardUnitsVerify() throws {
        guard let analyze = Spawn.find("systemd-analyze") else {
            try TestEnvironment.skipOrFailInCI("systemd-analyze not found (apt-get install systemd)")
        }
        let source = E2E.repoRoot.appendingPathComponent("packaging/journal")
        let service = try String(contentsOf: source.appendingPathComponent("dockward-journal-forward.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/lib/dockward/dockward-journal-forward", with: Self.forwardScript)
        try service.write(to: dir.appendingPathComponent("dockward-journal-forward.service"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: source.appendingPathComponent("dockward-journal-forward.timer"),
                                         to: dir.appendingPathComponent("dockward-journal-forward.timer"))
        let result = try Spawn.run(analyze, ["verify", dir.appendingPathComponent("dockward-journal-forward.service").path,
                                             dir.appendingPathComponent("dockward-journal-forward.timer").path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        let complaints = result.output.split(separator: "\n").filter { $0.contains("dockward-journal-forward") }
        XCTAssertEqual(complaints, [], result.output)
    }

    // MARK: Entries

    func dockwardAlert(container: String, kind: String = "pids-exhausted", priority: Int = 2) -> [(String, String)] {
        [
            ("MESSAGE", "Container \(container) hit its pids limit: the kernel refused 3 forks (pids 64/64)."),
            ("PRIORITY", String(priority)),
            ("SYSLOG_IDENTIFIER", "dockward"),
            ("MESSAGE_ID", Self.messageIDs[kind] ?? "unknown kind \(kind)"),
            ("DOCKWARD_ALERT", kind),
            ("CONTAINER_ID", "0123456789ab"),
            ("CONTAINER_ID_FULL", String(repeating: "0123456789abcdef", count: 4)),
            ("CONTAINER_NAME", container),
            ("IMAGE_NAME", "local/busybox:test"),
            ("PIDS_CURRENT", "64"),
            ("PIDS_MAX", "64"),
            ("PIDS_REJECTED", "3"),
        ]
    }

    /// The catalog's ids of the kinds these tests write by hand.
    static let messageIDs = [
        "pids-exhausted": "9cbeffacd069472fb0b95e62b1ba4743",
        "pids-recovered": "c077d0b0306748c987b88698fd61b0f2",
        "pids-high": "b9c69784d9334b3ea052903c4f496935",
    ]

    /// What Docker's journald log driver writes for the container's own output.
    func containerLogLine(container: String) -> [(String, String)] {
        [("MESSAGE", "hello from the container"), ("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "dockward-e2e-app"),
         ("CONTAINER_NAME", container), ("CONTAINER_ID", "0123456789ab")]
    }

    /// journalctl's form of the trusted match (JournalTrust), with `extra`
    /// in each of its two sides.
    static func trustedMatch(_ extra: [String]) -> [String] {
        ["SYSLOG_IDENTIFIER=dockward", "_SYSTEMD_UNIT=dockward.service"] + extra + ["+"]
            + ["SYSLOG_IDENTIFIER=dockward", "_UID=0"] + extra
    }

    func checkAlertFields(_ entry: [String: String], container: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(entry["SYSLOG_IDENTIFIER"], "dockward", file: file, line: line)
        XCTAssertEqual(entry["DOCKWARD_ALERT"], "pids-exhausted", file: file, line: line)
        XCTAssertEqual(entry["MESSAGE_ID"], "9cbeffacd069472fb0b95e62b1ba4743", file: file, line: line)
        XCTAssertEqual(entry["PRIORITY"], "2", file: file, line: line)
        XCTAssertEqual(entry["CONTAINER_NAME"], container, file: file, line: line)
        XCTAssertEqual(entry["PIDS_REJECTED"], "3", file: file, line: line)
        XCTAssertEqual(entry["_HOSTNAME"], Self.hostname, "the sender's trusted fields travel with the entry",
                       file: file, line: line)
        XCTAssertNotNil(entry["_BOOT_ID"], file: file, line: line)
    }

    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }

    func printForwarded(_ entry: [String: String], via: String) {
        let keys = ["__REALTIME_TIMESTAMP", "_HOSTNAME", "SYSLOG_IDENTIFIER", "PRIORITY", "MESSAGE_ID", "DOCKWARD_ALERT",
                    "CONTAINER_NAME", "CONTAINER_ID", "IMAGE_NAME", "PIDS_CURRENT", "PIDS_MAX", "PIDS_REJECTED", "MESSAGE"]
        let text = keys.compactMap { k in entry[k].map { "\(k)=\($0)" } }.joined(separator: "\n  ")
        print("forwarded via \(via), as read on the receiving side:\n  \(text)")
    }

    // MARK: Tools

    /// Fails in CI, skips elsewhere, when journald or systemd-journal-remote is missing.
    static func requireTools() throws {
        var missing: [String] = []
        if !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") {
            missing.append("journald (/run/systemd/journal/socket; run scripts/test-services.sh start)")
        }
        for tool in [remoteBinary, uploadBinary] where !FileManager.default.isExecutableFile(atPath: tool) {
            missing.append("\(tool) (apt-get install -y --no-install-recommends systemd-journal-remote)")
        }
        for tool in ["journalctl", "logger"] where Spawn.find(tool) == nil {
            missing.append(tool)
        }
        guard !missing.isEmpty else { return }
        try TestEnvironment.skipOrFailInCI("journal forwarding test needs \(missing.joined(separator: " and "))")
    }
}

/// The local journal, through journalctl and logger.
fileprivate enum Journal {
    /// The newest entry's cursor, or nil for an empty journal.
    static func lastCursor() throws -> String? {
        let r = try Spawn.run("journalctl", ["--quiet", "--no-pager", "-n", "1", "-o", "json"], timeout: 30)
        guard let line = r.stdout.split(separator: "\n").last,
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return obj["__CURSOR"] as? String
    }

    /// The same fields written by nobody: an entry that claims to be dockward's.
    static func forge(_ fields: [(String, String)], dir: URL) throws {
        let file = dir.appendingPathComponent("forged-\(UUID().uuidString).txt")
        try fields.map { "\($0.0)=\($0.1)" }.joined(separator: "\n").appending("\n")
            .write(to: file, atomically: true, encoding: .utf8)
        chmod(dir.path, 0o755)
        chmod(file.path, 0o644)
        let r = try Spawn.run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "logger", "--journald=\(file.path)"],
                              timeout: 30)
        XCTAssertEqual(r.status, 0, "logger --journald as nobody: \(r.output)")
    }

    /// One entry with exactly these fields, via `logger --journald=FILE`.
    static func write(_ fields: [(String, String)], dir: URL) throws {
        let file = dir.appendingPathComponent("entry-\(UUID().uuidString).txt")
        try fields.map { "\($0.0)=\($0.1)" }.joined(separator: "\n").appending("\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try Spawn.run("logger", ["--journald=\(file.path)"], timeout: 30)
        XCTAssertEqual(r.status, 0, "logger --journald: \(r.output)")
    }

    /// Throws when journalctl fails or prints something that is not an
    /// entry: an unreadable journal must not look empty.
    static func entries(_ matches: [String], files: [String] = []) throws -> [[String: String]] {
        let args = ["--quiet", "--no-pager", "--all", "-o", "json"] + files + matches
        let r = try Spawn.run("journalctl", args, timeout: 30)
        guard r.status == 0 else { throw E2E.failure("journalctl \(args.joined(separator: " ")) failed (\(r.status)): \(r.stderr)") }
        return try r.stdout.split(separator: "\n").map { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw E2E.failure("journalctl printed a line that is not a JSON object: \(line.prefix(300))")
            }
            return obj.compactMapValues { $0 as? String }
        }
    }

    /// Waits (10 s at most) until the local journal shows `count` matching entries.
    static func waitLocal(_ matches: [String], count: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        while try entries(matches).count < count {
            guard Date() < deadline else {
                XCTFail("the local journal never showed \(count) entries matching \(matches)")
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

/// systemd-journal-remote on 127.0.0.1:<free port>, writing one journal file.
fileprivate final class RemoteJournal {
    let port: Int
    let file: String
    let stderrPath: String
    private var process: Spawn.Background?

    var url: String { "http://127.0.0.1:\(port)" }
    /// The folder of the journal file, for `dockward alerts --directory`.
    var directory: String { (file as NSString).deletingLastPathComponent }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    init(dir: URL) throws {
        port = try Spawn.freeLoopbackPort()
        file = dir.appendingPathComponent("remote.journal").path
        stderrPath = dir.appendingPathComponent("remote.stderr").path
        process = try Spawn.background(ForwardingEndToEndTests.remoteBinary, [
            "--listen-http=127.0.0.1:\(port)", "--split-mode=none", "--output=\(file)",
        ], stderr: stderrPath)
        let deadline = Date().addingTimeInterval(10)
        while !Spawn.accepts(port: port) {
            guard Date() < deadline, process?.isRunning == true else {
                stop()
                throw NSError(domain: "e2e", code: 1, userInfo: [
                    NSLocalizedDescriptionKey: "systemd-journal-remote did not listen on 127.0.0.1:\(port): \(stderr)",
                ])
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func entries(_ matches: [String]) throws -> [[String: String]] {
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        return try Journal.entries(matches, files: ["--file=\(file)"])
    }

    /// Waits (15 s at most) for `count` matching entries; returns what is there.
    func waitFor(_ matches: [String], count: Int) throws -> [[String: String]] {
        let deadline = Date().addingTimeInterval(15)
        while true {
            let found = try entries(matches)
            if found.count >= count || Date() > deadline { return found }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func stop() {
        process?.stop()
        process = nil
    }

    deinit { stop() }
}

/// posix_spawn + waitpid + temp files, as E2E.run does (Foundation's
/// Process.waitUntilExit was seen to hang here), with a deadline.
fileprivate enum Spawn {
    typealias Result = Subprocess.Output

    final class Background {
        let pid: pid_t
        private var reaped = false
        init(pid: pid_t) { self.pid = pid }

        var isRunning: Bool {
            guard !reaped else { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
            return !reaped
        }

        /// SIGTERM, then SIGKILL after 5 s; always reaped.
        func stop() {
            guard !reaped else { return }
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) != pid {
                if Date() > deadline {
                    kill(pid, SIGKILL)
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    break
                }
                usleep(20_000)
            }
            reaped = true
        }

        deinit { stop() }
    }

    static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func path(_ tool: String) throws -> String {
        guard let path = find(tool) else {
            throw NSError(domain: "e2e", code: 127, userInfo: [NSLocalizedDescriptionKey: "\(tool) not found"])
        }
        return path
    }

    /// Runs to completion; SIGKILL past `timeout`.
    static func run(_ tool: String, _ args: [String], timeout: TimeInterval) throws -> Result {
        try Subprocess.run(try path(tool), args, timeout: timeout)
    }

    static func background(_ tool: String, _ args: [String], stderr: String) throws -> Background {
        Background(pid: try Subprocess.spawn(try path(tool), args, stdoutPath: "/dev/null", stderrPath: stderr))
    }

    /// A port the kernel just handed out on 127.0.0.1 (closed again for the caller).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "e2e", code: Int(errno)) }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw NSError(domain: "e2e", code: Int(errno)) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }
}
