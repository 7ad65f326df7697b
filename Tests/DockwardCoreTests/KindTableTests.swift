import DockwardCore
import XCTest

/// The kind table (`EntryKind.facts`): one row per kind, and what the rows
/// promise each other. The catalog, the Prometheus rules and the README are
/// held to it by PackagingTests and DockwardMetricsTests.
final class KindTableTests: XCTestCase {
    func testEveryKindHasADistinctMessageID() {
        let ids = EntryKind.allCases.map(\.messageID)
        XCTAssertEqual(Set(ids).count, ids.count)
        for id in ids {
            XCTAssertNotNil(id.range(of: "^[0-9a-f]{32}$", options: .regularExpression), id)
        }
    }

    /// An alert opens an episode with an alertname; nothing else does, but
    /// engine-lost (the daemon's own, yet an outage someone must hear of).
    func testAlertsAndOnlyAlertsHaveAnAlertname() {
        for kind in EntryKind.allCases {
            let named = kind.facts.alertName != nil
            XCTAssertEqual(named, kind.role == .alert || kind == .engineLost, "\(kind)")
            if let name = kind.facts.alertName {
                XCTAssertNotNil(name.range(of: "^Dockward[A-Z][A-Za-z]+$", options: .regularExpression), name)
            }
        }
        let names = EntryKind.allCases.compactMap(\.facts.alertName)
        XCTAssertEqual(Set(names).count, names.count, "alertnames are distinct")
    }

    func testEveryKindSaysWhatToDo() {
        for kind in EntryKind.allCases {
            XCTAssertFalse(kind.facts.advice.isEmpty, "\(kind)")
            XCTAssertTrue(kind.facts.advice.hasSuffix("."), "\(kind): one sentence")
        }
    }

    /// The journal tags every role but the daemon's events as an alert, so
    /// `dockward alerts` lists notices, recoveries and actions.
    func testTheJournalTagFollowsTheRole() {
        for kind in EntryKind.allCases {
            XCTAssertEqual(kind.journalTag, kind.role == .event ? "DOCKWARD_EVENT" : "DOCKWARD_ALERT", "\(kind)")
        }
        XCTAssertEqual(EntryKind.allCases.filter { $0.role == .action }.map(\.rawValue).sorted(),
                       ActionReport.Result.allCases.map(\.kind.rawValue).sorted())
    }

    func testPriorityRulesReadAsTheREADMESaysThem() {
        XCTAssertEqual(EntryKind.pidsHigh.facts.priority.text, "warning / err")
        XCTAssertEqual(EntryKind.socketMount.facts.priority.text, "crit")
        XCTAssertEqual(EntryKind.journalReplayed.facts.priority.text, "notice / warning")
    }
}
