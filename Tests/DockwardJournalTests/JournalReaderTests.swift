import DockwardCore
@testable import DockwardJournal
import Foundation
import XCTest

/// Real entries written with JournalSink to the running journald, read back
/// through JournalReader (libsystemd's sd_journal API).
final class JournalReaderTests: XCTestCase {
    override func setUpWithError() throws {
        try JT.requireJournald()
    }

    func testFiltersByContainerNameShortIDAndFullID() throws {
        let a = JT.container("a"), b = JT.container("b")
        JT.write(.pidsHigh, .warning, a)
        JT.write(.pidsExhausted, .crit, a)
        JT.write(.pidsHigh, .warning, b)
        let name = a.metadata!.name
        let byName = try JT.waitFor(AlertFilter(container: name), count: 2)
        XCTAssertEqual(byName.map(\.kind), ["pids-high", "pids-exhausted"])
        XCTAssertTrue(byName.allSatisfy { $0.containerName == name && $0.containerID == a.id.short })
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: a.id.short)).count, 2)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: a.id.full)).count, 2)
        let other = try JT.waitFor(AlertFilter(container: b.metadata!.name), count: 1)
        XCTAssertEqual(other.first?.containerName, b.metadata!.name)
    }

    /// libsystemd does the filtering: the entries it hands over are exactly
    /// the matching ones (the client-side check is only a backstop).
    func testMatchesAreAppliedInsideLibsystemd() throws {
        let c = JT.container("server")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c)
        JT.write(.pidsExhausted, .crit, c)
        JT.write(.daemonStarted, .info, c)
        try JT.waitFor(AlertFilter(container: name, includeEvents: true), count: 3)
        for (filter, expected) in [
            (AlertFilter(container: name, includeEvents: true), 3),
            (AlertFilter(container: name), 2),
            (AlertFilter(container: c.id.short, kind: "pids-exhausted"), 1),
            (AlertFilter(container: c.id.full, priority: .err), 1),
            (AlertFilter(container: name, kind: "daemon-started"), 1),
            (AlertFilter(container: name, priority: .emerg), 0),
        ] {
            let reader = try JournalReader()
            XCTAssertEqual(try reader.read(filter: filter).count, expected, "\(filter)")
            XCTAssertEqual(reader.entriesScanned, expected, "libsystemd returned only matches for \(filter)")
        }
    }

    func testFiltersByKind() throws {
        let c = JT.container("kind")
        JT.write(.pidsHigh, .warning, c)
        JT.write(.pidsExhausted, .crit, c)
        JT.write(.pidsForecast, .err, c)
        let name = c.metadata!.name
        try JT.waitFor(AlertFilter(container: name), count: 3)
        let exhausted = try JournalReader().read(filter: AlertFilter(container: name, kind: "pids-exhausted"))
        XCTAssertEqual(exhausted.map(\.kind), ["pids-exhausted"])
        XCTAssertEqual(exhausted.first?.priority, .crit)
        XCTAssertEqual(exhausted.first?.fields["MESSAGE_ID"], EntryKind.pidsExhausted.messageID)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: name, kind: "pids-recovered")).count, 0)
    }

    func testFiltersByPriorityIncludesMoreSevere() throws {
        let c = JT.container("prio")
        JT.write(.pidsExhausted, .crit, c)
        JT.write(.pidsForecast, .err, c)
        JT.write(.pidsHigh, .warning, c)
        JT.write(.pidsRecovered, .notice, c)
        let name = c.metadata!.name
        try JT.waitFor(AlertFilter(container: name), count: 4)
        func kinds(_ p: Priority) throws -> [String] {
            try JournalReader().read(filter: AlertFilter(container: name, priority: p)).map(\.kind)
        }
        XCTAssertEqual(try kinds(.err), ["pids-exhausted", "pids-forecast"])
        XCTAssertEqual(try kinds(.warning), ["pids-exhausted", "pids-forecast", "pids-high"])
        XCTAssertEqual(try kinds(.debug).count, 4)
        XCTAssertEqual(try kinds(.emerg), [])
        let notice = try JournalReader().read(filter: AlertFilter(container: name, priority: .notice))
        XCTAssertEqual(notice.map(\.priority), [.crit, .err, .warning, .notice])
    }

    func testSinceExcludesEntriesWrittenBefore() throws {
        let c = JT.container("since")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c, message: "before")
        let first = try JT.waitFor(AlertFilter(container: name), count: 1)
        let cut = first[0].realtime + 1
        usleep(5_000)
        JT.write(.pidsHigh, .err, c, message: "after")
        try JT.waitFor(AlertFilter(container: name), count: 2)
        let since = try JournalReader().read(filter: AlertFilter(since: cut, container: name))
        XCTAssertEqual(since.map(\.message), ["after"])
        // The same cut given as --since text (ISO 8601, µs) parses to the same instant.
        let parsed = try SinceParser.parse(AlertOutput.isoTime(cut))
        XCTAssertEqual(parsed, cut)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(since: parsed, container: name)).map(\.message), ["after"])
        // A since in the future matches nothing; one before both matches both.
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(since: JournalReader.nowMicros() + 60_000_000, container: name)).count, 0)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(since: try SinceParser.parse("10m"), container: name)).count, 2)
    }

    func testLifecycleEventsOnlyWithAllOrTheirKind() throws {
        let c = JT.container("events")
        let name = c.metadata!.name
        JT.write(.daemonStarted, .info, c, message: "started")
        JT.write(.pidsUnlimited, .warning, c, message: "alert")
        try JT.waitFor(AlertFilter(container: name, includeEvents: true), count: 2)
        let alertsOnly = try JournalReader().read(filter: AlertFilter(container: name))
        XCTAssertEqual(alertsOnly.map(\.message), ["alert"])
        XCTAssertTrue(alertsOnly[0].isAlert)
        let all = try JournalReader().read(filter: AlertFilter(container: name, includeEvents: true))
        XCTAssertEqual(all.map(\.kind), ["daemon-started", "pids-unlimited"])
        XCTAssertFalse(all[0].isAlert)
        let byKind = try JournalReader().read(filter: AlertFilter(container: name, kind: "daemon-started"))
        XCTAssertEqual(byKind.map(\.message), ["started"])
    }

    func testJSONShapeParsesBack() throws {
        let c = JT.container("json")
        let name = c.metadata!.name
        JT.write(.pidsExhausted, .crit, c, message: "Container \(name) hit \"its\" limit\\",
                 fields: [("PIDS_CURRENT", "50"), ("PIDS_MAX", "50"), ("PIDS_REJECTED", "7")])
        let record = try JT.waitFor(AlertFilter(container: name), count: 1)[0]
        let line = AlertOutput.json(record)
        XCTAssertFalse(line.contains("\n"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(Set(obj.keys), ["time", "realtime_usec", "priority", "type", "kind", "container", "container_id", "message", "fields"])
        XCTAssertEqual(obj["priority"] as? String, "crit")
        XCTAssertEqual(obj["type"] as? String, "alert")
        XCTAssertEqual(obj["kind"] as? String, "pids-exhausted")
        XCTAssertEqual(obj["container"] as? String, name)
        XCTAssertEqual(obj["container_id"] as? String, c.id.short)
        XCTAssertEqual(obj["message"] as? String, "Container \(name) hit \"its\" limit\\")
        XCTAssertEqual((obj["realtime_usec"] as? NSNumber)?.uint64Value, record.realtime)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let time = try XCTUnwrap(iso.date(from: obj["time"] as? String ?? ""), "time is ISO 8601: \(obj["time"] ?? "nil")")
        XCTAssertEqual(time.timeIntervalSince1970, Double(record.realtime) / 1e6, accuracy: 0.001)
        let fields = try XCTUnwrap(obj["fields"] as? [String: String])
        XCTAssertEqual(fields["PIDS_CURRENT"], "50")
        XCTAssertEqual(fields["PIDS_REJECTED"], "7")
        XCTAssertEqual(fields["IMAGE_NAME"], "local/busybox:test")
        XCTAssertEqual(fields["CONTAINER_ID_FULL"], c.id.full)
        XCTAssertEqual(fields["CGROUP_PATH"], "/sys/fs/cgroup/docker/test")
        XCTAssertEqual(fields["MESSAGE_ID"], EntryKind.pidsExhausted.messageID)
        XCTAssertNil(fields["MESSAGE"], "promoted keys are not repeated in fields")
        XCTAssertNil(fields["SYSLOG_IDENTIFIER"], "only allow-listed fields are read")
        XCTAssertNil(fields["_PID"], "only allow-listed fields are read")

        // A host alert has null container keys.
        let host = AlertOutput.json(AlertRecord(realtime: 1, priority: .warning, kind: "host-pids-high", message: "m"))
        let hostObj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(host.utf8)) as? [String: Any])
        XCTAssertTrue(hostObj["container"] is NSNull)
        XCTAssertTrue(hostObj["container_id"] is NSNull)
        XCTAssertEqual(hostObj["time"] as? String, "1970-01-01T00:00:00.000001Z")
    }

    func testSummaryCountsWorstPriorityFirstThenCount() throws {
        let a = JT.container("sum-a"), b = JT.container("sum-b")
        let start = JournalReader.nowMicros()
        JT.write(.pidsHigh, .warning, a)
        JT.write(.pidsHigh, .warning, a)
        JT.write(.pidsHigh, .err, a)          // escalation: the group's worst is err
        JT.write(.pidsForecast, .err, a)
        JT.write(.pidsForecast, .err, a)
        JT.write(.pidsExhausted, .crit, b)
        JT.write(.pidsHigh, .warning, b)
        let an = a.metadata!.name, bn = b.metadata!.name
        try JT.waitFor(AlertFilter(container: an), count: 5)
        try JT.waitFor(AlertFilter(container: bn), count: 2)
        var summary = AlertSummary()
        try JournalReader().forEach(filter: AlertFilter(since: start - 1_000_000)) { r in
            if r.containerName == an || r.containerName == bn { summary.add(r) }
        }
        XCTAssertEqual(summary.total, 7)
        let rows = summary.rows
        XCTAssertEqual(rows.map { "\($0.container ?? "-") \($0.kind) \($0.worst.name) \($0.count)" }, [
            "\(bn) pids-exhausted crit 1",
            "\(an) pids-high err 3",
            "\(an) pids-forecast err 2",
            "\(bn) pids-high warning 1",
        ])
        XCTAssertTrue(rows.allSatisfy { $0.first <= $0.last && $0.first >= start - 1_000_000 })
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(AlertOutput.summaryJSON(rows[1]).utf8)) as? [String: Any])
        XCTAssertEqual(obj["count"] as? Int, 3)
        XCTAssertEqual(obj["priority"] as? String, "err")
        XCTAssertEqual(obj["container"] as? String, an)
        XCTAssertEqual(obj["kind"] as? String, "pids-high")
        XCTAssertTrue(AlertOutput.summaryRow(rows[0]).hasPrefix("crit          1  \(AlertOutput.fit(bn, 24))"))
    }

    /// A container name with a newline and "PRIORITY=0" in it, written through
    /// JournalSink, comes back as one CONTAINER_NAME value: no forged field,
    /// the entry keeps its real priority.
    func testHostileContainerNameComesBackAsOneFieldValue() throws {
        let hostile = JT.uniqueName("evil") + "\nPRIORITY=0\nDOCKWARD_ALERT=pids-exhausted"
        let c = JT.container(name: hostile)
        JT.write(.pidsUnlimited, .warning, c, message: "hostile")
        let records = try JT.waitFor(AlertFilter(container: c.id.short), count: 1)
        let r = try XCTUnwrap(records.first)
        XCTAssertEqual(r.containerName, hostile)
        XCTAssertEqual(r.fields["CONTAINER_NAME"], hostile)
        XCTAssertEqual(r.priority, .warning)
        XCTAssertEqual(r.fields["PRIORITY"], "4")
        XCTAssertEqual(r.kind, "pids-unlimited")
        // Matching by the whole hostile value works; an emerg filter does not see it.
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: hostile)).count, 1)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: c.id.short, priority: .emerg)).count, 0)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(container: c.id.short, kind: "pids-exhausted")).count, 0)
        // Output stays one line.
        XCTAssertFalse(AlertOutput.tableRow(r, messageWidth: 100).contains("\n"))
        let json = AlertOutput.json(r)
        XCTAssertFalse(json.contains("\n"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["container"] as? String, hostile)
    }

    func testReadsJournalFilesFromADirectory() throws {
        let c = JT.container("dir")
        let name = c.metadata!.name
        JT.write(.pidsForecast, .err, c)
        try JT.waitFor(AlertFilter(container: name), count: 1)
        let dir = try XCTUnwrap(JT.journaldDirectory(), "journald's files are in /var/log/journal or /run/log/journal")
        let records = try JT.waitFor(AlertFilter(container: name), count: 1, directory: dir)
        XCTAssertEqual(records.first?.kind, "pids-forecast")
    }

    func testUnopenableJournalsThrowClearErrors() throws {
        XCTAssertThrowsError(try JournalReader(directory: "/nonexistent/dockward-test")) { error in
            guard case JournalReaderError.cannotOpen(let location, let reason) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(location, "/nonexistent/dockward-test")
            XCTAssertTrue(reason.contains("No such file"), reason)
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try JournalReader(directory: empty)) { error in
            XCTAssertEqual(error as? JournalReaderError, .noJournalFiles(location: empty))
            XCTAssertTrue("\(error)".contains("no readable journal files in \(empty)"))
        }
        XCTAssertThrowsError(try JournalReader(directory: "/etc/hostname")) { error in
            XCTAssertTrue("\(error)".contains("not a directory"), "\(error)")
        }
    }

    func testFollowDeliversNewEntriesAndStops() throws {
        let c = JT.container("follow")
        let name = c.metadata!.name
        JT.write(.pidsHigh, .warning, c, message: "old")
        try JT.waitFor(AlertFilter(container: name), count: 1)
        let reader = try JournalReader()
        reader.followWakeupMicros = 100_000
        var got: [String] = []
        let writer = Thread {
            usleep(300_000)
            JT.write(.pidsExhausted, .crit, c, message: "new")
        }
        writer.start()
        let deadline = Date().addingTimeInterval(10)
        // Without since: only entries written after follow started.
        try reader.follow(filter: AlertFilter(container: name), until: { got.count >= 1 || Date() > deadline }) {
            got.append($0.message)
        }
        XCTAssertEqual(got, ["new"])
    }

    func testOversizedValuesAreCut() {
        let long = Array(String(repeating: "é", count: 3000).utf8)   // 6000 bytes
        let cut = long.withUnsafeBytes { JournalReader.truncatedValue($0) }
        XCTAssertTrue(cut.hasSuffix("…"))
        XCTAssertEqual(cut.dropLast().utf8.count, 4096)
        XCTAssertFalse(cut.contains("\u{FFFD}"), "cut on a character boundary")
        let short = Array("ok".utf8).withUnsafeBytes { JournalReader.truncatedValue($0) }
        XCTAssertEqual(short, "ok")
        XCTAssertTrue(JournalReader.isAllowedField("PIDS_CURRENT"))
        XCTAssertTrue(JournalReader.isAllowedField("CONTAINER_ID_FULL"))
        XCTAssertFalse(JournalReader.isAllowedField("_CMDLINE"))
        XCTAssertFalse(JournalReader.isAllowedField("SYSLOG_IDENTIFIER"))
    }
}

