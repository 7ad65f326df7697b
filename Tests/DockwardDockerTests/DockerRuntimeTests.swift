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

    /// Still events: they date the stream and the lag, with no container.
    func testOtherObjectsAndBadIdsAreOtherWithoutAnId() {
        for e in [event("create", type: "network"), event("pull", type: "image", actor: "busybox:latest"),
                  event("create", actor: "not-an-id")] {
            XCTAssertEqual(DockerRuntime.typed(e), RuntimeEvent(.other, id: nil, timeNano: 42))
        }
    }
}
