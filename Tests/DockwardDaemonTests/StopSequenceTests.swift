@testable import DockwardDaemon
import DockwardCore
import XCTest

/// The stop's one budget: parts in order, each with its deadline inside the
/// budget, the later steps' shares held back.
final class StopSequenceTests: XCTestCase {
    @DaemonActor
    final class Log { var order: [String] = [] }

    @DaemonActor
    final class Part: StoppingPart {
        let name: String
        let log: Log
        init(_ name: String, _ log: Log) { self.name = name; self.log = log }
        var deadlines: [Int64] = []
        var doneTwice = false
        func shutdown(deadline: Int64, done: @escaping @DaemonActor () -> Void) {
            log.order.append(name)
            deadlines.append(deadline)
            done()
            if doneTwice { done() }
        }
    }

    func testPartsStopInOrderEachWithinItsShareOfOneBudget() {
        let order: [String] = DaemonActor.sync {
            let log = Log()
            let actions = Part("actions", log), alertmanager = Part("alertmanager", log), engine = Part("engine", log)
            alertmanager.doneTwice = true  // a second `done` moves nothing
            var stop = StopSequence()
            stop.then("actions", share: .seconds(12), holdingBack: .seconds(3), actions)
            stop.then("state") { log.order.append("state") }
            stop.then("alertmanager", share: .milliseconds(500), holdingBack: .seconds(1), alertmanager)
            stop.then("engine", share: .seconds(5), engine)
            var finished = 0
            stop.run(from: 1_000, budget: .seconds(10), now: { 1_000 }) { finished += 1 }
            XCTAssertEqual(actions.deadlines, [1_000 + 7_000_000_000], "its share (12 s) is cut to the budget less 3 s held back")
            XCTAssertEqual(alertmanager.deadlines, [1_000 + 500_000_000], "its own share, well inside what is held back")
            XCTAssertEqual(engine.deadlines, [1_000 + 5_000_000_000], "its share")
            XCTAssertEqual(finished, 1)
            return log.order
        }
        XCTAssertEqual(order, ["actions", "state", "alertmanager", "engine"])
    }

    func testTheBudgetFitsTheUnitsStopTimeout() {
        XCTAssertLessThan(StopSequence.budget.nanoseconds + 400_000_000, 15_000_000_000,
                          "DaemonRunner's last exit comes before systemd's TimeoutStopSec=15s")
        XCTAssertGreaterThanOrEqual(StopSequence.budget.nanoseconds - Daemon.alertmanagerStopGrace.nanoseconds
                                    - Daemon.engineStopGrace.nanoseconds, Daemon.actionsStopGrace.nanoseconds,
                                    "an action under way still gets its whole grace")
    }
}
