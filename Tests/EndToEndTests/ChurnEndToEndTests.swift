import Foundation
import Glibc
import XCTest

/// Container churn: many containers created and removed while some mount the
/// socket and some fork-bomb. Every exposure is reported once, every
/// exhaustion is reported, and the daemon's descriptors and memory return to
/// where they were. `make test` runs a short round; `make soak` runs
/// DOCKWARD_SOAK_CONTAINERS (300) of them.
final class ChurnEndToEndTests: XCTestCase {
    static let containers = Int(ProcessInfo.processInfo.environment["DOCKWARD_SOAK_CONTAINERS"] ?? "") ?? 24
    /// Containers alive at once.
    static let batch = 6

    override func setUpWithError() throws { try E2E.requireServices() }

    func descriptors(_ pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    func rssKiB(_ pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    func testChurnReportsEveryExposureAndExhaustionAndLeaksNothing() throws {
        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n  unlimited: ignore\n")
        defer { daemon.stop() }
        let pid = daemon.processIdentifier
        try daemon.waitUntilStarted()
        Thread.sleep(forTimeInterval: 2)
        let fdsBefore = descriptors(pid)
        let rssStart = rssKiB(pid)
        XCTAssertGreaterThan(fdsBefore, 0, "descriptors of the running daemon")
        XCTAssertGreaterThan(rssStart, 0, "VmRSS of the running daemon")
        // The memory baseline is taken after the first batch: the first
        // containers warm up allocator arenas and buffers once; what grows
        // after that grows with every container.
        var rssBefore = -1
        let since = E2E.nowMicros()
        let tag = UInt32.random(in: 0...UInt32.max)
        var sockets: [String] = [], bombs: [String] = [], bombIDs: [String: String] = [:]
        var alive: [String] = []
        defer { alive.forEach(E2E.removeContainer) }
        // The bombs of a batch stay until the daemon has reported them (30 s
        // at most; the final check names any it missed), not for a fixed
        // second that a loaded machine may need for the fork bomb alone.
        func awaitReports(_ batch: [String]) throws {
            let wanted = Set(batch).intersection(bombs)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let seen = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_ALERT": "pids-exhausted"], sinceMicros: since)
                if Set(seen.compactMap { $0["CONTAINER_NAME"] }).isSuperset(of: wanted) { return }
                Thread.sleep(forTimeInterval: 0.25)
            }
        }

        for i in 0..<Self.containers {
            let name = "dockward-churn-\(tag)-\(i)"
            switch i % 3 {
            case 0:
                sockets.append(name)
                try E2E.runContainer(name: name, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "30"])
            case 1:
                bombs.append(name)
                // The bomb runs in a subshell: the container's own shell forks
                // nothing after it, so a refused fork cannot end the container
                // (with `b; sleep 30` it exited 2 about one time in five, in
                // under half a second, before any poll could see it).
                bombIDs[name] = try E2E.runContainer(name: name, options: ["--pids-limit", "20"],
                                                     command: ["sh", "-c", "sleep 30 & (b() { b | b & }; b); wait"])
            default:
                try E2E.runContainer(name: name, options: ["--pids-limit", "100"], command: ["sleep", "30"])
            }
            alive.append(name)
            if alive.count >= Self.batch {
                try awaitReports(alive)
                for n in alive { E2E.removeContainer(n) }
                alive.removeAll()
                if rssBefore < 0 {
                    Thread.sleep(forTimeInterval: 2)
                    rssBefore = rssKiB(pid)
                }
            }
        }
        try awaitReports(alive)
        for n in alive { E2E.removeContainer(n) }
        alive.removeAll()

        // Every exposure exactly once, every bomb at least once.
        let deadline = Date().addingTimeInterval(20)
        var socketEntries: [[String: String]] = [], exhausted: [[String: String]] = []
        repeat {
            socketEntries = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_ALERT": "socket-mount"], sinceMicros: since)
            exhausted = try E2E.journalEntries(["_PID": daemon.pid, "DOCKWARD_ALERT": "pids-exhausted"], sinceMicros: since)
            let seenSockets = Set(socketEntries.compactMap { $0["CONTAINER_NAME"] })
            let seenBombs = Set(exhausted.compactMap { $0["CONTAINER_NAME"] })
            if seenSockets.isSuperset(of: sockets) && seenBombs.isSuperset(of: bombs) { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        let perSocket = Dictionary(grouping: socketEntries.compactMap { $0["CONTAINER_NAME"] }, by: { $0 })
        for name in sockets {
            XCTAssertEqual(perSocket[name]?.count, 1, "\(name): exactly one socket-mount entry")
        }
        let seenBombs = Set(exhausted.compactMap { $0["CONTAINER_NAME"] })
        let missed = Set(bombs).subtracting(seenBombs).sorted()
        let log = daemon.stderrText
        let why = missed.map { name -> String in
            let short = String((bombIDs[name] ?? "?").prefix(12))
            let lines = log.split(separator: "\n").filter { $0.contains(short) }.map { "    " + $0.prefix(300) }
            return "\(name) (\(short)), the daemon's lines about it:\n" + (lines.isEmpty ? "    none" : lines.joined(separator: "\n"))
        }
        XCTAssertEqual(missed, [], "every fork bomb is reported:\n" + why.joined(separator: "\n"))

        // Back to the baseline once the containers are gone.
        Thread.sleep(forTimeInterval: 2)
        let fdsAfter = descriptors(pid)
        let rssAfter = rssKiB(pid)
        let measured = Self.containers - Self.batch
        print("churn: \(Self.containers) containers; descriptors \(fdsBefore) -> \(fdsAfter); "
              + "RSS \(rssStart) KiB at start, \(rssBefore) KiB after the first \(Self.batch), \(rssAfter) KiB at the end")
        XCTAssertGreaterThan(fdsAfter, 0)
        XCTAssertGreaterThan(rssBefore, 0)
        XCTAssertGreaterThan(rssAfter, 0)
        XCTAssertLessThanOrEqual(fdsAfter, fdsBefore + 2, "no descriptor leak (engine connections may differ by one or two)")
        // 1 MiB of slack plus 16 KiB per container after the first batch:
        // a leak of 64 KiB or more per container fails at 24 containers.
        XCTAssertLessThanOrEqual(rssAfter, rssBefore + 1024 + 16 * measured,
                                 "memory returns near its baseline after \(measured) more containers")
        XCTAssertTrue(daemon.isRunning)
    }
}
