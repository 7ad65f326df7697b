import DockwardCore
import DockwardDocker
import DockwardTestSupport
import Foundation
import Logging
import XCTest

/// Against the private engine started by scripts/test-services.sh. The docker
/// CLI only sets the scene; everything asserted comes through the client.
final class RealEngineTests: XCTestCase {
    static let socket = ProcessInfo.processInfo.environment["DOCKWARD_TEST_DOCKER_SOCKET"] ?? "/run/dockward-test/docker.sock"
    static let image = "local/busybox:test"
    private var client: DockerEngineClient!

    struct DockerCLIFailed: Error, CustomStringConvertible { var description: String }

    override func setUp() async throws {
        guard FileManager.default.fileExists(atPath: Self.socket) else {
            let message = "engine not running at \(Self.socket); run scripts/test-services.sh start"
            try TestEnvironment.skipOrFailInCI(message)
        }
        client = DockerEngineClient(endpoint: try DockerEndpoint(socketPath: Self.socket), logger: Logger(label: "dockward.test"))
    }

    override func tearDown() async throws {
        try await client?.shutdown()
    }

    func testNegotiate() async throws {
        let version = try await client.negotiate()
        XCTAssertEqual(version, "1.41")
        XCTAssertEqual(client.negotiatedVersion, "1.41")
    }

    func testListIncludesCreatedAndRunningContainers() async throws {
        let created = try makeContainer(["--label", "dockward.test=list", Self.image, "sleep", "300"])
        let running = try makeContainer(["-d", Self.image, "sleep", "300"], command: "run")

        let all = try await client.listContainers(all: true)
        let createdRow = try XCTUnwrap(all.first { $0.id == created.id }, "created container missing from all:true")
        XCTAssertEqual(createdRow.names, [created.name])
        XCTAssertEqual(createdRow.image, Self.image)
        XCTAssertEqual(createdRow.state, "created")
        XCTAssertEqual(createdRow.labels["dockward.test"], "list")

        let live = try await client.listContainers(all: false)
        XCTAssertFalse(live.contains { $0.id == created.id }, "all:false must hide created-not-started")
        XCTAssertEqual(live.first { $0.id == running.id }?.state, "running")
    }

    func testInspectMapsMountsAndBinds() async throws {
        let base = "/run/dockward-test/mounts-\(UUID().uuidString.prefix(8))"
        for dir in ["x", "y", "z"] {
            try FileManager.default.createDirectory(atPath: "\(base)/\(dir)", withIntermediateDirectories: true)
        }
        addTeardownBlock { try? FileManager.default.removeItem(atPath: base) }
        let bind = "\(base)/x:/x:ro"
        let container = try makeContainer([
            "-v", bind,
            "--mount", "type=bind,src=\(base)/y,dst=/y",
            "--mount", "type=bind,src=\(base)/z,dst=/z,readonly",
            "-v", "/anon",
            "--label", "app=web",
            Self.image, "sleep", "300",
        ])

        let details = try await XCTUnwrapAsync(try await client.inspect(container.id))
        XCTAssertEqual(details.id, container.id)
        XCTAssertEqual(details.metadata, ContainerMetadata(name: container.name, image: Self.image, labels: ["app": "web"]))
        XCTAssertEqual(details.state, "created")
        XCTAssertEqual(details.binds, [bind], "--mount entries are not Binds")
        let byDestination = Dictionary(uniqueKeysWithValues: details.mounts.map { ($0.destination, $0) })
        XCTAssertEqual(byDestination["/x"], MountPoint(kind: .bind, source: "\(base)/x", destination: "/x", readWrite: false))
        XCTAssertEqual(byDestination["/y"], MountPoint(kind: .bind, source: "\(base)/y", destination: "/y", readWrite: true))
        XCTAssertEqual(byDestination["/z"], MountPoint(kind: .bind, source: "\(base)/z", destination: "/z", readWrite: false))
        let anonymous = try XCTUnwrap(byDestination["/anon"])
        XCTAssertEqual(anonymous.kind, .volume)
        XCTAssertTrue(anonymous.readWrite)
        XCTAssertTrue(anonymous.source.hasPrefix("/"), anonymous.source)
        XCTAssertEqual(details.mounts.count, 4)
    }

    /// What the host-control watch reads: privileges, PID namespace,
    /// capabilities, devices, volumes with their options (inline and the
    /// volume's own), and the engine's data root.
    func testInspectMapsHostControlFieldsAndVolumes() async throws {
        let folder = "/run/dockward-test/volume-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let named = "dockward-test-vol-\(UUID().uuidString.prefix(8).lowercased())"
        let inline = named + "-inline"
        try Self.docker(["volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind",
                         "--opt", "device=\(folder)", named])
        addTeardownBlock { _ = try? Self.docker(["volume", "rm", "-f", named, inline]) }
        let container = try makeContainer([
            "--privileged", "--pid", "host", "--cap-add", "SYS_PTRACE", "--device", "/dev/null",
            "-v", "\(named):/named",
            "--mount", "type=volume,src=\(inline),dst=/inline,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=\(folder)",
            Self.image, "sleep", "300",
        ])
        let details = try await XCTUnwrapAsync(try await client.inspect(container.id))
        XCTAssertTrue(details.privileged)
        XCTAssertEqual(details.pidMode, "host")
        XCTAssertEqual(details.capAdd.map { $0.uppercased() }.filter { $0.hasSuffix("SYS_PTRACE") }.count, 1, "\(details.capAdd)")
        XCTAssertEqual(details.devices, ["/dev/null"])
        let volumes = Dictionary(uniqueKeysWithValues: details.volumes.map { ($0.destination, $0) })
        XCTAssertEqual(volumes["/named"]?.name, named)
        XCTAssertNil(volumes["/named"]?.options, "a -v volume's options live with the volume, not the container")
        XCTAssertEqual(volumes["/inline"]?.name, inline)
        XCTAssertEqual(volumes["/inline"]?.options?["device"], folder, "inline volume-opt from HostConfig.Mounts")
        XCTAssertEqual(volumes["/inline"]?.hostBind?.source, folder)

        let volume = try await XCTUnwrapAsync(try await client.volume(named: named))
        XCTAssertEqual(volume, VolumeInfo(driver: "local", options: ["type": "none", "o": "bind", "device": folder]))
        let missing = try await client.volume(named: "dockward-test-no-such-volume")
        XCTAssertNil(missing)
        let info = try await client.info()
        XCTAssertEqual(info.dataRoot, try Self.docker(["info", "--format", "{{.DockerRootDir}}"]))
    }

