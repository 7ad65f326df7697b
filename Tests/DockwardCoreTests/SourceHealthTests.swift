import DockwardCore
import XCTest

final class SourceHealthTests: XCTestCase {
    func testLabelsAreTheMetricsSourceNames() {
        XCTAssertEqual(HealthSource.allCases.map(\.rawValue), ["kmsg", "journal", "inotify", "engine", "state_file", "alertmanager"])
        XCTAssertEqual(RefusalSource.allCases.map(\.rawValue), ["kmsg", "journal", "poll"])
    }

    func testEverySourceIsUpUntilMarkedDown() {
        var health = SourceHealth()
        XCTAssertTrue(HealthSource.allCases.allSatisfy(health.isUp))
        XCTAssertEqual(health.refusalSource, .kmsg)
        health.set(.inotify, up: false)
        XCTAssertFalse(health.isUp(.inotify))
        XCTAssertTrue(health.isUp(.kmsg))
        health.set(.inotify, up: true)
        XCTAssertEqual(health, SourceHealth())
    }

    func testStatusNamesTheSourcesInUseWhenAllIsWell() {
        XCTAssertEqual(SourceHealth().statusText, "sources: kmsg up, inotify up, state_file up")
        // The engine has its own words on the STATUS line already.
        XCTAssertEqual(SourceHealth(down: [.engine]).statusText, "sources: kmsg up, inotify up, state_file up")
    }

    func testStatusSaysWhereRefusalsComeFromAndWhy() {
        XCTAssertEqual(SourceHealth(down: [.kmsg], refusalSource: .journal).statusText,
                       "refusals via journal (kmsg unreadable)")
        XCTAssertEqual(SourceHealth(down: [.kmsg, .journal], refusalSource: .poll).statusText,
                       "refusals via poll (kmsg and journal unreadable)")
        // No kernel lines asked for at all: the poll, with nothing failed.
        XCTAssertEqual(SourceHealth(refusalSource: .poll).statusText, "refusals via poll")
    }

    func testStatusListsEveryProblemAndOnlyProblems() {
        let health = SourceHealth(down: [.kmsg, .inotify, .stateFile, .engine], refusalSource: .journal,
                                  openFileBudgetExceeded: true)
        XCTAssertEqual(health.statusText,
                       "refusals via journal (kmsg unreadable), inotify refused, state_file unwritable, open-file budget exceeded")
        XCTAssertEqual(SourceHealth(openFileBudgetExceeded: true).statusText, "open-file budget exceeded")
        // A journal that failed while kmsg carries the refusals is still said: its series reads 0.
        XCTAssertEqual(SourceHealth(down: [.journal]).statusText, "journal unreadable")
    }
}