/// Pure formatting and parsing.
final class AlertOutputTests: XCTestCase {
    func testTableRowIsOneSanitisedTruncatedLine() {
        let r = AlertRecord(realtime: 1_764_410_400_000_000, priority: .crit, kind: "pids-exhausted",
                            containerName: "web\u{1b}[2J", containerID: "abcdefabcdef",
                            message: String(repeating: "x", count: 300) + "\n")
        let row = AlertOutput.tableRow(r, messageWidth: 100)
        XCTAssertFalse(row.contains("\n"))
        XCTAssertFalse(row.contains("\u{1b}"))
        XCTAssertTrue(row.contains("web?[2J"))
        XCTAssertTrue(row.hasSuffix("…"))
        XCTAssertEqual(row.count, AlertOutput.tablePrefixWidth + 100)
        XCTAssertTrue(row.hasPrefix(AlertOutput.localTime(r.realtime) + "  crit      pids-exhausted        "))
        let header = AlertOutput.tableHeader()
        XCTAssertEqual(header.range(of: "MESSAGE")?.lowerBound.utf16Offset(in: header), AlertOutput.tablePrefixWidth)

        let host = AlertRecord(realtime: 0, priority: .warning, kind: "host-pids-high", message: "m")
        XCTAssertTrue(AlertOutput.tableRow(host, messageWidth: 100).contains("  -  "))
        let byID = AlertRecord(realtime: 0, priority: .warning, kind: "pids-high", containerID: "abcdefabcdef", message: "m")
        XCTAssertTrue(AlertOutput.tableRow(byID, messageWidth: 100).contains("abcdefabcdef"))
        XCTAssertEqual(AlertOutput.messageWidth(terminalColumns: nil), 100)
        XCTAssertEqual(AlertOutput.messageWidth(terminalColumns: 200), 200 - AlertOutput.tablePrefixWidth)
        XCTAssertEqual(AlertOutput.messageWidth(terminalColumns: 40), 20)
    }

