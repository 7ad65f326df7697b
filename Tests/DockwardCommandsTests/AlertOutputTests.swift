import DockwardCommands
import DockwardCore
import DockwardJournal
import Foundation
import XCTest

/// How `dockward alerts` prints records and parses --since: pure
/// formatting and parsing, on records built here. Reading them from the
/// journal is DockwardJournalTests' job; the built binary against the real
/// journal is AlertsCommandTests'.
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

    func testJSONShapeParsesBack() throws {
        let name = "web-1"
        let record = AlertRecord(
            realtime: 1_764_410_400_123_456, priority: .crit, kind: "pids-exhausted",
            containerName: name, containerID: "abcdefabcdef", message: "Container \(name) hit \"its\" limit\\",
            fields: ["MESSAGE": "Container \(name) hit \"its\" limit\\", "PRIORITY": "2",
                     "DOCKWARD_ALERT": "pids-exhausted", "CONTAINER_NAME": name, "CONTAINER_ID": "abcdefabcdef",
                     "PIDS_CURRENT": "50", "PIDS_MAX": "50", "PIDS_REJECTED": "7", "IMAGE_NAME": "local/busybox:test"])
        let line = AlertOutput.json(record)
        XCTAssertFalse(line.contains("\n"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(Set(obj.keys), ["time", "realtime_usec", "priority", "type", "trusted", "kind", "container",
                                       "container_id", "message", "fields"])
        XCTAssertEqual(obj["priority"] as? String, "crit")
        XCTAssertEqual(obj["type"] as? String, "alert")
        XCTAssertEqual(obj["kind"] as? String, "pids-exhausted")
        XCTAssertEqual(obj["container"] as? String, name)
        XCTAssertEqual(obj["container_id"] as? String, "abcdefabcdef")
        XCTAssertEqual(obj["message"] as? String, "Container \(name) hit \"its\" limit\\")
        XCTAssertEqual((obj["realtime_usec"] as? NSNumber)?.uint64Value, record.realtime)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let time = try XCTUnwrap(iso.date(from: obj["time"] as? String ?? ""), "time is ISO 8601: \(obj["time"] ?? "nil")")
        XCTAssertEqual(time.timeIntervalSince1970, Double(record.realtime) / 1e6, accuracy: 0.001)
        let fields = try XCTUnwrap(obj["fields"] as? [String: String])
        XCTAssertEqual(fields, ["PIDS_CURRENT": "50", "PIDS_MAX": "50", "PIDS_REJECTED": "7", "IMAGE_NAME": "local/busybox:test"],
                       "promoted keys are not repeated in fields")

        let event = AlertOutput.json(AlertRecord(realtime: 1, priority: .notice, kind: "daemon-started", isAlert: false, message: "m"))
        XCTAssertTrue(event.contains("\"type\":\"event\""), event)

        // A host alert has null container keys.
        let host = AlertOutput.json(AlertRecord(realtime: 1, priority: .warning, kind: "host-pids-high", message: "m"))
        let hostObj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(host.utf8)) as? [String: Any])
        XCTAssertTrue(hostObj["container"] is NSNull)
        XCTAssertTrue(hostObj["container_id"] is NSNull)
        XCTAssertEqual(hostObj["time"] as? String, "1970-01-01T00:00:00.000001Z")
    }

    /// A hostile container name (newlines, a forged field) stays inside one
    /// table line and one JSON string.
    func testHostileContainerNameStaysOnOneLine() throws {
        let hostile = "evil\nPRIORITY=0\nDOCKWARD_ALERT=pids-exhausted"
        let r = AlertRecord(realtime: 1_764_410_400_000_000, priority: .warning, kind: "pids-unlimited",
                            containerName: hostile, containerID: "abcdefabcdef", message: "hostile")
        XCTAssertFalse(AlertOutput.tableRow(r, messageWidth: 100).contains("\n"))
        let json = AlertOutput.json(r)
        XCTAssertFalse(json.contains("\n"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["container"] as? String, hostile)
    }

    func testSummaryCountsWorstPriorityFirstThenCount() throws {
        let an = "sum-a", bn = "sum-b"
        let start: UInt64 = 1_764_410_400_000_000
        var t = start
        func record(_ kind: String, _ p: Priority, _ name: String) -> AlertRecord {
            t += 1_000
            return AlertRecord(realtime: t, priority: p, kind: kind, containerName: name, message: "m")
        }
        var summary = AlertSummary()
        summary.add(record("pids-high", .warning, an))
        summary.add(record("pids-high", .warning, an))
        summary.add(record("pids-high", .err, an))          // escalation: the group's worst is err
        summary.add(record("pids-forecast", .err, an))
        summary.add(record("pids-forecast", .err, an))
        summary.add(record("pids-exhausted", .crit, bn))
        summary.add(record("pids-high", .warning, bn))
        summary.add(AlertRecord(realtime: t + 1, priority: .warning, kind: "host-pids-high", message: "host"))
        XCTAssertEqual(summary.total, 8)
        let rows = summary.rows
        XCTAssertEqual(rows.map { "\($0.container ?? "-") \($0.kind) \($0.worst.name) \($0.count)" }, [
            "\(bn) pids-exhausted crit 1",
            "\(an) pids-high err 3",
            "\(an) pids-forecast err 2",
            "- host-pids-high warning 1",
            "\(bn) pids-high warning 1",
        ])
        XCTAssertEqual(rows[1].first, start + 1_000)
        XCTAssertEqual(rows[1].last, start + 3_000)
        XCTAssertTrue(rows.allSatisfy { $0.first <= $0.last && $0.first > start })
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(AlertOutput.summaryJSON(rows[1]).utf8)) as? [String: Any])
        XCTAssertEqual(obj["count"] as? Int, 3)
        XCTAssertEqual(obj["priority"] as? String, "err")
        XCTAssertEqual(obj["container"] as? String, an)
        XCTAssertEqual(obj["kind"] as? String, "pids-high")
        XCTAssertTrue(AlertOutput.summaryRow(rows[0]).hasPrefix("crit          1  \(AlertOutput.fit(bn, 24))"))
        let hostJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(AlertOutput.summaryJSON(rows[3]).utf8)) as? [String: Any])
        XCTAssertTrue(hostJSON["container"] is NSNull)
    }

    /// A record's time printed as ISO 8601 and given back as --since is the
    /// same microsecond, so `--since "$(... | jq .time)"` starts exactly there.
    func testISOTimeRoundTripsThroughSinceParser() throws {
        for usec: UInt64 in [1, 1_764_410_400_000_000, 1_764_410_400_123_456, 1_798_761_599_999_999] {
            XCTAssertEqual(try SinceParser.parse(AlertOutput.isoTime(usec)), usec)
        }
        // Without nowMicros, relative times count back from the real clock.
        let now = JournalReader.nowMicros()
        let tenMinutesAgo = try SinceParser.parse("10m")
        XCTAssertTrue(tenMinutesAgo >= now - 600_000_000 && tenMinutesAgo <= JournalReader.nowMicros() - 600_000_000 + 1)
    }
}

