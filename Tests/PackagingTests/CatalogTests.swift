import DockwardCore
import DockwardJournal
import Foundation
import Glibc
import XCTest

/// One entry of a journald message catalog: `-- <id>`, `Key: value` headers,
/// a blank line, the body.
struct CatalogEntry {
    var id: String
    var headers: [String: String]
    var body: String

    var text: String { headers.values.joined(separator: "\n") + "\n" + body }

    /// The `@FIELD@` substitutions used in headers and body.
    var substitutions: Set<String> {
        var out = Set<String>()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "@" else { i += 1; continue }
            var j = i + 1
            while j < scalars.count, CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_").contains(scalars[j]) {
                j += 1
            }
            if j < scalars.count, scalars[j] == "@", j > i + 1 {
                out.insert(String(String.UnicodeScalarView(scalars[(i + 1)..<j])))
                i = j + 1
            } else {
                i += 1
            }
        }
        return out
    }

    /// Parses a catalog the way journalctl --update-catalog does: `#` lines
    /// outside a body are comments; an entry runs to the next `-- ` line.
    static func parse(_ text: String) throws -> [CatalogEntry] {
        var entries: [CatalogEntry] = []
        var current: CatalogEntry?
        var inBody = false
        var bodyLines: [String] = []
        func finish() {
            if var c = current {
                while bodyLines.last?.isEmpty == true { bodyLines.removeLast() }
                c.body = bodyLines.joined(separator: "\n")
                entries.append(c)
            }
            current = nil
            bodyLines = []
            inBody = false
        }
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("-- ") {
                finish()
                current = CatalogEntry(id: String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), headers: [:], body: "")
                continue
            }
            guard current != nil else {
                if !line.isEmpty && !line.hasPrefix("#") {
                    throw NSError(domain: "catalog", code: 1, userInfo: [NSLocalizedDescriptionKey: "text outside an entry: \(line)"])
                }
                continue
            }
            if inBody {
                bodyLines.append(line)
            } else if line.isEmpty {
                inBody = true
            } else if let colon = line.firstIndex(of: ":") {
                current!.headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else {
                throw NSError(domain: "catalog", code: 2, userInfo: [NSLocalizedDescriptionKey: "bad header line: \(line)"])
            }
        }
        finish()
        return entries
    }
}

final class CatalogTests: XCTestCase {
    func loadCatalog() throws -> [CatalogEntry] {
        try CatalogEntry.parse(String(contentsOf: Packaging.catalogFile, encoding: .utf8))
    }

    func testCatalogHasAnEntryForEveryEntryKind() throws {
        let entries = try loadCatalog()
        let byID = Dictionary(grouping: entries, by: \.id)
        for kind in EntryKind.allCases {
            guard let found = byID[kind.messageID] else {
                XCTFail("packaging/dockward.catalog has no entry for \(kind.rawValue) (MESSAGE_ID \(kind.messageID))")
                continue
            }
            XCTAssertEqual(found.count, 1, "\(kind.rawValue): \(found.count) entries")
            let entry = found[0]
            XCTAssertFalse(entry.headers["Subject"]?.isEmpty ?? true, "\(kind.rawValue): no Subject")
            XCTAssertEqual(entry.headers["Defined-By"], "dockward", "\(kind.rawValue)")
            let support = entry.headers["Support"] ?? ""
            XCTAssertTrue(support.hasPrefix("https://") || support.hasPrefix("man:"), "\(kind.rawValue): Support '\(support)'")
            XCTAssertGreaterThan(entry.body.count, 80, "\(kind.rawValue): the body should explain the entry")
        }
    }

    func testCatalogHasNoUnknownOrMalformedIDs() throws {
        let known = Set(EntryKind.allCases.map(\.messageID))
        for entry in try loadCatalog() {
            XCTAssertTrue(entry.id.range(of: "^[0-9a-f]{32}$", options: .regularExpression) != nil,
                          "catalog id '\(entry.id)' is not 32 lowercase hex digits")
            XCTAssertTrue(known.contains(entry.id), "catalog id \(entry.id) belongs to no EntryKind")
        }
    }

    /// journalctl puts a missing field's *name* in the text, so the catalog
    /// may only name fields the entry can carry.
    func testCatalogSubstitutesOnlyFieldsTheEntryCarries() throws {
        let entries = Dictionary(uniqueKeysWithValues: try loadCatalog().map { ($0.id, $0) })
        for kind in EntryKind.allCases {
            guard let entry = entries[kind.messageID] else { continue }  // reported by the test above
            let allowed = Self.possibleFields(kind)
            for name in entry.substitutions.sorted() {
                XCTAssertTrue(allowed.contains(name), "\(kind.rawValue): the catalog uses @\(name)@, which it never carries")
            }
        }
    }

