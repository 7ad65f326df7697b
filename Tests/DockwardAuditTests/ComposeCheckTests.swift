@testable import DockwardAudit
import DockwardCore
import DockwardDocker
import DockwardTestSupport
import Foundation
import XCTest

/// check-compose on Compose files against a table host: the socket at
/// /run/docker.sock (/var/run a symlink to /run), a hard link of it, a
/// block device, the engine's data root.
final class ComposeCheckTests: XCTestCase {
    let sockID = FileIdentity(device: 25, inode: 1001)
    lazy var host = RichHost(
        table: TableHost(
            files: [
                "/run/docker.sock": sockID,
                "/run/docker.sock.bak": FileIdentity(device: 25, inode: 1002),
                "/srv/links/engine.sock": sockID,
                "/var/lib/docker/volumes/v/_data/x": FileIdentity(device: 8, inode: 11),
                "/srv/data/file": FileIdentity(device: 8, inode: 12),
                "/dev/sda": FileIdentity(device: 5, inode: 1),
                "/dev/null": FileIdentity(device: 5, inode: 2),
            ],
            symlinks: ["/var/run": "/run"]),
        links: ["/run/docker.sock": ["/srv/links/engine.sock"]],
        blockDevices: ["/dev/sda"])
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "dockward-check-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func check(_ text: String, config: DockwardConfig = DockwardConfig(), engine: FakeEngine? = nil,
               profiles: Set<String> = []) async throws -> AuditReport {
        try text.write(toFile: dir + "/compose.yml", atomically: true, encoding: .utf8)
        let project = try ComposeLoader(environment: ["HOME": "/root"], projectName: "p", currentDirectory: dir)
            .load(files: ["compose.yml"])
        return await ComposeCheck(config: config, host: host, engineSocket: "/var/run/docker.sock", engine: engine.map { DockerRuntime($0) },
                                  activeProfiles: profiles, hostName: "testhost").run(project)
    }

    /// "service kind line" for each finding, in report order.
    func summary(_ r: AuditReport) -> [String] {
        r.sortedItems.map { "\($0.service ?? "?") \($0.kind.rawValue) \($0.location?.line ?? 0)" }
    }

    func testTheIssueFile() async throws {
        let r = try await check("""
        services:
          sock:
            image: a
            pids_limit: 50
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock:ro
          runbind:
            image: a
            pids_limit: 50
            volumes: [/run:/host-run]
          namedvol:
            image: a
            pids_limit: 50
            volumes: [runvol:/r]
          priv:
            image: a
            pids_limit: 50
            privileged: true
          ptrace:
            image: a
            pids_limit: 50
            pid: host
            cap_add: [SYS_PTRACE]
          nolimit:
            image: a
        volumes:
          runvol:
            driver_opts: {type: none, o: bind, device: /var/run}
        """)
        XCTAssertEqual(summary(r), [
            "sock socket-mount 6",
            "runbind socket-mount 10",
            "namedvol socket-mount 14",
            "priv privileged 18",
            "ptrace host-pid 22",
            "nolimit pids-unlimited 24",
        ])
        let fields = Dictionary(r.items.first { $0.service == "namedvol" }!.fields.map { ($0.name, $0.value) },
                                uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["EXPOSURE"], "parent-dir")
        XCTAssertEqual(fields["MOUNT_VOLUME"], "p_runvol")
        XCTAssertEqual(fields["COMPOSE_FILE"], "compose.yml")
        XCTAssertEqual(fields["COMPOSE_LINE"], "14")
        XCTAssertNil(fields["CONTAINER_ID"], "a service not deployed has no container id")
        XCTAssertEqual(fields["DOCKWARD_ALERT"], "socket-mount")
        XCTAssertTrue(r.items.allSatisfy { !$0.entry.message.contains("Container ") }, "\(r.items.map(\.entry.message))")
        XCTAssertTrue(r.items.first { $0.service == "sock" }!.entry.message.hasPrefix("Service sock can reach"))
        XCTAssertEqual(r.exitStatus(failOn: .err), 1)
        XCTAssertEqual(r.exitStatus(failOn: .crit), 1)
        XCTAssertTrue(r.notes.contains { $0.text.contains("the engine's socket is /var/run/docker.sock (/run/docker.sock on testhost)") },
                      "\(r.notes)")
    }

    func testHostSideFactsAndWhatCannotBeKnown() async throws {
        let r = try await check("""
        services:
          link:
            pids_limit: 10
            volumes: [/srv/links:/l]
          dev:
            pids_limit: 10
            devices: ["/dev/sda:/dev/xvda", "/dev/null"]
          state:
            pids_limit: 10
            volumes: [/var/lib:/vl]
          ext:
            pids_limit: 10
            volumes: [outside:/o]
          lookalike:
            pids_limit: 10
            volumes: [/run/docker.sock.bak:/b]
          from:
            pids_limit: 10
            volumes_from: [link, "container:legacy"]
        volumes:
          outside: {external: true}
        """)
        XCTAssertEqual(summary(r), [
            "link socket-mount 4",
            "from socket-mount 19",
            "dev block-device 7",
            "state engine-state-mount 10",
        ])
        let link = r.items.first { $0.service == "link" }!.fields
        XCTAssertTrue(link.contains { $0 == ("EXPOSURE", "hard-link") }, "\(link)")
        XCTAssertTrue(r.notes.contains { $0.text.contains("external volume outside") && $0.location?.line == 13 }, "\(r.notes)")
        XCTAssertTrue(r.notes.contains { $0.text.contains("container:legacy") }, "\(r.notes)")
        XCTAssertTrue(r.notes.contains { $0.text.contains("Docker's default /var/lib/docker") }, "\(r.notes)")
        XCTAssertTrue(r.notes.contains { $0.text.contains("/srv/links/engine.sock") }, "\(r.notes)")
    }

    func testAnExistingVolumeOnTheEngineIsJudgedByItsOptionsThere() async throws {
        let engine = FakeEngine()
        engine.volumes["p_data"] = VolumeInfo(driver: "local", options: ["type": "none", "o": "bind", "device": "/run"])
        engine.volumes["outside"] = VolumeInfo(driver: "local", options: [:])
        let r = try await check("""
        services:
          web:
            pids_limit: 10
            volumes: [data:/d, outside:/o]
        volumes:
          data: {}
          outside: {external: true}
        """, engine: engine)
        XCTAssertEqual(summary(r), ["web socket-mount 4"])
        XCTAssertFalse(r.notes.contains { $0.text.contains("not known before deploy") }, "\(r.notes)")
        XCTAssertTrue(r.notes.contains { $0.text.contains("volume p_data exists") }, "\(r.notes)")
        XCTAssertEqual(Set(engine.calls), ["ping", "info", "volume"])
    }

    func testConfigAllowRulesIgnoresAndDisabledChecks() async throws {
        var config = DockwardConfig()
        config.hostControl.allow = [ContainerMatcher(labels: [.init(key: "com.docker.compose.service", value: "agent")])]
        config.hostControl.checks.privileged = false
        var quiet = DockwardConfig.Override(match: ContainerMatcher(name: "batch*"))
        quiet.unlimited = .ignore
        config.overrides = [quiet]
        let r = try await check("""
        services:
          agent:
            volumes: [/var/run/docker.sock:/s]
          priv:
            pids_limit: 5
            privileged: true
          batch:
            container_name: batch-1
        """, config: config)
        XCTAssertEqual(summary(r), ["agent pids-unlimited 2", "agent socket-mount-allowed 3"])
        XCTAssertEqual(r.exitStatus(failOn: .err), 0)
        XCTAssertEqual(r.exitStatus(failOn: .warning), 1)
    }

    func testPidsLimitForms() async throws {
        let r = try await check("""
        services:
          own: {pids_limit: 100}
          deployed:
            deploy: {resources: {limits: {pids: 20}}}
          zero: {pids_limit: 0}
          minus: {pids_limit: -1}
          none: {image: a}
        """)
        XCTAssertEqual(summary(r), ["zero pids-unlimited 5", "minus pids-unlimited 6", "none pids-unlimited 7"])
        XCTAssertTrue(r.items.allSatisfy { $0.priority == .warning })
    }

    func testProfilesDecideWhatIsChecked() async throws {
        let text = "services:\n  dbg:\n    profiles: [debug]\n    privileged: true\n    pids_limit: 1\n"
        let off = try await check(text)
        XCTAssertEqual(summary(off), [])
        XCTAssertTrue(off.notes.contains { $0.text.contains("not started without --profile debug") })
        let on = try await check(text, profiles: ["debug"])
        XCTAssertEqual(summary(on), ["dbg privileged 4"])
    }

    func testReadOnlyVolumesFromStillReachesTheSocket() async throws {
        let r = try await check("""
        services:
          a: {pids_limit: 1, volumes: ["/run:/run"]}
          b: {pids_limit: 1, volumes_from: ["a:ro"]}
        """)
        XCTAssertEqual(summary(r), ["a socket-mount 2", "b socket-mount 3"])
        let b = r.items.first { $0.service == "b" }!.fields
        XCTAssertTrue(b.contains { $0 == ("MOUNT_RW", "false") }, "\(b)")
    }

    /// A mount is judged by what it reaches: containerd's socket alone is
    /// a socket-mount (a protected socket), not a mount of /run/containerd.
    func testContainerdsSocketAloneIsASocketMountOnly() async throws {
        host = RichHost(table: TableHost(files: ["/run/containerd/containerd.sock": FileIdentity(device: 25, inode: 3001)]))
        let r = try await check("""
        services:
          agent:
            image: a
            pids_limit: 50
            volumes: [/run/containerd/containerd.sock:/run/containerd/containerd.sock]
          state:
            image: a
            pids_limit: 50
            volumes: [/run/containerd:/run/containerd]
        """)
        XCTAssertEqual(summary(r), ["agent socket-mount 5", "state socket-mount 9", "state engine-state-mount 9"])
    }
}
