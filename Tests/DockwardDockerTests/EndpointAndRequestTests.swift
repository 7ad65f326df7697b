import DockwardCore
@testable import DockwardDocker
import Foundation
import XCTest

final class EndpointAndRequestTests: XCTestCase {
    let configured = "/run/docker.sock"

    func testResolveUsesConfiguredSocketWithoutDockerHost() throws {
        XCTAssertEqual(try DockerEndpoint.resolve(configuredSocket: configured, environment: [:]).socketPath, configured)
        XCTAssertEqual(
            try DockerEndpoint.resolve(configuredSocket: configured, environment: ["DOCKER_HOST": ""]).socketPath,
            configured)
    }

    func testResolveDockerHostUnixOverrides() throws {
        let endpoint = try DockerEndpoint.resolve(
            configuredSocket: configured, environment: ["DOCKER_HOST": "unix:///run/user/1000/docker.sock"])
        XCTAssertEqual(endpoint.socketPath, "/run/user/1000/docker.sock")
    }

    func testResolveRejectsOtherSchemes() {
        for host in ["tcp://127.0.0.1:2375", "ssh://root@host", "npipe:////./pipe/docker_engine", "/run/docker.sock"] {
            XCTAssertThrowsError(
                try DockerEndpoint.resolve(configuredSocket: configured, environment: ["DOCKER_HOST": host])
            ) { error in
                XCTAssertEqual(error as? DockerClientError, .unsupportedDockerHost(host))
                XCTAssertTrue("\(error)".contains(host), "\(error)")
            }
        }
    }

    func testResolveRejectsRelativePaths() {
        XCTAssertThrowsError(
            try DockerEndpoint.resolve(configuredSocket: configured, environment: ["DOCKER_HOST": "unix://docker.sock"]))
        XCTAssertThrowsError(try DockerEndpoint.resolve(configuredSocket: "docker.sock", environment: [:]))
        XCTAssertThrowsError(try DockerEndpoint.resolve(configuredSocket: "", environment: [:]))
    }

    func testPaths() {
        let id = ContainerID(String(repeating: "0f", count: 32))!
        XCTAssertEqual(EngineRequest.ping.path(apiVersion: "1.41"), "/_ping")
        XCTAssertEqual(EngineRequest.listContainers(all: true).path(apiVersion: "1.41"), "/v1.41/containers/json?all=1")
        XCTAssertEqual(EngineRequest.listContainers(all: false).path(apiVersion: "1.51"), "/v1.51/containers/json")
        XCTAssertEqual(EngineRequest.inspect(id).path(apiVersion: "1.41"), "/v1.41/containers/\(id.full)/json")
        XCTAssertEqual(
            EngineRequest.events(sinceNano: nil).path(apiVersion: "1.41"),
            "/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D")
        XCTAssertEqual(
            EngineRequest.events(sinceNano: 1_795_915_554_983_841_697).path(apiVersion: "1.41"),
            "/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D&since=1795915554.983841697")
    }

    func testEventsQueryDecodesToTheIntendedValues() throws {
        let path = EngineRequest.events(sinceNano: 1_000_000_005).path(apiVersion: "1.41")
        let items = try XCTUnwrap(URLComponents(string: "http://docker" + path)?.queryItems)
        let query = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.value ?? "") })
        XCTAssertEqual(query["since"], "1.000000005")
        let filters = try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(query["filters"]).utf8))
        XCTAssertEqual(filters as? [String: [String]], ["type": ["container"]])
    }

    func testSinceFormatting() {
        XCTAssertEqual(EngineRequest.sinceParameter(nanoseconds: 0), "0.000000000")
        XCTAssertEqual(EngineRequest.sinceParameter(nanoseconds: 999_999_999), "0.999999999")
        XCTAssertEqual(EngineRequest.sinceParameter(nanoseconds: 1_500_000_000), "1.500000000")
        XCTAssertEqual(EngineRequest.sinceParameter(nanoseconds: -7), "0.000000000")
    }

    /// The client is read-only by construction: its single `send` takes an
    /// EngineRequest, and every EngineRequest is a GET without a body.
    func testEveryRequestIsAGet() {
        let id = ContainerID(String(repeating: "ab", count: 32))!
        let all: [EngineRequest] = [
            .ping, .listContainers(all: true), .listContainers(all: false), .inspect(id),
            .events(sinceNano: nil), .events(sinceNano: 42), .volume(name: "data"), .info, .version,
        ]
        for request in all {
            XCTAssertEqual(request.method, .GET, "\(request)")
        }
        // Exhaustive switch: a new case fails to compile here until it is reviewed as a GET.
        for request in all {
            switch request {
            case .ping, .listContainers, .inspect, .events, .volume, .info, .version: break
            }
        }
    }

    func testVolumeAndInfoPaths() {
        XCTAssertEqual(EngineRequest.volume(name: "my-vol_1.x").path(apiVersion: "1.41"), "/v1.41/volumes/my-vol_1.x")
        // A name is one path segment, whatever it holds.
        XCTAssertEqual(EngineRequest.volume(name: "../containers").path(apiVersion: "1.41"), "/v1.41/volumes/..%2Fcontainers")
        XCTAssertEqual(EngineRequest.info.path(apiVersion: "1.44"), "/v1.44/info")
        XCTAssertEqual(EngineRequest.version.path(apiVersion: "1.41"), "/v1.41/version")
    }

    func testAPIVersionOrdering() {
        XCTAssertLessThan(APIVersion("1.9")!, APIVersion("1.41")!)
        XCTAssertLessThan(APIVersion("1.41")!, APIVersion("1.51")!)
        XCTAssertLessThan(APIVersion("1.99")!, APIVersion("2.0")!)
        XCTAssertNil(APIVersion("1"))
        XCTAssertNil(APIVersion("v1.41"))
        XCTAssertNil(APIVersion("1.41.2"))
    }
}
