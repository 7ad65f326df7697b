import DockwardCore
import DockwardDocker
import NIOHTTP1
import XCTest

/// The action client's requests: POSTs for one container, nothing else;
/// the watching client's stay GETs.
final class ContainerActionRequestTests: XCTestCase {
    let id = ContainerID(String(repeating: "ab", count: 32))!

    func testPathsBodiesAndMethod() {
        let base = "/v1.41/containers/\(id.full)"
        let cases: [(ContainerActionRequest, String, String?)] = [
            (.updatePidsLimit(500), base + "/update", #"{"PidsLimit":500}"#),
            (.pause, base + "/pause", nil),
            (.stop(timeoutSeconds: 10), base + "/stop?t=10", nil),
            (.kill, base + "/kill?signal=SIGKILL", nil),
        ]
        for (request, path, body) in cases {
            XCTAssertEqual(request.method, .POST)
            XCTAssertEqual(request.path(apiVersion: "1.41", id: id), path)
            XCTAssertEqual(request.body.map { String(decoding: $0, as: UTF8.self) }, body)
        }
        XCTAssertEqual(ContainerActionRequest.stop(timeoutSeconds: -3).path(apiVersion: "1.44", id: id),
                       "/v1.44/containers/\(id.full)/stop?t=0")
    }

    func testTheWatchingClientStaysGetOnly() {
        for request in [EngineRequest.ping, .listContainers(all: true), .inspect(id), .events(sinceNano: 1)] {
            XCTAssertEqual(request.method, .GET)
        }
    }

    func testAnEngineRefusalNamesThePost() {
        let error = DockerClientError.httpStatus(code: 409, request: "POST /v1.41/containers/x/pause", message: "not running")
        XCTAssertEqual("\(error)", "Docker engine answered 409 to POST /v1.41/containers/x/pause: not running")
        XCTAssertEqual("\(DockerClientError.httpStatus(code: 404, request: "/v1.41/x/json", message: "no"))",
                       "Docker engine answered 404 to GET /v1.41/x/json: no")
    }
}
