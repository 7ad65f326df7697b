import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// The engine TCP check in the running daemon: the engine's configuration
/// read from a fixture root at start and at each reload, each finding
/// written once through the outlet.
final class EngineTCPWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engineRoot: String { host.root + "/engine-root" }
    private var dropIn: String { engineRoot + "/etc/systemd/system/docker.service.d/tcp.conf" }

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        try FixtureHost.write("[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
                              to: engineRoot + "/lib/systemd/system/docker.service")
    }

    private func config(engineTCP: Bool = true) -> String {
        "host_control:\n  engine_config_root: \(engineRoot)\n  checks:\n    engine_tcp: \(engineTCP)\n"
    }

    private func makeDaemon(config: String) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: ScriptedEngine(socketPath: host.engineSocket), config: config)
        addTeardownBlock { d.stop() }
        return d
    }

    /// Reloads and waits until the reload's entry is out (the check follows it on the queue).
    private func reload(_ d: DaemonUnderTest) {
        let before = d.writer.entries(.configReloaded).count
        d.daemon.reload()
        d.waitUntil("the reload entry") { d.writer.entries(.configReloaded).count > before }
        DaemonActor.sync {}
    }

    private func values(_ entry: JournalEntry?) -> [String: String] {
        Dictionary((entry?.fields ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    func testDropInListenerIsReportedOnceAndAgainOnlyWhenItChanges() throws {
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n", to: dropIn)
        let d = try makeDaemon(config: config())
        d.start()
        let first = d.writer.entries(.engineTCPExposed)
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(first.first?.priority, .crit)
        XCTAssertEqual(values(first.first), ["ENGINE_LISTEN": "tcp://0.0.0.0:2375", "ENGINE_TLS": "none",
                                             "ENGINE_LOOPBACK": "false",
                                             "ENGINE_CONFIG": "/etc/systemd/system/docker.service.d/tcp.conf:3"])

        reload(d)
        XCTAssertEqual(d.writer.entries(.engineTCPExposed).count, 1, "the same finding is not written again")

        // A second listener: only it is new.
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375 -H tcp://127.0.0.1:2380\n",
                              to: dropIn)
        reload(d)
        let all = d.writer.entries(.engineTCPExposed)
        XCTAssertEqual(all.count, 2)
        XCTAssertEqual(values(all.last)["ENGINE_LISTEN"], "tcp://127.0.0.1:2380")
        XCTAssertEqual(values(all.last)["ENGINE_LOOPBACK"], "true")

        // Moved to daemon.json: a new place is a new entry.
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd\n", to: dropIn)
        try FixtureHost.write("{\n  \"hosts\": [\"fd://\", \"tcp://0.0.0.0:2375\"]\n}\n", to: engineRoot + "/etc/docker/daemon.json")
        reload(d)
        XCTAssertEqual(d.writer.entries(.engineTCPExposed).count, 3)
        XCTAssertEqual(values(d.writer.entries(.engineTCPExposed).last)["ENGINE_CONFIG"], "/etc/docker/daemon.json:2")
    }

    func testSwitchedOffNothingIsWritten() throws {
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n", to: dropIn)
        let d = try makeDaemon(config: config(engineTCP: false))
        d.start()
        reload(d)
        XCTAssertEqual(d.writer.entries(.engineTCPExposed), [])
    }

    func testAFileOverTheSizeLimitIsNamedInTheEntry() throws {
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n", to: dropIn)
        try FixtureHost.write("{" + String(repeating: " ", count: 1 << 20) + "}", to: engineRoot + "/etc/docker/daemon.json")
        let d = try makeDaemon(config: config())
        d.start()
        let entries = d.writer.entries(.engineTCPExposed)
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(values(entries.first)["ENGINE_CONFIG_UNREADABLE"], "/etc/docker/daemon.json")
        XCTAssertTrue(entries.first?.message.contains("Not read (the check may miss what they set): /etc/docker/daemon.json") ?? false,
                      entries.first?.message ?? "")
    }

    func testAMaskedUnitStartsNothingSoNothingIsReported() throws {
        try FixtureHost.write("[Service]\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
                              to: engineRoot + "/lib/systemd/system/docker.service")
        try FileManager.default.createDirectory(atPath: engineRoot + "/etc/systemd/system", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: engineRoot + "/etc/systemd/system/docker.service",
                                                   withDestinationPath: "/dev/null")
        let d = try makeDaemon(config: config())
        d.start()
        XCTAssertEqual(d.writer.entries(.engineTCPExposed), [])
    }

    func testVerifiedListenerAndMalformedDaemonJSONWriteNothing() throws {
        try FixtureHost.write("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 --tlsverify\n", to: dropIn)
        try FixtureHost.write("{ \"hosts\": [", to: engineRoot + "/etc/docker/daemon.json")
        let d = try makeDaemon(config: config())
        d.start()
        XCTAssertEqual(d.writer.entries(.engineTCPExposed), [])
        XCTAssertEqual(d.writer.entries(.daemonStarted).count, 1, "the daemon runs on")
    }
}
