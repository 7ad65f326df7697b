import DockwardTestSupport
import Foundation
import Glibc
import XCTest

/// Anyone can write a journal entry that claims to be a dockward alert.
/// `dockward alerts` must show only what dockward wrote, in every view,
/// while the real daemon's alerts still appear.
final class ForgedAlertsEndToEndTests: XCTestCase {
    override func setUpWithError() throws {
        try E2E.requireServices()
        try TestEnvironment.require(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                                    "setpriv (util-linux) to write an entry as nobody")
    }

    /// A crit socket-mount "alert" written by nobody with `logger --journald`.
    private func forge(container: String, message: String) throws {
        let entry = """
            MESSAGE=\(message)
            SYSLOG_IDENTIFIER=dockward
            DOCKWARD_ALERT=socket-mount
            MESSAGE_ID=c27bd08d95eb4ef99d7b04c64bb68468
            PRIORITY=2
            CONTAINER_NAME=\(container)

            """
        let result = try Subprocess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                             "/usr/bin/logger", "--journald"], stdin: entry, timeout: 10)
        XCTAssertEqual(result.status, 0, "logger as nobody: \(result.output)")
    }

    private func alerts(_ args: [String]) throws -> String {
        let result = try Subprocess.run(E2E.binary.path, ["alerts"] + args, timeout: 20)
        XCTAssertEqual(result.status, 0, result.output)
        return result.stdout
    }

    func testForgedEntriesAreNeverShownAsAlerts() throws {
        let name = E2E.uniqueName("forged")
        defer { E2E.removeContainer(name) }
        let since = E2E.nowMicros()
        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n")
        defer { daemon.stop() }
        // A real alert from the real daemon: a container without a limit.
        try E2E.runContainer(name: name, command: ["sleep", "3600"])
        let real = try E2E.waitForEntries(["_PID": daemon.pid, "CONTAINER_NAME": name, "DOCKWARD_ALERT": "pids-unlimited"],
                                          sinceMicros: since, timeout: 20)
        XCTAssertEqual(real.count, 1, daemon.stderrText.suffix(2000).description)
        let forgedText = "FORGED-\(UInt32.random(in: 0...UInt32.max))"
        try forge(container: name, message: forgedText)
        // The forgery is in the journal, as the identifier claims, written by nobody.
        let inJournal = try E2E.waitForEntries(["CONTAINER_NAME": name, "_UID": "65534"], sinceMicros: since, timeout: 10)
        XCTAssertEqual(inJournal.first?["MESSAGE"], forgedText, "the forged entry was written")

        let table = try alerts(["--container", name, "--since", "10m"])
        XCTAssertTrue(table.contains("pids-unlimited"), table)
        XCTAssertFalse(table.contains(forgedText), table)
        XCTAssertFalse(table.contains("socket-mount"), table)

        let json = try alerts(["--container", name, "--since", "10m", "--json"])
        let objects = json.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(objects.map { $0["kind"] as? String }, ["pids-unlimited"], json)
        XCTAssertEqual(objects.map { $0["trusted"] as? Bool }, [true])

        let summary = try alerts(["--container", name, "--since", "10m", "--summary"])
        let lines = summary.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.contains("pids-unlimited") && $0.contains(" 1 ") }, summary)
        XCTAssertFalse(lines.contains { $0.contains("socket-mount") }, summary)
        XCTAssertTrue(lines.contains { $0.hasPrefix("UNTRUSTED: 1 entry claims to be dockward's") && $0.contains("uid 65534") },
                      "the forgery is counted on a line of its own: \(summary)")

        let marked = try alerts(["--container", name, "--since", "10m", "--untrusted"])
        XCTAssertTrue(marked.contains("UNTRUSTED, written by uid 65534") && marked.contains(forgedText), marked)

        // --follow: the backlog and live entries, forgeries never.
        let outPath = NSTemporaryDirectory() + "dockward-forged-follow-\(UUID().uuidString)"
        defer { unlink(outPath); unlink(outPath + ".err") }
        let follow = try Subprocess.spawn(E2E.binary.path, ["alerts", "--follow", "--json", "--since", "10m"],
                                          stdoutPath: outPath, stderrPath: outPath + ".err")
        defer { kill(follow, SIGKILL); _ = Subprocess.wait(follow, timeout: 5) }
        let later = E2E.uniqueName("forged-live")
        defer { E2E.removeContainer(later) }
        let liveForgery = forgedText + "-live"
        try forge(container: later, message: liveForgery)
        try E2E.runContainer(name: later, command: ["sleep", "3600"])
        try E2E.requireEntries(["_PID": daemon.pid, "CONTAINER_NAME": later, "DOCKWARD_ALERT": "pids-unlimited"],
                               sinceMicros: since, timeout: 20, context: daemon.stderrText.suffix(2000).description)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !Subprocess.read(outPath).contains(later) { Thread.sleep(forTimeInterval: 0.1) }
        kill(follow, SIGTERM)
        XCTAssertEqual(Subprocess.wait(follow, timeout: 5), 0)
        let streamed = Subprocess.read(outPath)
        XCTAssertTrue(streamed.contains("\"container\":\"\(name)\""), "backlog: the real alert: \(streamed.suffix(2000))")
        XCTAssertTrue(streamed.contains("\"container\":\"\(later)\""), "live: the real alert: \(streamed.suffix(2000))")
        XCTAssertFalse(streamed.contains(forgedText), "no forgery, old or live: \(streamed.suffix(2000))")
    }
}
