@testable import DockwardAudit
import DockwardCore
import DockwardDocker
import DockwardTestSupport
import Foundation
import XCTest

/// `audit` on a fake engine, a table host and a v1 cgroup tree in a temp folder.
final class HostAuditTests: XCTestCase {
    let sockID = FileIdentity(device: 25, inode: 1001)
    lazy var host = RichHost(table: TableHost(files: ["/run/docker.sock": sockID, "/dev/sda": FileIdentity(device: 5, inode: 1)],
                                              symlinks: ["/var/run": "/run"]),
                             blockDevices: ["/dev/sda"])
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "dockward-audit-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/pids/docker", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/pids/cgroup.procs", contents: Data())
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func cgroup(_ id: ContainerID, current: Int, max: String, peak: Int?, refused: Int = 0) throws {
        let dir = root + "/pids/docker/" + id.full
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "\(current)\n".write(toFile: dir + "/pids.current", atomically: true, encoding: .utf8)
        try "\(max)\n".write(toFile: dir + "/pids.max", atomically: true, encoding: .utf8)
        try "max \(refused)\n".write(toFile: dir + "/pids.events", atomically: true, encoding: .utf8)
        if let peak { try "\(peak)\n".write(toFile: dir + "/pids.peak", atomically: true, encoding: .utf8) }
    }

    func container(_ n: Int, _ name: String, state: String = "running", limit: Int64? = nil,
                   mounts: [MountPoint] = [], privileged: Bool = false, volumes: [VolumeMount] = [],
                   labels: [String: String] = [:]) -> ContainerDetails {
        ContainerDetails(id: testID(n), metadata: ContainerMetadata(name: "/" + name, image: "img", labels: labels),
                         mounts: mounts, binds: [], state: state, pidsLimit: limit, volumes: volumes,
                         privileged: privileged)
    }

    func audit(_ engine: FakeEngine, config: DockwardConfig? = nil) async throws(AuditFailure) -> AuditReport {
        var c = config ?? DockwardConfig()
        c.cgroupRoot = root
        c.hostControl.checks.engineTCP = false
        return try await HostAudit(config: c, engine: DockerRuntime(engine), host: host, procRoot: root + "/noproc").run()
    }

    /// Six containers, one of each way: a socket bound directly (a Compose
    /// service), one through a volume, a privileged one only created, one
    /// without a limit, a bomb at its limit, one under a ceiling.
    func auditOfEveryWay(_ engine: FakeEngine = FakeEngine(socketPath: "/var/run/docker.sock")) async throws -> AuditReport {
        engine.volumes["runvol"] = VolumeInfo(driver: "local", options: ["type": "none", "o": "bind", "device": "/run"])
        engine.containers = [
            container(1, "sock", limit: 100, mounts: [MountPoint(kind: .bind, source: "/var/run/docker.sock",
                                                                  destination: "/s", readWrite: false)],
                      labels: ["com.docker.compose.service": "agent"]),
            container(2, "vol", limit: 100, volumes: [VolumeMount(name: "runvol", destination: "/r", driver: "local", readWrite: true)]),
            container(3, "priv", state: "created", privileged: true),
            container(4, "free"),
            container(5, "bomb", limit: 20),
            container(6, "ceiling"),
        ]
        try cgroup(testID(1), current: 3, max: "100", peak: 7)
        try cgroup(testID(2), current: 1, max: "100", peak: nil)
        try cgroup(testID(4), current: 150, max: "max", peak: 300)
        try cgroup(testID(5), current: 20, max: "20", peak: 20, refused: 42)
        // No limit of its own, a number in pids.max: a ceiling set around it.
        try cgroup(testID(6), current: 2, max: "4915", peak: 2)
        return try await audit(engine)
    }

    /// `audit --json` and `--sarif` of that host, as checked-in files
    /// (`make golden` rewrites them).
    func testJSONAndSARIFMatchTheirGoldenFiles() async throws {
        let r = try await auditOfEveryWay()
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        let root = self.root
        func normalized(_ text: String) -> String { text.replacingOccurrences(of: root, with: "<root>") }
        try Golden.compare(normalized(AuditOutput.jsonLines(r)), file: "audit.jsonl", in: dir,
                           shownAs: "Tests/DockwardAuditTests/Golden")
        try Golden.compare(normalized(AuditOutput.sarif(r, version: "0.0.0-golden")), file: "audit.sarif", in: dir,
                           shownAs: "Tests/DockwardAuditTests/Golden")
    }

