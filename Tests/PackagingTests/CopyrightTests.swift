import DockwardTestSupport
import Foundation
import XCTest

/// packaging/debian/copyright (the package's /usr/share/doc/dockward/copyright)
/// in the machine-readable format, with a stanza for every Swift package
/// linked in: a package added to Package.resolved without one fails here.
final class CopyrightTests: XCTestCase {
    func text(_ path: String) throws -> String {
        try String(contentsOf: TestEnvironment.repoRoot.appendingPathComponent(path), encoding: .utf8)
    }

    /// Paragraphs, each its fields (continuation lines joined with "\n").
    func paragraphs(_ text: String) -> [[String: String]] {
        text.components(separatedBy: "\n\n").map { block in
            var fields: [String: String] = [:]
            var last: String?
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix(" "), let key = last {
                    fields[key, default: ""] += "\n" + line.dropFirst()
                } else if let colon = line.firstIndex(of: ":") {
                    let key = String(line[..<colon])
                    fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    last = key
                }
            }
            return fields
        }.filter { !$0.isEmpty }
    }

    func testEveryResolvedPackageHasAStanza() throws {
        let copyright = try text("packaging/debian/copyright")
        let resolved = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try text("Package.resolved").utf8)) as? [String: Any])
        let pins = try XCTUnwrap(resolved["pins"] as? [[String: Any]])
        XCTAssertGreaterThan(pins.count, 10)
        let stanzas = paragraphs(copyright).filter { $0["Files"] != nil }
        for pin in pins {
            let identity = try XCTUnwrap(pin["identity"] as? String)
            let location = try XCTUnwrap(pin["location"] as? String)
            let stanza = stanzas.first { ($0["Comment"] ?? "").hasPrefix("\(identity), \(location)") }
            XCTAssertNotNil(stanza, "packaging/debian/copyright: no stanza with Comment: \(identity), \(location)")
            guard let stanza else { continue }
            let repoName = String(location.split(separator: "/").last ?? "").replacingOccurrences(of: ".git", with: "")
            XCTAssertEqual(stanza["Files"]?.lowercased(), ".build/checkouts/\(repoName.lowercased())/*", "\(identity)'s Files:")
            XCTAssertFalse((stanza["Copyright"] ?? "").isEmpty, "\(identity): no Copyright:")
            XCTAssertFalse((stanza["License"] ?? "").isEmpty, "\(identity): no License:")
        }
    }

    func testFormatAndEveryLicenseHasItsText() throws {
        let all = paragraphs(try text("packaging/debian/copyright"))
        XCTAssertEqual(all.first?["Format"], "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
        let used = Set(all.compactMap { $0["Files"] != nil ? $0["License"] : nil })
        let texts = Dictionary(all.filter { $0["Files"] == nil && $0["License"] != nil }.map {
            let lines = $0["License"]!.split(separator: "\n", maxSplits: 1)
            return (String(lines[0]), lines.count > 1 ? String(lines[1]) : "")
        }, uniquingKeysWith: { a, _ in a })
        for license in used {
            XCTAssertFalse((texts[license] ?? "").isEmpty, "License: \(license) is used but has no stand-alone text")
        }
        // What is compiled in beyond the Swift packages themselves.
        for embedded in ["CNIOExtrasZlib", "CNIOLLHTTP", "CNIOBoringSSL", "CCryptoBoringSSL"] {
            XCTAssertTrue(all.contains { ($0["Files"] ?? "").contains(embedded) }, "no stanza for \(embedded)")
        }
    }

    /// The changelog's first entry is the code's version (build-deb.sh refuses otherwise).
    func testChangelogNamesTheCodesVersion() throws {
        let changelog = try text("packaging/debian/changelog")
        let version = try text("Sources/DockwardCore/Version.swift")
            .components(separatedBy: "static let current = \"").dropFirst().first?.prefix { $0 != "\"" }
        XCTAssertTrue(changelog.hasPrefix("dockward (\(try XCTUnwrap(version))) "), changelog.prefix(80).description)
        XCTAssertTrue(changelog.contains("\n -- "), "no trailer line")
    }
}
