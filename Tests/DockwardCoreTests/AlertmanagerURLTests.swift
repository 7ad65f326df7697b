import DockwardCore
import XCTest

/// `AlertmanagerURL`, the one parser for `alertmanager.urls` entries (the
/// loader's messages for each refusal are in AlertmanagerConfigTests).
final class AlertmanagerURLTests: XCTestCase {
    func testParts() throws {
        let v6 = try AlertmanagerURL("https://[fd00::1]:9443")
        XCTAssertTrue(v6.isHTTPS)
        XCTAssertEqual(v6.host, "fd00::1")
        XCTAssertEqual(v6.port, 9443)
        XCTAssertEqual(v6.identity, "https://[fd00::1]:9443")
        let plain = try AlertmanagerURL("http://Alertmanager.Example/")
        XCTAssertFalse(plain.isHTTPS)
        XCTAssertNil(plain.port)
        XCTAssertEqual(plain.effectivePort, 80)
        XCTAssertEqual(plain.identity, "http://alertmanager.example:80")
        XCTAssertEqual(try AlertmanagerURL("https://am").effectivePort, 443)
        for (text, invalid) in [("HTTP://am", AlertmanagerURL.Invalid.scheme), ("am:9093", .scheme), ("http://", .host),
                                ("http://am:", .port), ("http://am:90a", .port), ("http://am:009093", .port),
                                ("http://u@am", .userInfo), ("http://am//", .path), ("http://am\t:1", .characters)] {
            XCTAssertThrowsError(try AlertmanagerURL(text), text) { XCTAssertEqual($0 as? AlertmanagerURL.Invalid, invalid, text) }
        }
    }
}