    func testInspectUnknownIsNil() async throws {
        let unknown = try XCTUnwrap(ContainerID(String(repeating: "0", count: 60) + "dead"))
        let details = try await client.inspect(unknown)
        XCTAssertNil(details)
    }

    func testLiveEventsForCreateAndDestroy() async throws {
        let since = Self.nowNano()
        let name = Self.uniqueName()
        let client = self.client!
        // Subscribed from `since`: events before the task reads are replayed.
        let collector = Task.detached { try await collectEvents(client, since: since, name: name, until: "destroy") }

        let id = try Self.docker(["create", "--network", "none", "--name", name, Self.image, "true"])
        addTeardownBlock { _ = try? Self.docker(["rm", "-f", name]) }
        _ = try Self.docker(["rm", name])

        let seen = try await collector.value
        XCTAssertEqual(seen.map(\.action), ["create", "destroy"])
        for event in seen {
            XCTAssertEqual(event.type, "container")
            XCTAssertEqual(event.actorID, id)
            XCTAssertEqual(event.attributes["name"], name)
            XCTAssertEqual(event.attributes["image"], Self.image)
            XCTAssertGreaterThanOrEqual(event.timeNano, since - 1_000_000_000, "clock of the same machine")
            XCTAssertLessThanOrEqual(event.timeNano, Self.nowNano() + 1_000_000_000)
        }
        XCTAssertLessThanOrEqual(seen[0].timeNano, seen[1].timeNano)
    }

    func testEventsSinceThePastAreReplayed() async throws {
        let before = Self.nowNano()
        let name = Self.uniqueName()
        let id = try Self.docker(["create", "--network", "none", "--name", name, Self.image, "true"])
        addTeardownBlock { _ = try? Self.docker(["rm", "-f", name]) }
        _ = try Self.docker(["rm", name])

        // Subscribed only after the container is gone: only replay can show it.
        let events = client.events(sinceNano: before)
        let seen = try await Self.withTimeout(seconds: 20) {
            try await Self.collect(events, name: name, until: "destroy")
        }
        XCTAssertEqual(seen.map(\.action), ["create", "destroy"])
        XCTAssertEqual(Set(seen.map(\.actorID)), [id])
    }

    // MARK: - Helpers

    struct Container { var id: ContainerID; var name: String }

    /// `docker create|run --network none --name <unique> args...`, removed after the test.
    private func makeContainer(_ args: [String], command: String = "create") throws -> Container {
        let name = Self.uniqueName()
        addTeardownBlock { _ = try? Self.docker(["rm", "-f", "-v", name]) }
        let output = try Self.docker([command, "--network", "none", "--name", name] + args)
        let id = try XCTUnwrap(ContainerID(output), "docker \(command) printed '\(output)'")
        return Container(id: id, name: name)
    }

    static func uniqueName() -> String { "dockward-test-\(UUID().uuidString.prefix(12).lowercased())" }

    static func nowNano() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000_000) }

    /// Runs the docker CLI against the test engine; returns trimmed stdout.
    @discardableResult
    static func docker(_ args: [String]) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = "unix://\(socket)"
        // Subprocess, with a deadline: a hung CLI fails the test instead of the run.
        let result = try Subprocess.run("/usr/bin/env", ["docker"] + args, environment: environment, timeout: 120)
        guard result.status == 0 else {
            throw DockerCLIFailed(description: "docker \(args.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Events about the container named `name`, up to and including `until`.
    static func collect(
        _ events: AsyncThrowingStream<EngineEvent, Error>, name: String, until action: String
    ) async throws -> [EngineEvent] {
        var seen: [EngineEvent] = []
        for try await event in events where event.attributes["name"] == name {
            seen.append(event)
            if event.action == action { break }
        }
        return seen
    }

    struct TimedOut: Error {}

    static func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                throw TimedOut()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    let v = try await value()
    return try XCTUnwrap(v, file: file, line: line)
}

/// A create and destroy's events, read from `since`, in 20 s at most.
private func collectEvents(_ client: DockerEngineClient, since: Int64, name: String, until action: String) async throws -> [EngineEvent] {
    let events = client.events(sinceNano: since)
    return try await RealEngineTests.withTimeout(seconds: 20) {
        try await RealEngineTests.collect(events, name: name, until: action)
    }
}
