import DockwardCore
import DockwardDocker
import Logging
import XCTest

/// The Docker module against engines of several releases, each answering as
/// that release does (ScriptedEngines.swift): Docker 29.0, which refuses
/// every API version below 1.44 and sends events without the legacy fields
/// as JSON lines; Docker 20.10; Podman 5.4 and 5.8's compat API; and an
/// engine of a later year that accepts nothing dockward speaks.
final class EngineReleasesTests: XCTestCase {
    private let id = ContainerID(String(repeating: "d2", count: 32))!

    private struct Connected {
        let engine: FakeEngine
        let client: DockerEngineClient
        let runtime: DockerRuntime
        let behaviour: ScriptedEngineBehaviour
    }

    private func connect(_ release: ScriptedEngineRelease) throws -> Connected {
        let behaviour = ScriptedEngineBehaviour(release: release, containerID: id.full)
        let engine = try FakeEngine { behaviour.respond($0) }
        let client = DockerEngineClient(endpoint: try DockerEndpoint(socketPath: engine.path), logger: Logger(label: "test"))
        // Shut down however the test ends: a client dropped unshut traps.
        addTeardownBlock {
            try await client.shutdown()
            engine.stop()
        }
        return Connected(engine: engine, client: client, runtime: DockerRuntime(client), behaviour: behaviour)
    }

    /// Connect, list, describe, follow the events and update a limit, as
    /// the daemon, `audit` and containment do: every request answered 200.
    func testEachReleaseIsWatchedWithoutARefusedRequest() async throws {
        let cases: [(ScriptedEngineRelease, product: String, api: String)] = [
            (.docker29, "Docker 29.0.0", "1.52"),
            (.docker20, "Docker 20.10.24+dfsg1", "1.41"),
            (.podman54, "Podman 5.4.2", "1.41"),
            (.podman58, "Podman 5.8.6", "1.44"),
        ]
        for (release, product, api) in cases {
            let c = try connect(release)
            let info = try await c.runtime.connect()
            XCTAssertEqual(info.product, product)
            XCTAssertEqual(info.apiVersion, api, product)
            let listed = try await c.runtime.listContainers()
            XCTAssertEqual(listed, [id], product)
            let details = try await c.runtime.describe(id, refused: { XCTFail("\(product): \($0)") })
            XCTAssertEqual(details?.mounts.map(\.source), ["/run/docker.sock"], product)
            XCTAssertEqual(details?.pidsLimit, 100, product)

            var kinds: [RuntimeEvent.Kind] = []
            for try await event in c.runtime.events(sinceNano: 1) {
                XCTAssertEqual(event.id, id, "\(product): every event here is the container's")
                kinds.append(event.kind)
            }
            let expected: [RuntimeEvent.Kind] = release.isPodman
                ? [.created, .started, .other, .other, .died, .removed]
                : [.created, .started, .other, .died, .removed]
            XCTAssertEqual(kinds, expected, product)

            try await ContainerActionClient(id: id, engine: c.client).perform(.updatePidsLimit(64))

            let answered = c.behaviour.log.all
            XCTAssertEqual(answered.filter { !$0.hasSuffix(" 200") }, [], "\(product): \(answered)")
            XCTAssertTrue(answered.contains("POST /v\(api)/containers/\(id.full)/update 200"), "\(product): \(answered)")
        }
    }

    /// Docker 29.0 sends events at API 1.52 without `status`, `id` and
    /// `from`, as `application/x-ndjson`: the ones asked for are decoded.
    func testDocker29EventsWithoutTheLegacyFields() async throws {
        let c = try connect(.docker29)
        var actions: [String] = []
        for try await event in c.client.events(sinceNano: 1) { actions.append(event.action) }
        XCTAssertEqual(actions, ["create", "start", "health_status: healthy", "die", "destroy"])
        XCTAssertTrue(c.behaviour.log.all.contains { $0.hasPrefix("GET /v1.52/events?") }, "\(c.behaviour.log.all)")
    }

    /// What Docker 29.0 answers a client that asks for 1.41, as dockward's
    /// older releases did: the scripted engine is faithful to it.
    func testDocker29RefusesAnOldVersion() {
        let behaviour = ScriptedEngineBehaviour(release: .docker29, containerID: id.full)
        let answer = behaviour.respond("GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: docker\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 Bad Request"), answer)
        XCTAssertTrue(answer.contains("client version 1.41 is too old. Minimum supported API version is 1.44"), answer)
    }

    /// An engine that accepts nothing as old as 1.52: connecting fails with
    /// both versions named and how to see the engine's own figures, and the
    /// `engine-lost` entry says the same.
    func testAnEngineThatRefusesOurNewestIsSaidAsSuch() async throws {
        let c = try connect(.future)
        do {
            _ = try await c.runtime.connect()
            XCTFail("an engine whose oldest API is 1.55 cannot be spoken to")
        } catch let error as DockerClientError {
            XCTAssertEqual(error, .versionTooNew(engine: "1.60", engineMinimum: "1.55", maximum: "1.52", socket: c.engine.path))
            let lost = AlertText.engineLost(socket: c.engine.path, reason: "\(error)", retryCap: .seconds(30)).message
            for words in ["Docker API 1.55 to 1.60", "dockward speaks up to 1.52", "MinAPIVersion",
                          "curl --unix-socket \(c.engine.path) http://docker/version"] {
                XCTAssertTrue(lost.contains(words), "\(words) in: \(lost)")
            }
        }
        XCTAssertEqual(c.behaviour.log.all, ["GET /_ping 200", "GET /version 200"],
                       "asked nothing it would refuse")
    }
}
