import DockwardCore
import Foundation
import XCTest

/// The man pages the package installs, written by the binary itself
/// (`dockward manual`): each renders without a warning, and names every
/// config key and every command, so neither can drift from the code.
final class ManualPageTests: XCTestCase {
    func page(_ name: String) throws -> String {
        try Packaging.requireBinary()
        var arguments = ["manual", name, "--date", "2026-01-01"]
        if name == "dockward.8" {
            // As the package build does: the parser's account, then the page.
            let dump = try Packaging.run(Packaging.binary.path, ["--experimental-dump-help"])
            XCTAssertEqual(dump.status, 0, dump.output)
            let dir = try Packaging.makeTempDir("toolinfo")
            let path = dir.appendingPathComponent("dockward.json").path
            try dump.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            arguments += ["--tool-info", path]
        }
        let result = try Packaging.run(Packaging.binary.path, arguments)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.hasPrefix(".TH "), result.stdout.prefix(200).description)
        return result.stdout
    }

    /// groff with every warning on (-ww) prints nothing; man -l renders it.
    func assertRendersCleanly(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Packaging.requireTools("groff", "man")
        let dir = try Packaging.makeTempDir("man")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let groff = try Packaging.run("groff", ["-man", "-ww", "-z", "-Tutf8", path])
        XCTAssertEqual(groff.status, 0, groff.output, file: file, line: line)
        XCTAssertEqual(groff.stderr, "", "groff warns on \(name)", file: file, line: line)
        let man = try Packaging.run("man", ["--warnings", "-l", path], environment: ["MANPAGER": "cat", "MANWIDTH": "80"])
        XCTAssertEqual(man.status, 0, man.output, file: file, line: line)
        XCTAssertEqual(man.stderr, "", "man -l warns on \(name)", file: file, line: line)
        XCTAssertTrue(man.stdout.contains("NAME"), man.stdout.prefix(300).description, file: file, line: line)
    }

    func testConfigPageNamesEveryKeyWithTypeDefaultAndReload() throws {
        let text = try page("dockward.yml.5")
        try assertRendersCleanly(text, "dockward.yml.5")
        let keys = ConfigTable.keys
        XCTAssertGreaterThan(keys.count, 40)
        for key in keys {
            XCTAssertTrue(text.contains("\n.B \(Roff.escape(key))\n"), "dockward.yml(5) has no entry for \(key)")
        }
        let entries = text.components(separatedBy: "\n.TP\n").dropFirst()
        let keyEntries = entries.filter { entry in keys.contains { entry.hasPrefix(".B \(Roff.escape($0))\n") } }
        XCTAssertEqual(keyEntries.count, keys.count)
        for entry in keyEntries {
            XCTAssertTrue(entry.contains("\nType: ") && entry.contains("\nDefault: ") && entry.contains("\nReload: "),
                          "an entry without its type, default or reload line: \(entry.prefix(300))")
        }
        XCTAssertTrue(text.contains("Type: a duration from 100ms to 1m."), "pids.poll_interval's range")
    }

    func testCommandPageNamesEveryCommandAndOption() throws {
        let text = try page("dockward.8")
        try assertRendersCleanly(text, "dockward.8")
        let dump = try Packaging.run(Packaging.binary.path, ["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0, dump.output)
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var commands: [String] = []
        var longOptions: [String] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for arg in command["arguments"] as? [[String: Any]] ?? [] where arg["shouldDisplay"] as? Bool ?? true {
                for name in arg["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                    longOptions.append(name["name"] as? String ?? "")
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] where sub["shouldDisplay"] as? Bool ?? true {
                let p = path + [sub["commandName"] as? String ?? ""]
                commands.append(p.joined(separator: " "))
                walk(sub, p)
            }
        }
        walk(try XCTUnwrap(info["command"] as? [String: Any]), ["dockward"])
        for known in ["run", "check-config", "version", "alerts", "audit", "check-compose"] {
            XCTAssertTrue(commands.contains("dockward \(known)"), "dockward \(known) not among \(commands)")
        }
        XCTAssertFalse(commands.contains("dockward manual"), "the hidden manual command is not a user's")
        for command in commands {
            XCTAssertTrue(text.contains(".SS \"\(Roff.escape(command))\""), "dockward(8) has no section for \(command)")
        }
        for option in Set(longOptions) where option != "help" && option != "version" {
            XCTAssertTrue(text.contains("\\fB\\-\\-\(Roff.escape(option))\\fR"),
                          "dockward(8) does not name --\(option)")
        }
    }
}
