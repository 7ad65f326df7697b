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

    /// `--namespace` and `--pod`: Kubernetes containers by their pod's
    /// fields, matched inside libsystemd like the container.
    func testFiltersByNamespaceAndPod() throws {
        let namespace = JT.uniqueName("ns")
        func podContainer(_ pod: String, _ container: String) -> ContainerRef {
            let identity = PodIdentity(namespace: namespace, pod: pod, podUID: "uid-\(pod)", container: container)
            return ContainerRef(id: JT.randomID(), metadata: ContainerMetadata(name: identity.fullName, image: "busybox", pod: identity))
        }
        let web = podContainer("web", "app"), sidecar = podContainer("web", "proxy"), db = podContainer("db", "postgres")
        JT.write(.pidsHigh, .warning, web)
        JT.write(.pidsExhausted, .crit, sidecar)
        JT.write(.socketMount, .crit, db)
        let all = try JT.waitFor(AlertFilter(namespace: namespace), count: 3)
        XCTAssertEqual(Set(all.compactMap { $0.fields["K8S_POD"] }), ["web", "db"])
        XCTAssertEqual(all.first?.containerName, "\(namespace)/web/app")
        for (filter, expected) in [
            (AlertFilter(namespace: namespace, pod: "web"), 2),
            (AlertFilter(namespace: namespace, pod: "db"), 1),
            (AlertFilter(namespace: namespace, pod: "web", kind: "pids-exhausted"), 1),
            (AlertFilter(namespace: namespace + "-other", pod: "web"), 0),
        ] {
            let reader = try JournalReader()
            XCTAssertEqual(try reader.read(filter: filter).count, expected, "\(filter)")
            XCTAssertEqual(reader.entriesScanned, expected, "libsystemd returned only matches for \(filter)")
        }
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
        XCTAssertEqual(exhausted.first?.fields["MESSAGE_ID"], "9cbeffacd069472fb0b95e62b1ba4743")
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
        // A since in the future matches nothing; one before both matches both.
        // (That `--since` text parses to the same µs is DockwardCommandsTests' job.)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(since: JournalReader.nowMicros() + 60_000_000, container: name)).count, 0)
        XCTAssertEqual(try JournalReader().read(filter: AlertFilter(since: JournalReader.nowMicros() - 600_000_000, container: name)).count, 2)
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

    /// What JournalReader hands over for an entry JournalSink wrote: the
    /// promoted fields and every allow-listed one. (How `dockward alerts
    /// --json` prints a record is DockwardCommandsTests' job.)
    func testRecordCarriesPromotedAndAllowListedFields() throws {
        let c = JT.container("json")
        let name = c.metadata!.name
        let before = JournalReader.nowMicros()
        JT.write(.pidsExhausted, .crit, c, message: "Container \(name) hit \"its\" limit\\",
                 fields: [("PIDS_CURRENT", "50"), ("PIDS_MAX", "50"), ("PIDS_REJECTED", "7")])
        let record = try JT.waitFor(AlertFilter(container: name), count: 1)[0]
        XCTAssertEqual(record.priority, .crit)
        XCTAssertTrue(record.isAlert)
        XCTAssertEqual(record.kind, "pids-exhausted")
        XCTAssertEqual(record.containerName, name)
        XCTAssertEqual(record.containerID, c.id.short)
        XCTAssertEqual(record.message, "Container \(name) hit \"its\" limit\\")
        XCTAssertTrue(record.realtime >= before && record.realtime <= JournalReader.nowMicros(), "\(record.realtime)")
        XCTAssertEqual(record.fields["PIDS_CURRENT"], "50")
        XCTAssertEqual(record.fields["PIDS_REJECTED"], "7")
        XCTAssertEqual(record.fields["IMAGE_NAME"], "local/busybox:test")
        XCTAssertEqual(record.fields["CONTAINER_ID_FULL"], c.id.full)
        XCTAssertEqual(record.fields["CGROUP_PATH"], "/sys/fs/cgroup/docker/test")
        XCTAssertEqual(record.fields["MESSAGE_ID"], "9cbeffacd069472fb0b95e62b1ba4743")
        XCTAssertNil(record.fields["SYSLOG_IDENTIFIER"], "only allow-listed fields are read")
        XCTAssertNil(record.fields["_BOOT_ID"], "only allow-listed fields are read")
        // journald's own fields name the writer: this test, as root.
        XCTAssertEqual(record.fields["_UID"], "0")
        XCTAssertEqual(record.fields["_PID"], String(getpid()))
        XCTAssertTrue(record.isTrusted)
    }

    /// forEach with a since visits every matching record once, in journal
    /// order. (Grouping them is AlertSummary's, tested in DockwardCommandsTests.)
    func testForEachVisitsEveryRecordSinceInOrder() throws {
        let a = JT.container("sum-a"), b = JT.container("sum-b")
        let start = JournalReader.nowMicros()
        JT.write(.pidsHigh, .warning, a)
        JT.write(.pidsHigh, .warning, a)
        JT.write(.pidsHigh, .err, a)
        JT.write(.pidsForecast, .err, a)
        JT.write(.pidsForecast, .err, a)
        JT.write(.pidsExhausted, .crit, b)
        JT.write(.pidsHigh, .warning, b)
        let an = a.metadata!.name, bn = b.metadata!.name
        try JT.waitFor(AlertFilter(container: an), count: 5)
        try JT.waitFor(AlertFilter(container: bn), count: 2)
        var seen: [AlertRecord] = []
        try JournalReader().forEach(filter: AlertFilter(since: start - 1_000_000)) { r in
            if r.containerName == an || r.containerName == bn { seen.append(r) }
        }
        XCTAssertEqual(seen.map { "\($0.containerName ?? "-") \($0.kind) \($0.priority.name)" }, [
            "\(an) pids-high warning", "\(an) pids-high warning", "\(an) pids-high err",
            "\(an) pids-forecast err", "\(an) pids-forecast err",
            "\(bn) pids-exhausted crit", "\(bn) pids-high warning",
        ])
        XCTAssertTrue(seen.allSatisfy { $0.realtime >= start - 1_000_000 })
        XCTAssertEqual(seen.map(\.realtime), seen.map(\.realtime).sorted())
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
        // That the table and JSON print it on one line is DockwardCommandsTests' job.
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

/// `--priority` names and numbers, as AlertFilter matches them.
final class AlertFilterTests: XCTestCase {
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