    func testFindingsAndPostureOfEveryContainer() async throws {
        let engine = FakeEngine(socketPath: "/var/run/docker.sock")
        let r = try await auditOfEveryWay(engine)
        let got = r.sortedItems.map { "\($0.subject) \($0.kind.rawValue)" }
        XCTAssertEqual(got, ["bomb pids-exhausted", "priv privileged", "sock socket-mount", "vol socket-mount",
                             "ceiling pids-unlimited", "free pids-unlimited"])
        XCTAssertEqual(r.items.first { $0.subject == "sock" }?.service, "agent")
        let bomb = try XCTUnwrap(r.items.first { $0.subject == "bomb" })
        XCTAssertTrue(bomb.entry.message.hasSuffix("the kernel refused 42 forks."),
                      "one look counts no refusals since an earlier report: \(bomb.entry.message)")
        let posture = Dictionary(uniqueKeysWithValues: r.postures.map { ($0.container.displayName, $0) })
        XCTAssertEqual(posture.count, 6)
        XCTAssertNil(posture["priv"]?.reading, "a created container has no cgroup")
        XCTAssertEqual(posture["free"]?.reading?.source, PidsPosture.Source.none)
        XCTAssertNil(posture["free"]?.reading?.limit)
        XCTAssertEqual(posture["free"]?.reading?.peak, 300)
        XCTAssertEqual(posture["free"]?.reading?.suggestedLimit, 640)
        XCTAssertEqual(posture["ceiling"]?.reading?.source, .inherited)
        XCTAssertEqual(posture["ceiling"]?.reading?.limit, 4915)
        XCTAssertEqual(posture["sock"]?.reading?.source, .own)
        XCTAssertEqual(posture["bomb"]?.reading?.refusedForks, 42)
        let ceiling = r.items.first { $0.subject == "ceiling" }!.fields
        XCTAssertTrue(ceiling.contains { $0 == ("PIDS_MAX_SOURCE", "inherited") }, "\(ceiling)")
        XCTAssertEqual(r.exitStatus(failOn: .err), 1)
        // Reads only: the engine was asked for nothing else.
        XCTAssertEqual(Set(engine.calls), ["ping", "info", "list", "inspect", "volume"])
    }

    func testConfigIsHonoured() async throws {
        let engine = FakeEngine(socketPath: "/var/run/docker.sock")
        engine.containers = [
            container(1, "ci-agent", limit: 10, mounts: [MountPoint(kind: .bind, source: "/run", destination: "/run", readWrite: true)]),
            container(2, "priv", limit: 10, privileged: true),
            container(3, "batch"),
        ]
        for n in 1...3 { try cgroup(testID(n), current: 1, max: n == 3 ? "max" : "10", peak: 1) }
        var config = DockwardConfig()
        config.hostControl.allow = [ContainerMatcher(name: "ci-*")]
        config.hostControl.checks.privileged = false
        var ignore = DockwardConfig.Override(match: ContainerMatcher(name: "batch"))
        ignore.ignore = true
        config.overrides = [ignore]
        let r = try await audit(engine, config: config)
        XCTAssertEqual(r.sortedItems.map { "\($0.subject) \($0.kind.rawValue) \($0.priority.name)" },
                       ["ci-agent socket-mount-allowed notice"])
        XCTAssertEqual(r.exitStatus(failOn: .err), 0)
        XCTAssertEqual(r.exitStatus(failOn: .notice), 1)
        XCTAssertEqual(r.postures.count, 3, "an ignored container still shows its posture")
    }

    func testAnUnreachableEngineCannotBeAudited() async throws {
        let engine = FakeEngine()
        engine.unreachable = true
        do {
            _ = try await audit(engine)
            XCTFail("audited without an engine")
        } catch {
            XCTAssertTrue(error.message.contains("could not audit"), error.message)
            XCTAssertTrue(error.message.contains("/run/docker.sock"), error.message)
        }
    }

    func testAnUnreadableCgroupTreeCannotBeAudited() async throws {
        try FileManager.default.removeItem(atPath: root + "/pids")
        do {
            _ = try await audit(FakeEngine())
            XCTFail("audited without a cgroup tree")
        } catch {
            XCTAssertTrue(error.message.contains("cannot read the cgroup tree under \(root)"), error.message)
        }
    }

    func testSuggestedLimit() {
        let table: [(current: Int64, peak: Int64?, suggested: Int64)] = [
            (0, nil, 128), (1, nil, 128), (3, 7, 128), (64, 64, 128), (65, 65, 192), (150, 300, 640),
            // A peak below the count now (a reset peak) never lowers the suggestion under what runs.
            (500, 10, 1024), (3000, 3100, 6208),
        ]
        for row in table {
            let s = PidsPosture.suggestedLimit(current: row.current, peak: row.peak)
            XCTAssertEqual(s, row.suggested, "\(row)")
            XCTAssertGreaterThan(s, row.current)
        }
    }
}
