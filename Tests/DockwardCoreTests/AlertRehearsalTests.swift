import XCTest
@testable import DockwardCore

/// The rehearsal at start plays every kind of a container's pids story, so
/// the first real alert of each finds its path warm; none of it is sent.
final class AlertRehearsalTests: XCTestCase {
    func testEveryKindOfAContainersPidsStoryIsRendered() {
        let played = AlertRehearsal.run()
        let kinds = Set(played.map { $0.finding.kind })
        for kind: EntryKind in [.pidsForecast, .pidsHigh, .pidsExhausted, .pidsRecovered, .pidsUnlimited] {
            XCTAssertTrue(kinds.contains(kind), "\(kind.rawValue) not rehearsed; played: \(played.map { $0.finding.kind.rawValue })")
        }
        let exhausted = played.first { $0.finding.kind == .pidsExhausted }?.entry
        XCTAssertEqual(exhausted?.allFields.first { $0.name == "PIDS_MAX_SOURCE" }?.value, "pod")
        XCTAssertNotNil(exhausted?.allFields.first { $0.name == "PIDS_POD_TASKS" })
        XCTAssertNotNil(exhausted?.allFields.first { $0.name == "K8S_POD" })
    }
}