    func testLocalTimeFormat() {
        let t = AlertOutput.localTime(1_764_410_400_123_456)
        XCTAssertNotNil(t.range(of: #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"#, options: .regularExpression), t)
        XCTAssertEqual(AlertOutput.isoTime(1_764_410_400_123_456), "2025-11-29T10:00:00.123456Z")
    }

    func testSinceParser() throws {
        let now: UInt64 = 1_764_410_400_000_000   // 2025-11-29T10:00:00Z
        let hour: UInt64 = 3_600_000_000
        XCTAssertEqual(try SinceParser.parse("1h", nowMicros: now), now - hour)
        XCTAssertEqual(try SinceParser.parse("30m", nowMicros: now), now - hour / 2)
        XCTAssertEqual(try SinceParser.parse("2d", nowMicros: now), now - 48 * hour)
        XCTAssertEqual(try SinceParser.parse("1h30m", nowMicros: now), now - hour * 3 / 2)
        XCTAssertEqual(try SinceParser.parse("-90s", nowMicros: now), now - 90_000_000)
        XCTAssertEqual(try SinceParser.parse("now", nowMicros: now), now)
        let today = try SinceParser.parse("today", nowMicros: now)
        XCTAssertTrue(today <= now && now - today < 24 * hour)
        XCTAssertTrue(AlertOutput.localTime(today).hasSuffix(" 00:00:00"))
        let yesterday = try SinceParser.parse("yesterday", nowMicros: now)
        XCTAssertTrue(AlertOutput.localTime(yesterday).hasSuffix(" 00:00:00"))
        XCTAssertTrue(today - yesterday >= 23 * hour && today - yesterday <= 25 * hour)
        // Local timestamps.
        XCTAssertEqual(AlertOutput.localTime(try SinceParser.parse("2026-11-29 10:00")), "2026-11-29 10:00:00")
        XCTAssertEqual(AlertOutput.localTime(try SinceParser.parse("2026-11-29 10:00:05")), "2026-11-29 10:00:05")
        XCTAssertEqual(AlertOutput.localTime(try SinceParser.parse("2026-11-29T10:00:05")), "2026-11-29 10:00:05")
        XCTAssertEqual(AlertOutput.localTime(try SinceParser.parse("2026-11-29")), "2026-11-29 00:00:00")
        // ISO 8601 with a zone.
        XCTAssertEqual(try SinceParser.parse("2025-11-29T10:00:00Z"), now)
        XCTAssertEqual(try SinceParser.parse("2025-11-29T11:00:00+01:00"), now)
        XCTAssertEqual(try SinceParser.parse("2025-11-29T05:30:00-0430"), now)
        XCTAssertEqual(try SinceParser.parse("2025-11-29T10:00:00.5Z"), now + 500_000)
        XCTAssertEqual(try SinceParser.parse("2025-11-29T10:00:00.1234567Z"), now + 123_456)
        for bad in ["", "soon", "1x", "h", "10:00", "2026-02-30", "2026-13-01", "2026-11-29 25:00", "2026-11-29T10:00:00+", "2026-11-29 10"] {
            XCTAssertThrowsError(try SinceParser.parse(bad, nowMicros: now), "'\(bad)' must be refused") { error in
                XCTAssertTrue("\(error)".contains("invalid --since"))
            }
        }
    }

    func testPriorityNames() {
        XCTAssertEqual(AlertFilter.parsePriority("crit"), .crit)
        XCTAssertEqual(AlertFilter.parsePriority("3"), .err)
        XCTAssertEqual(AlertFilter.parsePriority("WARNING"), .warning)
        XCTAssertEqual(AlertFilter.parsePriority("error"), .err)
        XCTAssertEqual(AlertFilter.parsePriority("0"), .emerg)
        XCTAssertNil(AlertFilter.parsePriority("8"))
        XCTAssertNil(AlertFilter.parsePriority("loud"))
    }
}
