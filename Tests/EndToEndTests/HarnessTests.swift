import Foundation
import XCTest

/// The harness's own promises: a journal it cannot read is an error, never
/// an empty answer that every "no entry" check would take as a pass.
final class HarnessTests: XCTestCase {
    override func setUpWithError() throws { try E2E.requireServices() }

    func testAJournalReadThatFailsThrows() {
        // journalctl refuses a match whose field name has a space.
        XCTAssertThrowsError(try E2E.journalEntries(["BAD FIELD": "x"], sinceMicros: 0)) { error in
            XCTAssertTrue("\(error)".contains("journalctl"), "\(error)")
        }
        XCTAssertThrowsError(try E2E.waitForEntries(["BAD FIELD": "x"], sinceMicros: 0, timeout: 1))
    }

    func testRequireEntriesThrowsWhenNoneArrive() {
        let name = E2E.uniqueName("none")
        XCTAssertThrowsError(try E2E.requireEntries(["CONTAINER_NAME": name], sinceMicros: E2E.nowMicros(), timeout: 1,
                                                    context: "context")) { error in
            XCTAssertTrue("\(error)".contains("0 of 1 journal entries"), "\(error)")
        }
    }

    /// A daemon that will not stop on SIGTERM is noticed (a failure in the
    /// tests' own stop) and killed, not waited for forever.
    func testStopKillsADaemonThatIgnoresSIGTERM() throws {
        let daemon = try DaemonProcess(config: "pids:\n  poll_interval: 250ms\n")
        try daemon.waitUntilStarted()
        XCTAssertTrue(daemon.isRunning)
        daemon.signal(SIGSTOP)  // a stopped process cannot act on SIGTERM
        XCTAssertFalse(daemon.stop(timeout: 1, failOnHang: false), "SIGTERM was not enough")
        XCTAssertFalse(daemon.isRunning, "killed after the deadline")
        XCTAssertEqual(daemon.exitStatus, 128 + SIGKILL)
    }
}
