import DockwardCore
import DockwardDocker
import XCTest

/// The Docker module's translation of its engines' events into dockward's
/// typed ones: the one place Docker's and Podman's words are known.
final class DockerRuntimeTests: XCTestCase {
    private let id = ContainerID(String(repeating: "ab", count: 32))!

    private func event(_ action: String, type: String = "container", actor: String? = nil) -> EngineEvent {
        EngineEvent(type: type, action: action, actorID: actor ?? id.full, attributes: [:], timeNano: 42)
    }

    func testEveryContainerActionBecomesItsKind() {
        let table: [(String, RuntimeEvent.Kind)] = [
            ("create", .created), ("start", .started), ("update", .updated), ("die", .died),
            ("destroy", .removed), ("remove", .removed),  // Podman's compat API says remove
            ("exec_start: sh", .other), ("health_status: healthy", .other), ("exec_died", .other),
        ]
        for (action, kind) in table {
            XCTAssertEqual(DockerRuntime.typed(event(action)), RuntimeEvent(kind, id: id, timeNano: 42), action)
        }
    }

    func testOtherObjectsAndBadIdsAreDropped() {
        XCTAssertNil(DockerRuntime.typed(event("create", type: "network")))
        XCTAssertNil(DockerRuntime.typed(event("pull", type: "image", actor: "busybox:latest")))
        XCTAssertNil(DockerRuntime.typed(event("create", actor: "not-an-id")))
    }
}
