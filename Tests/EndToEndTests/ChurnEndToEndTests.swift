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
        let pid = daemon.process.processIdentifier
        _ = try E2E.waitForEntries(["_PID": daemon.pid, "DOCKWARD_EVENT": "daemon-started"], sinceMicros: 0, timeout: 10)
        Thread.sleep(forTimeInterval: 2)
        let fdsBefore = descriptors(pid)
        let rssBefore = rssKiB(pid)
        let since = E2E.nowMicros()
        let tag = UInt32.random(in: 0...UInt32.max)
        var sockets: [String] = [], bombs: [String] = []
        var alive: [String] = []
        defer { alive.forEach(E2E.removeContainer) }

        for i in 0..<Self.containers {
            let name = "dockward-churn-\(tag)-\(i)"
            switch i % 3 {
            case 0:
                sockets.append(name)
                try E2E.runContainer(name: name, options: ["-v", "\(E2E.socket):/var/run/docker.sock"], command: ["sleep", "30"])
            case 1:
                bombs.append(name)
                try E2E.runContainer(name: name, options: ["--pids-limit", "20"],
                                     command: ["sh", "-c", "b() { b | b & }; b; sleep 30"])
            default:
                try E2E.runContainer(name: name, options: ["--pids-limit", "100"], command: ["sleep", "30"])
            }
            alive.append(name)
            if alive.count >= Self.batch {
                // Give the bombs a few polls at the wall before they go.
                Thread.sleep(forTimeInterval: 1.0)
                for n in alive { E2E.removeContainer(n) }
                alive.removeAll()
            }
        }
        Thread.sleep(forTimeInterval: 1.0)
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
        XCTAssertEqual(Set(bombs).subtracting(seenBombs), [], "every fork bomb is reported")

        // Back to the baseline once the containers are gone.
        Thread.sleep(forTimeInterval: 2)
        let fdsAfter = descriptors(pid)
        let rssAfter = rssKiB(pid)
        print("churn: \(Self.containers) containers; descriptors \(fdsBefore) -> \(fdsAfter); RSS \(rssBefore) KiB -> \(rssAfter) KiB")
        XCTAssertLessThanOrEqual(fdsAfter, fdsBefore + 2, "no descriptor leak (engine connections may differ by one or two)")
        XCTAssertLessThanOrEqual(rssAfter, rssBefore + 8 * 1024, "memory returns near its baseline")
        XCTAssertTrue(daemon.process.isRunning)
    }
}
