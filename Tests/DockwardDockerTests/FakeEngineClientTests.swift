import DockwardCore
import DockwardDocker
import Logging
import XCTest

/// Client behaviour on answers the real engine here cannot be made to give.
final class FakeEngineClientTests: XCTestCase {
    private var engine: FakeEngine?
    private var client: DockerEngineClient?

    override func tearDown() async throws {
        try await client?.shutdown()
        engine?.stop()
    }

    private func start(_ respond: @escaping @Sendable (String) -> String) throws -> DockerEngineClient {
        let engine = try FakeEngine(respond: respond)
        self.engine = engine
        let client = DockerEngineClient(
            endpoint: try DockerEndpoint(socketPath: engine.path), logger: Logger(label: "test"))
        self.client = client
        return client
    }

    private static func ping(_ version: String) -> String {
        FakeEngine.response(status: "200 OK", headers: ["Api-Version": version], body: "OK")
    }

    func testNegotiateCapsAtOurMaximumAndSendsHost() async throws {
        let client = try start { _ in Self.ping("1.99") }
        let version = try await client.negotiate()
        XCTAssertEqual(version, DockerEngineClient.maximumAPIVersion)
        XCTAssertEqual(client.negotiatedVersion, "1.52")
        let head = try XCTUnwrap(engine?.requestHeads.first)
        XCTAssertTrue(head.hasPrefix("GET /_ping HTTP/1.1\r\n"), head)
        XCTAssertTrue(head.lowercased().contains("\r\nhost: docker\r\n"), head)
        XCTAssertEqual(head.lowercased().components(separatedBy: "\r\nhost:").count, 2, "exactly one Host header")
    }

    func testNegotiateRejectsOldEngine() async throws {
        let client = try start { _ in Self.ping("1.39") }
        do {
            _ = try await client.negotiate()
            XCTFail("1.39 must be refused")
        } catch let error as DockerClientError {
            XCTAssertEqual(error, .versionTooOld(engine: "1.39", minimum: "1.40"))
            XCTAssertTrue(error.description.contains("1.39"))
        }
    }

    /// Podman 4.0 and 4.1 answer with the compat API 1.40: spoken.
    func testNegotiateAcceptsPodmansOldestCompatAPI() async throws {
        let client = try start { _ in Self.ping("1.40") }
        let version = try await client.negotiate()
        XCTAssertEqual(version, "1.40")
    }

