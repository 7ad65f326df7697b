import DockwardCore
import Foundation
import XCTest

/// The one JSON writer: what it escapes, and that what it writes reads back.
final class JSONTests: XCTestCase {
    func testHostileTextStaysOneLineAndReadsBack() throws {
        let hostile = "evil\"\\\n\r\t\u{1b}[2J\u{7f}\u{2028}é/"
        let line = JSON.object([(key: "name", value: .string(hostile)), (key: "n", value: 3), (key: "ok", value: true),
                                (key: "none", value: .null), (key: "list", value: ["a", 1])]).text()
        XCTAssertFalse(line.contains("\n"))
        XCTAssertFalse(line.contains("\u{1b}"))
        XCTAssertFalse(line.contains("\u{2028}"))
        let back = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(back["name"] as? String, hostile)
        XCTAssertEqual(back["n"] as? Int, 3)
        XCTAssertEqual(line.prefix(8), "{\"name\":", "keys in the order given")
    }

    func testSortedAndPretty() {
        let value: JSON = ["b": ["y": 1, "x": []], "a": [:]]
        XCTAssertEqual(value.text(sortedKeys: true), #"{"a":{},"b":{"x":[],"y":1}}"#)
        XCTAssertEqual(value.text(pretty: true, sortedKeys: true), """
            {
              "a": {},
              "b": {
                "x": [],
                "y": 1
              }
            }
            """)
    }
}