/// Entries that claim to be dockward's but that journald says someone else
/// wrote: marked in every view, counted apart in the summary.
final class UntrustedOutputTests: XCTestCase {
    private let forged = AlertRecord(
        realtime: 1_764_410_400_000_000, priority: .crit, kind: "socket-mount", containerName: "web",
        message: "forged", fields: ["_UID": "65534", "_COMM": "logger"], isTrusted: false)
    private let real = AlertRecord(realtime: 1_764_410_400_000_001, priority: .warning, kind: "pids-unlimited",
                                   containerName: "web", message: "real", fields: ["_UID": "0"])

    func testTableMarksTheWriter() {
        let row = AlertOutput.tableRow(forged, messageWidth: 200)
        XCTAssertTrue(row.hasSuffix("UNTRUSTED, written by uid 65534, logger, not by dockward: forged"), row)
        XCTAssertFalse(AlertOutput.tableRow(real, messageWidth: 200).contains("UNTRUSTED"))
    }

    func testJSONSaysUntrusted() throws {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AlertOutput.json(forged).utf8)) as? [String: Any])
        XCTAssertEqual(object["type"] as? String, "untrusted")
        XCTAssertEqual(object["trusted"] as? Bool, false)
        XCTAssertEqual((object["fields"] as? [String: String])?["_UID"], "65534")
        let good = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AlertOutput.json(real).utf8)) as? [String: Any])
        XCTAssertEqual(good["type"] as? String, "alert")
        XCTAssertEqual(good["trusted"] as? Bool, true)
    }

    func testSummaryCountsForgeriesOnALineOfTheirOwn() {
        var summary = AlertSummary()
        summary.add(real)
        summary.add(forged)
        summary.add(forged)
        XCTAssertEqual(summary.total, 1)
        XCTAssertEqual(summary.rows.map(\.kind), ["pids-unlimited"])
        XCTAssertEqual(summary.untrusted, ["uid 65534, logger": 2])
        XCTAssertEqual(AlertOutput.untrustedLine(summary),
                       "UNTRUSTED: 2 entries claim to be dockward's but journald says someone else wrote them "
                           + "(uid 65534, logger: 2); list them with --untrusted")
        XCTAssertNil(AlertOutput.untrustedLine(AlertSummary()))
    }

    func testTrustRuleAndItsJournalctlForm() {
        XCTAssertTrue(JournalTrust.isTrusted(["_SYSTEMD_UNIT": "dockward.service", "_UID": "61834"]))
        XCTAssertTrue(JournalTrust.isTrusted(["_UID": "0"]))
        XCTAssertFalse(JournalTrust.isTrusted(["_UID": "65534", "_SYSTEMD_UNIT": "user@65534.service"]))
        XCTAssertFalse(JournalTrust.isTrusted([:]))
        XCTAssertEqual(JournalTrust.journalctlMatch,
                       "SYSLOG_IDENTIFIER=dockward _SYSTEMD_UNIT=dockward.service + SYSLOG_IDENTIFIER=dockward _UID=0")
    }
}