    /// /version tells Docker from Podman (recorded from Docker 20.10 and
    /// Podman 4.3.1's compat API); an engine that refuses it is still described.
    func testInfoSaysWhichEngine() async throws {
        let json = ["Content-Type": "application/json"]
        let podman = #"{"Platform":{"Name":"linux/amd64/debian-12"},"Components":[{"Name":"Podman Engine","Version":"4.3.1"},{"Name":"Conmon"}],"Version":"4.3.1","ApiVersion":"1.41"}"#
        let docker = #"{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1"},{"Name":"containerd"}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41"}"#
        for (version, product) in [(podman, "Podman 4.3.1"), (docker, "Docker 20.10.24+dfsg1"), (nil, nil) as (String?, String?)] {
            let client = try start { head in
                if head.hasPrefix("GET /_ping") { return Self.ping("1.41") }
                if head.hasPrefix("GET /v1.41/info") {
                    return FakeEngine.response(status: "200 OK", headers: json, body: #"{"DockerRootDir":"/var/lib/containers/storage"}"#)
                }
                guard let version else { return FakeEngine.response(status: "404 Not Found", headers: json, body: #"{"message":"no"}"#) }
                return FakeEngine.response(status: "200 OK", headers: json, body: version)
            }
            _ = try await client.negotiate()
            let info = try await client.info()
            XCTAssertEqual(info.dataRoot, "/var/lib/containers/storage")
            XCTAssertEqual(info.product, product)
            XCTAssertEqual(info.apiVersion, "1.41")
            try await client.shutdown()
            self.client = nil
            engine?.stop()
        }
    }

    func testEngineErrorMessageIsSurfaced() async throws {
        let client = try start { head in
            head.hasPrefix("GET /_ping") ? Self.ping("1.45") : FakeEngine.response(
                status: "500 Internal Server Error", headers: ["Content-Type": "application/json"],
                body: #"{"message":"database is locked"}"#)
        }
        do {
            _ = try await client.listContainers(all: true)
            XCTFail("a 500 must throw")
        } catch let error as DockerClientError {
            XCTAssertEqual(error, .httpStatus(code: 500, request: "/v1.45/containers/json?all=1", message: "database is locked"))
            XCTAssertTrue(error.description.contains("database is locked"), error.description)
        }
    }

    func testBadJSONIsReported() async throws {
        let client = try start { head in
            head.hasPrefix("GET /_ping") ? Self.ping("1.41") : FakeEngine.response(status: "200 OK", body: "[{\"Id\": 12")
        }
        do {
            _ = try await client.listContainers(all: false)
            XCTFail("truncated JSON must throw")
        } catch DockerClientError.badResponse(let request, _) {
            XCTAssertEqual(request, "/v1.41/containers/json")
        }
    }

    func testEventStreamSkipsBadLinesAndFinishesWhenTheEngineCloses() async throws {
        let id = String(repeating: "c3", count: 32)
        let body = [
            #"{"Type":"container","Action":"create","Actor":{"ID":"\#(id)","Attributes":{"name":"a"}},"timeNano":10}"#,
            "garbage",
            #"{"status":"destroy","id":"\#(id)","time":11}"#,
        ].joined(separator: "\n") + "\n"
        let client = try start { head in
            // No Content-Length: the body runs until the engine closes, like a dropped stream.
            head.hasPrefix("GET /_ping") ? Self.ping("1.41")
                : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body
        }
        var seen: [EngineEvent] = []
        for try await event in client.events(sinceNano: 5) {
            seen.append(event)
        }
        XCTAssertEqual(seen.map(\.action), ["create", "destroy"])
        XCTAssertEqual(seen.map(\.timeNano), [10, 11_000_000_000])
        let eventsHead = try XCTUnwrap(engine?.requestHeads.last)
        XCTAssertTrue(eventsHead.hasPrefix("GET /v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D&since=0.000000005 HTTP/1.1"), eventsHead)
    }

    func testEventStreamThrowsOnHTTPError() async throws {
        let client = try start { head in
            head.hasPrefix("GET /_ping") ? Self.ping("1.41")
                : FakeEngine.response(status: "400 Bad Request", body: #"{"message":"invalid filter"}"#)
        }
        do {
            for try await _ in client.events(sinceNano: nil) {}
            XCTFail("a 400 must end the stream with an error")
        } catch DockerClientError.httpStatus(let code, _, let message) {
            XCTAssertEqual(code, 400)
            XCTAssertEqual(message, "invalid filter")
        }
    }

    func testMissingSocketFailsClearly() async throws {
        let path = NSTemporaryDirectory() + "dockward-no-such-\(UUID().uuidString).sock"
        let client = DockerEngineClient(endpoint: try DockerEndpoint(socketPath: path), logger: Logger(label: "test"))
        self.client = client
        do {
            _ = try await client.negotiate()
            XCTFail("expected an error")
        } catch let error as DockerClientError {
            XCTAssertEqual(error, .socketMissing(path: path))
            XCTAssertTrue(error.description.contains(path))
        }
    }

    func testRefusedSocketFailsClearly() async throws {
        let path = try FakeEngine.deadSocket()
        defer { unlink(path) }
        let client = DockerEngineClient(endpoint: try DockerEndpoint(socketPath: path), logger: Logger(label: "test"))
        self.client = client
        let started = Date()
        do {
            _ = try await client.listContainers(all: true)
            XCTFail("expected an error")
        } catch DockerClientError.engineUnreachable(let reported, let reason) {
            XCTAssertEqual(reported, path)
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
    }
}
