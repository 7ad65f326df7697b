import Foundation
import XCTest

/// packaging/prometheus/ beyond the rules: the scrape config and the
/// dockward.service drop-in that opens the network for the endpoint.
final class PackagingChecksTests: XCTestCase {
    static let dir = Tool.repoRoot.appendingPathComponent("packaging/prometheus").path

    func testScrapeConfigIsValid() throws {
        let promtool = try Tool.require("promtool", package: "prometheus")
        let result = try Tool.run(promtool, ["check", "config", Self.dir + "/prometheus-scrape.yml"])
        XCTAssertEqual(result.status, 0, result.output)
    }

    /// The drop-in loads cleanly on top of dockward.service and does what it
    /// says: network namespace off, Internet sockets allowed, peers limited
    /// to loopback.
    func testMetricsDropInVerifies() throws {
        let analyze = try Tool.require("systemd-analyze", package: "systemd")
        let unitDir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-units-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: unitDir) }
        let dropInDir = unitDir.appendingPathComponent("dockward.service.d")
        try FileManager.default.createDirectory(at: dropInDir, withIntermediateDirectories: true)
        // The binary is not installed here; verify checks ExecStart= exists.
        let unit = try String(contentsOfFile: Tool.repoRoot.appendingPathComponent("packaging/dockward.service").path, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("ExecStart=") ? "ExecStart=/bin/true" : String($0) }
            .joined(separator: "\n")
        try unit.write(to: unitDir.appendingPathComponent("dockward.service"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Self.dir + "/dockward.service.d/metrics.conf",
                                         toPath: dropInDir.appendingPathComponent("metrics.conf").path)
        let service = unitDir.appendingPathComponent("dockward.service").path
        let verify = try Tool.run("/usr/bin/env", ["SYSTEMD_UNIT_PATH=\(unitDir.path):", analyze, "verify", service])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertFalse(verify.output.contains("metrics.conf"), "the drop-in has problems:\n\(verify.output)")

        let security = try Tool.run("/usr/bin/env", ["SYSTEMD_UNIT_PATH=\(unitDir.path):", analyze, "security",
                                                     "--offline=true", "--no-pager", service])
        let lines = security.output.split(separator: "\n")
        func line(_ key: String) -> String { lines.first { $0.contains(key) }.map(String.init) ?? "" }
        XCTAssertTrue(line("PrivateNetwork=").contains("Service has access to the host's network"), security.output)
        XCTAssertTrue(line("IPAddressDeny=").contains("only localhost"), security.output)
        XCTAssertTrue(line("RestrictAddressFamilies=~AF_PACKET").contains("cannot"), security.output)
    }
}
