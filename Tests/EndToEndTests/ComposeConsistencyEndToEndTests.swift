import DockwardTestSupport
import Foundation
import XCTest

/// The three views of one deployment agree: every deployable case of the
/// Compose corpus is brought up on the private engine with Compose v2
/// (Debian 13's docker-compose), then the daemon's journal entries, `dockward audit
/// --json` and `dockward check-compose --json` on the same files must name
/// the same services and kinds. Kinds that need a running history
/// (pids-high, pids-forecast, pids-exhausted) are not compared. In CI a
/// missing engine, journald or Compose v2 fails the test.
final class ComposeConsistencyEndToEndTests: XCTestCase {
    /// What check-compose can know before deploy.
    static let comparedKinds: Set<String> = [
        "socket-mount", "socket-mount-allowed", "socket-mount-unresolved", "privileged", "host-pid",
        "engine-state-mount", "block-device", "host-control-allowed", "pids-unlimited",
    ]

    struct Deployed {
        var testCase: ComposeCorpus.Case
        var project: String
        /// Container name -> service.
        var containers: [String: String]
    }

    func testDaemonAuditAndCheckComposeNameTheSameServicesAndKinds() throws {
        try E2E.requireServices()
        guard let compose = ComposeCorpus.composeV2 else { try TestEnvironment.skipOrFailInCI(ComposeCorpus.composeV2Missing) }
        guard let block = E2E.firstBlockDevice() else {
            try TestEnvironment.skipOrFailInCI("no block device in /dev for the devices case")
        }
        let runDir = (E2E.socket as NSString).deletingLastPathComponent
        var env = ComposeCorpus.environment(runDir: runDir, blockDevice: block)
        env["DOCKER_HOST"] = "unix://\(E2E.socket)"
        let daemon = try DaemonProcess(config: "host_control:\n  resync_interval: 1s\n")
        defer { daemon.stop() }
        try daemon.waitUntilStarted()

        let run = UInt32.random(in: 0...UInt32.max)
        var deployed: [Deployed] = []
        defer {
            for d in deployed {
                _ = try? Subprocess.run(compose, ["-p", d.project] + fileArgs(d.testCase) + ["down", "-v", "-t", "0"],
                                        environment: env, timeout: 120)
            }
        }
        let cases = ComposeCorpus.cases.filter(\.deployable)
        XCTAssertGreaterThanOrEqual(cases.count, 12)
        for c in cases {
            let project = "dwcc\(run)\(c.name.filter { $0.isLetter || $0.isNumber })"
            let up = try Subprocess.run(compose, ["-p", project] + fileArgs(c) + ["up", "-d"], environment: env, timeout: 180)
            deployed.append(Deployed(testCase: c, project: project, containers: [:]))
            XCTAssertEqual(up.status, 0, "\(c.name): docker-compose up failed: \(up.output)")
            let listed = try E2E.run("docker", ["ps", "-a", "--filter", "label=com.docker.compose.project=\(project)",
                                                "--format", "{{.Names}} {{.Label \"com.docker.compose.service\"}}"])
            for line in listed.split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                if parts.count == 2 { deployed[deployed.count - 1].containers[parts[0]] = parts[1] }
            }
            XCTAssertFalse(deployed.last!.containers.isEmpty, "\(c.name): no containers came up")
        }

        // check-compose on each case: what the daemon and audit must find.
        var expected: [String: Set<String>] = [:]
        for d in deployed {
            let out = try Subprocess.run(E2E.binary.path, ["check-compose", "--json", "-p", d.project] + fileArgs(d.testCase),
                                         environment: env, timeout: 60)
            XCTAssertTrue([0, 1].contains(out.status), "\(d.testCase.name): check-compose exit \(out.status): \(out.stderr)")
            expected[d.project] = Self.pairs(try Self.objects(out.stdout), service: { $0["COMPOSE_SERVICE"] })
        }
        XCTAssertTrue(expected.values.contains { !$0.isEmpty }, "check-compose found nothing in the whole corpus")

        // The daemon judges each container once as it is created; wait for
        // what check-compose says, then a resync more for anything extra.
        let deadline = Date().addingTimeInterval(30)
        var daemonSaw: [String: Set<String>] = [:]
        repeat {
            let entries = try E2E.journalEntries(["_PID": daemon.pid], sinceMicros: daemon.startedMicros)
            for d in deployed {
                daemonSaw[d.project] = Self.pairs(entries, service: { $0["CONTAINER_NAME"].flatMap { d.containers[$0] } })
            }
            if deployed.allSatisfy({ expected[$0.project]!.isSubset(of: daemonSaw[$0.project] ?? []) }) { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        Thread.sleep(forTimeInterval: 2.5)
        let entries = try E2E.journalEntries(["_PID": daemon.pid], sinceMicros: daemon.startedMicros)

        let audit = try Subprocess.run(E2E.binary.path, ["audit", "--json"], environment: env, timeout: 120)
        XCTAssertTrue([0, 1].contains(audit.status), "audit exit \(audit.status): \(audit.stderr)")
        let auditObjects = try Self.objects(audit.stdout)

        for d in deployed {
            let name = d.testCase.name
            let fromDaemon = Self.pairs(entries, service: { $0["CONTAINER_NAME"].flatMap { d.containers[$0] } })
            let fromAudit = Self.pairs(auditObjects.filter { $0["DOCKWARD_ALERT"] != nil },
                                       service: { $0["CONTAINER_NAME"].flatMap { d.containers[$0] } })
            XCTAssertEqual(fromDaemon, expected[d.project], "\(name): the daemon's entries and check-compose differ")
            XCTAssertEqual(fromAudit, expected[d.project], "\(name): audit and check-compose differ")
            // audit names the Compose service of each container too.
            for object in auditObjects where object["CONTAINER_NAME"].flatMap({ d.containers[$0] }) != nil {
                XCTAssertEqual(object["COMPOSE_SERVICE"], d.containers[object["CONTAINER_NAME"]!], "\(name): \(object)")
            }
        }
    }

    func fileArgs(_ c: ComposeCorpus.Case) -> [String] {
        c.files.flatMap { ["-f", c.folder.appendingPathComponent($0).path] }
    }

    /// "service kind" for each object whose service is known and kind compared.
    static func pairs(_ objects: [[String: String]], service: ([String: String]) -> String?) -> Set<String> {
        Set(objects.compactMap { o in
            guard let kind = o["DOCKWARD_ALERT"], comparedKinds.contains(kind), let s = service(o) else { return nil }
            return "\(s) \(kind)"
        })
    }

    static func objects(_ text: String) throws -> [[String: String]] {
        try text.split(separator: "\n").map { line in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else {
                throw E2E.failure("not a JSON object of strings: \(line.prefix(300))")
            }
            return o
        }
    }
}
