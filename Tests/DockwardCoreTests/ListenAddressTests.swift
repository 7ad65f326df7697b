import DockwardCore
import XCTest

/// `metrics.listen`: one parser for the config loader and the metrics server.
final class ListenAddressTests: XCTestCase {
    func testParsesHostPortAndBracketedIPv6() {
        XCTAssertEqual(ListenAddress("127.0.0.1:9327"), ListenAddress(host: "127.0.0.1", port: 9327))
        XCTAssertEqual(ListenAddress("[::1]:9327"), ListenAddress(host: "::1", port: 9327))
        XCTAssertEqual(ListenAddress("localhost:1"), ListenAddress(host: "localhost", port: 1))
        XCTAssertEqual(ListenAddress("0.0.0.0:65535"), ListenAddress(host: "0.0.0.0", port: 65535))
        XCTAssertEqual(ListenAddress("[::1]:9327")?.description, "[::1]:9327")
        XCTAssertEqual(ListenAddress("localhost:9327")?.description, "localhost:9327")
    }

    func testRefusesWhatNoOperatorMeans() {
        for bad in ["", "9327", ":9327", "::1:9327", "host:", "host:99999", "host:65536", "host:-1", "[::1]9327",
                    "[::1:9327", "h:+1", "[]:9327", "my host:9327", "a/b:9327", "host:0", "[::1]:0", "host:00000",
                    "host:0009327"] {
            XCTAssertNil(ListenAddress(bad), bad)
        }
    }

    /// Port 0 would bind a random port Prometheus cannot find: the config
    /// refuses it with the file, line and key.
    func testConfigRefusesPortZeroNamingFileLineAndKey() {
        for text in ["127.0.0.1:0", "[::1]:9327x", "9327"] {
            do {
                _ = try ConfigLoader.parse("metrics:\n  listen: \"\(text)\"\n", file: "test.yml")
                XCTFail("\(text) must be refused")
            } catch {
                XCTAssertEqual(error.issues.count, 1, "\(error)")
                let issue = error.issues[0]
                XCTAssertEqual(issue.file, "test.yml")
                XCTAssertEqual(issue.line, 2)
                XCTAssertEqual(issue.key, "metrics.listen")
                XCTAssertTrue("\(error)".contains("metrics.listen"), "\(error)")
                XCTAssertTrue("\(error)".contains(text), "\(error)")
            }
        }
        XCTAssertEqual(try ConfigLoader.parse("metrics:\n  listen: \"[::1]:9327\"\n", file: "t.yml").metricsListen, "[::1]:9327")
        XCTAssertNil(try ConfigLoader.parse("metrics:\n  listen: off\n", file: "t.yml").metricsListen)
    }
}
