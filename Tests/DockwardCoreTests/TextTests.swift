import DockwardCore
import XCTest

/// The few text helpers dockward keeps instead of Foundation's full module.
final class TextTests: XCTestCase {
    func testTrimmingBlanksKeepsNewlinesAndTrimmingWhitespaceDoesNot() {
        XCTAssertEqual(" \t tcp://0.0.0.0:2375 \u{00A0}".trimmingBlanks(), "tcp://0.0.0.0:2375")
        XCTAssertEqual("\n value \n".trimmingBlanks(), "\n value \n")
        XCTAssertEqual("\n value \r\n".trimmingWhitespace(), "value")
        XCTAssertEqual("   ".trimmingBlanks(), "")
        XCTAssertEqual("a b".trimmingWhitespace(), "a b")
    }

    func testPercentDecoding() {
        XCTAssertEqual("al%40ice".percentDecoded, "al@ice")
        XCTAssertEqual("p%C3%A4ss".percentDecoded, "päss")
        XCTAssertEqual("plain".percentDecoded, "plain")
        XCTAssertNil("cut%4".percentDecoded)
        XCTAssertNil("bad%zz".percentDecoded)
        XCTAssertNil("%FF".percentDecoded)
    }

    func testZeroPadding() {
        XCTAssertEqual(7.zeroPadded(3), "007")
        XCTAssertEqual(2026.zeroPadded(4), "2026")
        XCTAssertEqual(12345.zeroPadded(2), "12345")
        XCTAssertEqual((-5).zeroPadded(3), "-005")
    }

    func testRFC3339IsUTCWithMilliseconds() {
        XCTAssertEqual(AlertmanagerAlert.rfc3339(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(AlertmanagerAlert.rfc3339(1_796_274_861_123_000_000), "2026-12-03T05:14:21.123Z")
    }
}