    /// Every field an entry of `kind` can carry: pids alerts are built by
    /// AlertText with every optional figure set; the others as SocketWatch
    /// and Daemon write them.
    static func possibleFields(_ kind: EntryKind) -> Set<String> {
        var fields: Set<String> = ["MESSAGE", "PRIORITY", "MESSAGE_ID", "SYSLOG_IDENTIFIER", "DOCKWARD_ALERT", "DOCKWARD_EVENT"]
        let container = ContainerRef(id: ContainerID(String(repeating: "ab", count: 32))!,
                                     metadata: ContainerMetadata(name: "web", image: "nginx"), cgroupPath: "/docker/x")
        let containerFields: Set<String> = ["CONTAINER_ID", "CONTAINER_ID_FULL", "CONTAINER_NAME", "IMAGE_NAME"]
        switch kind {
        case .pidsUnlimited, .pidsHigh, .pidsExhausted, .pidsForecast, .pidsRecovered, .hostPidsHigh, .hostPidsRecovered:
            let isHost = kind == .hostPidsHigh || kind == .hostPidsRecovered
            let finding = PidsFinding(kind: kind, priority: .warning, isReminder: true, current: 10, limit: 20,
                                      limitIsHost: true, refusedForks: 3, newlyRefused: 1, rate: 0.5,
                                      secondsToLimit: 20, ratio: 0.5)
            let entry = AlertText.entry(for: finding, container: isHost ? nil : container)
            fields.formUnion(entry.allFields.map(\.name))
        case .socketMount, .socketMountAllowed:
            fields.formUnion(containerFields)
            fields.formUnion(["SOCKET_PATH", "MOUNT_SOURCE", "MOUNT_DESTINATION", "MOUNT_RW", "EXPOSURE",
                              "CONTAINER_STATE", "EXPOSURE_COUNT", "ENGINE_EVENT_NANO"])
        case .socketMountUnresolved:
            fields.formUnion(containerFields)
            fields.formUnion(["MOUNT_SOURCE", "MOUNT_DESTINATION", "PATH_ERROR", "CONTAINER_STATE", "UNRESOLVED_COUNT",
                              "ENGINE_EVENT_NANO"])
        case .daemonStarted:
            fields.formUnion(["DOCKWARD_CONFIG", "CGROUP_LAYOUT", "DOCKWARD_STATE_FILE", "DOCKWARD_OPEN_EPISODES"])
        case .daemonStopped:
            break
        case .configReloaded:
            fields.formUnion(["CONFIG_FILE"])
        case .configRejected:
            fields.formUnion(["CONFIG_FILE", "CONFIG_LINE", "CONFIG_KEY"])
        case .engineLost:
            fields.formUnion(["DOCKER_SOCKET", "ENGINE_ERROR"])
        case .engineBack:
            fields.formUnion(["DOCKER_SOCKET", "OUTAGE_SECONDS"])
        }
        return fields
    }

    /// The catalog installed where journalctl looks, a real alert written
    /// through JournalSink, and `journalctl -x` showing the explanation with
    /// the entry's own values in it.
    func testJournalctlExplainsARealAlertWithTheCatalog() throws {
        try Packaging.requireTools("journalctl")
        try Packaging.require(FileManager.default.fileExists(atPath: "/run/systemd/journal/socket"),
                              "journald (/run/systemd/journal/socket; scripts/test-services.sh start)")
        try Packaging.requireRoot()
        let catalogDir = "/usr/lib/systemd/catalog"
        try Packaging.require(FileManager.default.fileExists(atPath: catalogDir), "\(catalogDir) (systemd installed)")

        // A name of its own, so a dockward.catalog from an installed package
        // is left alone; removed and the database rebuilt afterwards.
        let installed = "\(catalogDir)/dockward-packagingtest-\(getpid()).catalog"
        try? FileManager.default.removeItem(atPath: installed)
        try FileManager.default.copyItem(atPath: Packaging.catalogFile.path, toPath: installed)
        defer {
            try? FileManager.default.removeItem(atPath: installed)
            _ = try? Packaging.run("journalctl", ["--update-catalog"])
        }
        let update = try Packaging.run("journalctl", ["--update-catalog"])
        XCTAssertEqual(update.status, 0, update.output)
        let list = try Packaging.run("journalctl", ["--list-catalog"])
        for kind in EntryKind.allCases {
            XCTAssertTrue(list.stdout.contains(kind.messageID), "journalctl --list-catalog lacks \(kind.rawValue)")
        }

        let name = "dockward-pkgtest-\(UInt32.random(in: 0...UInt32.max))"
        let id = ContainerID((0..<64).map { _ in "0123456789abcdef".randomElement()! }.map(String.init).joined())!
        let finding = PidsFinding(kind: .pidsExhausted, priority: .crit, current: 64, limit: 64,
                                  refusedForks: 4711, newlyRefused: 4711, rate: 3)
        let container = ContainerRef(id: id, metadata: ContainerMetadata(name: name, image: "local/busybox:test"),
                                     cgroupPath: "/docker/\(id.full)")
        let entry = AlertText.entry(for: finding, container: container)
        XCTAssertEqual(entry.kind.messageID, EntryKind.pidsExhausted.messageID)
        XCTAssertTrue(JournalSink().write(entry), "journald refused the entry")

        var text = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            text = try Packaging.run("journalctl", ["-x", "-o", "short", "--no-pager", "--all", "CONTAINER_NAME=\(name)"]).stdout
            if text.contains("Subject:") { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertTrue(text.contains(entry.message), "the entry itself:\n\(text)")
        XCTAssertTrue(text.contains("Subject: Container \(name) hit its pids limit; forks are refused"), text)
        XCTAssertTrue(text.contains("Defined-By: dockward"), text)
        XCTAssertTrue(text.contains("refused 4711 fork()"), "PIDS_REJECTED substituted:\n\(text)")
        XCTAssertTrue(text.contains("docker update --pids-limit N \(id.short)"), "CONTAINER_ID substituted:\n\(text)")
        XCTAssertFalse(text.contains("@CONTAINER_NAME@") || text.contains("@PIDS_"), "unsubstituted fields:\n\(text)")
    }
}
