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

/// What each kind of entry is, written out once and by hand: its
/// MESSAGE_ID and every field it can carry. A changed id, or a field the
/// code stops writing, or one the catalog names but no entry carries, fails
/// here instead of being read back from the code under test.
enum Expected {
    static let base: Set<String> = ["MESSAGE", "PRIORITY", "MESSAGE_ID", "SYSLOG_IDENTIFIER"]
    static let container: Set<String> = ["CONTAINER_ID", "CONTAINER_ID_FULL", "CONTAINER_NAME", "IMAGE_NAME"]
    static let pidsFigures: Set<String> = ["PIDS_CURRENT", "PIDS_MAX", "PIDS_MAX_SOURCE", "PIDS_MAX_ORIGIN", "PIDS_REJECTED", "PIDS_RATE",
                                           "PIDS_FORECAST_SECONDS", "PIDS_PEAK", "DOCKWARD_REMINDER"]
    static let containerPids = base.union(["DOCKWARD_ALERT", "CGROUP_PATH"]).union(container).union(pidsFigures)
    /// The host has no `pids.peak`: that is a container's cgroup's.
    static let hostPids = base.union(["DOCKWARD_ALERT"]).union(pidsFigures).subtracting(["PIDS_PEAK"])
    static let nodePids = base.union(["DOCKWARD_ALERT", "NODE_PIDS_AVAILABLE", "NODE_PIDS_THRESHOLD", "NODE_PIDS_THRESHOLD_SOURCE",
                                      "NODE_PIDS_CAPACITY", "NODE_PIDS_SYSTEM_RESERVED", "NODE_PIDS_KUBE_RESERVED",
                                      "PIDS_FORECAST_SECONDS", "PIDS_RATE", "NODE_TOP_PODS", "DOCKWARD_REMINDER"])
    static let socket = base.union(["DOCKWARD_ALERT"]).union(container).union([
        "SOCKET_PATH", "MOUNT_SOURCE", "MOUNT_DESTINATION", "MOUNT_RW", "EXPOSURE", "CONTAINER_STATE",
        "EXPOSURE_COUNT", "ENGINE_EVENT_NANO", "SOCKET_LINK", "MOUNT_VOLUME"])
    static let hostControl = base.union(["DOCKWARD_ALERT"]).union(container).union([
        "HOST_CONTROL", "CONTAINER_STATE", "ENGINE_EVENT_NANO"])
    static let hostPID = hostControl.union(["CAPABILITIES"])
    static let engineState = hostControl.union(["ENGINE_STATE_PATH", "MOUNT_SOURCE", "MOUNT_DESTINATION", "MOUNT_RW",
                                                "MOUNT_VOLUME"])
    static let blockDevice = hostControl.union(["DEVICE", "MOUNT_VOLUME"])
    static let unresolved = base.union(["DOCKWARD_ALERT"]).union(container).union([
        "MOUNT_SOURCE", "MOUNT_DESTINATION", "PATH_ERROR", "CONTAINER_STATE", "UNRESOLVED_COUNT", "ENGINE_EVENT_NANO"])
    static let event = base.union(["DOCKWARD_EVENT"])
    static let engineTCP = base.union(["DOCKWARD_ALERT", "ENGINE_LISTEN", "ENGINE_TLS", "ENGINE_LOOPBACK", "ENGINE_CONFIG",
                                       "ENGINE_CONFIG_UNREADABLE"])
    static let action = base.union(["DOCKWARD_ALERT", "CGROUP_PATH"]).union(container).union([
        "DOCKWARD_ACTION", "ACTION_REASON", "PIDS_LIMIT_SET", "PIDS_CURRENT", "PIDS_MAX", "SKIP_REASON", "ACTION_ERROR",
        "CGROUP_WRITE", "ENGINE_UPDATE"])

    /// kind -> (MESSAGE_ID, fields)
    static let kinds: [String: (id: String, fields: Set<String>)] = [
        "pids-unlimited": ("239549ddbcd24315a1b43ff729527960", containerPids),
        "pids-high": ("b9c69784d9334b3ea052903c4f496935", containerPids),
        "pids-exhausted": ("9cbeffacd069472fb0b95e62b1ba4743", containerPids.union(["PIDS_MAX_CGROUP"])),
        "pids-forecast": ("8938f87338d84e60a3454e0c6958a1ec", containerPids),
        "pids-recovered": ("c077d0b0306748c987b88698fd61b0f2", containerPids),
        "host-pids-high": ("9e981232178a4c1fbc708da1dcb9585a", hostPids),
        "host-pids-recovered": ("3e2efc794a524648bac7e75f1f2965f1", hostPids),
        "node-pids-pressure": ("bf211bbe96184d4daff787619d5fca68", nodePids),
        "node-pids-recovered": ("da13c46cec8049cc8462e176b09cfbc5", nodePids.subtracting(["PIDS_FORECAST_SECONDS", "NODE_TOP_PODS",
                                                                                          "DOCKWARD_REMINDER"])),
        "socket-mount": ("c27bd08d95eb4ef99d7b04c64bb68468", socket),
        "socket-mount-allowed": ("2d8eaa6872db43f28eebfa4141f06fab", socket),
        "socket-mount-unresolved": ("5856052d274c42afaa29a77e595c8d42", unresolved),
        "privileged": ("1d1f77f24dfc4e0987ba92c09c77ed6d", hostControl),
        "host-pid": ("26a3cb077d644d63a064f1c830781e0e", hostPID),
        "engine-state-mount": ("3dc5910927984251a3d158ff62048ea9", engineState),
        "block-device": ("cd607ced6f204f13ae351ddb1293aa85", blockDevice),
        "host-control-allowed": ("f2647ea6333a4f19be85d3b915ece6c1", hostPID.union(engineState).union(blockDevice)),
        "self-exempt": ("7b3e5a0c9d1f4e62a8c4f1d2e6b90a37", base.union(["DOCKWARD_ALERT"]).union(container).union([
            "SELF_CGROUP", "EXEMPTED_KINDS", "SOCKET_PATH"])),
        "engine-tcp-exposed": ("bdc5053ff2f94fd68a452962e23a1387", engineTCP),
        "daemon-started": ("2a072edc0a2448d9bcd6de7eb9134a4b",
                           event.union(["DOCKWARD_CONFIG", "CGROUP_LAYOUT", "DOCKWARD_STATE_FILE", "DOCKWARD_OPEN_EPISODES",
                                        "SOCKET_HARD_LINKS"])),
        "daemon-stopped": ("c6b8a0edd9d24cfd924894ae8362eab3", event),
        "config-reloaded": ("68645a8bd89a4542bdc03af8728f3109", event.union(["CONFIG_FILE"])),
        "config-rejected": ("aa5cd40f5b2d4ebbb45b9954491947c2", event.union(["CONFIG_FILE", "CONFIG_LINE", "CONFIG_KEY"])),
        "engine-lost": ("f1a671def2e047adb6520636d728a9dd", event.union(["DOCKER_SOCKET", "ENGINE_ERROR"])),
        "engine-connected": ("b6b96edba76f456fada8e8e998615994",
                             event.union(["DOCKER_SOCKET", "ENGINE_PRODUCT", "ENGINE_API_VERSION"])),
        "engine-back": ("4d9dd32cb9854ccebe0be6efd86131c6", event.union(["DOCKER_SOCKET", "OUTAGE_SECONDS"])),
        "journal-replayed": ("e52b5bedb59a4630820d8c6f35c416f3",
                             event.union(["OUTAGE_SECONDS", "DOCKWARD_QUEUE_WRITTEN", "DOCKWARD_QUEUE_DROPPED"])),
        "alertmanager-lost": ("32fc8e99c1f44df1b8d9e41ee70fd7b3", event.union(["ALERTMANAGER_URL", "ALERTMANAGER_ERROR"])),
        "alertmanager-back": ("cd641759674d4d78b66794f902fdd664",
                              event.union(["ALERTMANAGER_URL", "OUTAGE_SECONDS", "ALERTS_DROPPED"])),
        "action-taken": ("e9b9578cce3544a5b02545e7310cd9db", action.union(["ACTION_UNDO"])),
        "action-failed": ("2f0b79948c5549f093212ade0ffa753c", action),
        "action-skipped": ("563843aea54740e09456a9fa6872f980", action),
        "action-dry-run": ("516d0b9e206d4b6889ec35ea87863989", action.union(["ACTION_UNDO"])),
    ]

    /// One entry of each kind as the code builds it, with every optional
    /// part present (a reminder, a host limit, a peak, two exposures, an
    /// event time, a carried-over state).
    static func builtEntries() -> [JournalEntry] {
        let id = ContainerID(String(repeating: "ab", count: 32))!
        let metadata = ContainerMetadata(name: "web", image: "nginx")
        let container = ContainerRef(id: id, metadata: metadata, cgroupPath: "/docker/x")
        var entries: [JournalEntry] = []
        for kind in [EntryKind.pidsUnlimited, .pidsHigh, .pidsExhausted, .pidsForecast, .pidsRecovered, .hostPidsHigh, .hostPidsRecovered] {
            let isHost = kind == .hostPidsHigh || kind == .hostPidsRecovered
            let finding = PidsFinding(kind: kind, priority: .warning, isReminder: true, current: 10, limit: 20,
                                      limitIsHost: true, ceilingOrigin: "systemd's DefaultTasksMax on its scope",
                                      refusedForks: 3, newlyRefused: 1, rate: 0.5,
                                      secondsToLimit: 20, ratio: 0.5)
            entries.append((isHost ? Finding.hostPids(finding) : Finding.containerPids(finding, container, peak: 12)).entry)
        }
        for kind in [EntryKind.nodePidsPressure, .nodePidsRecovered] {
            entries.append(Finding.nodePids(NodePidsFinding(
                kind: kind, priority: .warning, isReminder: kind == .nodePidsPressure, available: 1_100, capacity: 32_768,
                threshold: 1_000, source: .kubeletConfig("/var/lib/kubelet/config.yaml"), systemReserved: 1_000,
                kubeReserved: 500, secondsToThreshold: kind == .nodePidsPressure ? 10 : nil, rate: 10,
                topPods: kind == .nodePidsPressure ? [PodTasks(name: "ci/runner", tasks: 900)] : [])).entry)
        }
        // Refused by a limit that is not the container's own.
        entries.append(Finding.containerPids(PidsFinding(kind: .pidsExhausted, priority: .crit, current: 39, limit: 40,
                                                        refusedForks: 3, refusingLimit: RefusingLimit(
                                                            cgroup: "/acme.slice", limit: 40, place: .parent)), container, peak: nil).entry)
        let details = ContainerDetails(id: id, metadata: metadata,
                                       mounts: [MountPoint(kind: .bind, source: "/run/docker.sock", destination: "/s", readWrite: true)],
                                       binds: [], state: "running")
        var hardLink = SocketExposure(socket: "/run/docker.sock", mountSource: "/srv/links", mountDestination: "/s",
                                      readWrite: true, kind: .hardLink, hardLink: "/srv/links/engine.sock")
        hardLink.viaVolume = "links"
        let exposures = [hardLink,
                         SocketExposure(socket: "/run/docker.sock", mountSource: "/run", mountDestination: "/r",
                                        readWrite: false, kind: .parentDir)]
        for rule in [nil, ContainerMatcher(name: "web")] {
            if let finding = SocketExposureFinding(details: details, exposures: exposures, allowedBy: rule, eventTimeNano: 1) {
                entries.append(Finding.socketExposure(finding).entry)
            }
        }
        let unreadable = [UnresolvedMount(source: "/srv/x", destination: "/x", reason: "Permission denied"),
                          UnresolvedMount(source: "/srv/y", destination: "/y", reason: "Permission denied")]
        entries.append(Finding.socketUnresolved(details, unreadable, eventTimeNano: 1).entry)
        let throughVolume = MountPoint(kind: .bind, source: "/var/lib/docker", destination: "/d", readWrite: true,
                                       viaVolume: "state")
        let findings: [HostControlFinding] = [
            .privileged, .hostPID(capabilities: ["SYS_PTRACE"]),
            .engineState(statePath: "/var/lib/docker", mount: throughVolume), .blockDevice(path: "/dev/sdb1", volume: "disk"),
        ]
        for rule in [nil, ContainerMatcher(name: "web")] {
            for finding in findings {
                entries.append(Finding.hostControl(details, finding, allowedBy: rule, eventTimeNano: 1).entry)
            }
        }
        entries.append(Finding.selfExempt(SelfExemption(
            details: details, own: OwnContainer(id: details.id, cgroupPath: "/docker/" + details.id.full),
            exempted: [.socketMount], socket: "/var/run/docker.sock")).entry)
        entries.append(Finding.engineTCPExposed(EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                  place: ConfigPlace(path: "/etc/systemd/system/docker.service.d/tcp.conf", line: 3)), unreadable: ["/etc/docker/daemon.json"]).entry)
        entries.append(Finding.lifecycle(.daemonStarted(DaemonStart(
            version: "1", config: DockwardConfig(), configPath: "/etc/dockward.yml", engineSocket: "/run/docker.sock",
            cgroupLayout: "v1", openEpisodes: 2, stateFile: "/var/lib/dockward/state",
            engineSocketHardLinks: ["/srv/links/engine.sock"]))).entry)
        entries.append(Finding.lifecycle(.daemonStopped(watching: 3)).entry)
        entries.append(Finding.lifecycle(.configReloaded(changes: ["x"], configPath: "/etc/dockward.yml")).entry)
        entries.append(Finding.lifecycle(.configRejected(ConfigError([ConfigIssue(file: "/etc/dockward.yml", line: 3, key: "pids.x",
                                                                          message: "unknown key")]),
                                                configPath: "/etc/dockward.yml")).entry)
        entries.append(Finding.lifecycle(.engineLost(socket: "/run/docker.sock", reason: "gone", retryCap: .seconds(30))).entry)
        entries.append(Finding.lifecycle(.engineBack(socket: "/run/docker.sock", outage: 1_500_000_000)).entry)
        entries.append(Finding.lifecycle(.engineConnected(socket: "/run/docker.sock", product: "Docker 20.10.24", apiVersion: "1.41")).entry)
        entries.append(Finding.lifecycle(.journalReplayed(JournalReplay(outageSeconds: 12, written: 40, dropped: 2, queueLimit: 4096))).entry)
        entries.append(Finding.lifecycle(.alertmanagerLost(url: "http://am:9093", reason: "connection refused")).entry)
        entries.append(Finding.lifecycle(.alertmanagerBack(url: "http://am:9093", outage: 5_000_000_000, dropped: 3)).entry)
        for result in ActionReport.Result.allCases {
            entries.append(Finding.action(ActionReport(
                result: result, action: .cap(500), reason: .runawayForecast, container: container, current: 10, limit: 20,
                skipReason: .label, error: "x", cgroupWrite: .ok, engineUpdate: .pending)).entry)
        }
        return entries
    }
}

final class CatalogTests: XCTestCase {
    func loadCatalog() throws -> [CatalogEntry] {
        try CatalogEntry.parse(String(contentsOf: Packaging.catalogFile, encoding: .utf8))
    }

    /// The code's ids and kinds are the ones written out above, no more, no fewer.
    func testEveryKindHasItsExpectedMessageID() {
        XCTAssertEqual(Set(EntryKind.allCases.map(\.rawValue)), Set(Expected.kinds.keys))
        for kind in EntryKind.allCases {
            XCTAssertEqual(kind.messageID, Expected.kinds[kind.rawValue]?.id, kind.rawValue)
        }
    }

    /// The entries the code builds of each kind carry, together, exactly
    /// the fields written out above, and none carries another
    /// (SYSLOG_IDENTIFIER is added by the journal sink).
    func testEntriesCarryExactlyTheExpectedFields() {
        let built = Expected.builtEntries()
        XCTAssertEqual(Set(built.map(\.kind.rawValue)), Set(Expected.kinds.keys), "one entry of every kind")
        var carried: [String: Set<String>] = [:]
        for entry in built {
            let fields = Dictionary(entry.allFields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let kind = fields["DOCKWARD_ALERT"] ?? fields["DOCKWARD_EVENT"] ?? "?"
            guard let expected = Expected.kinds[kind] else { XCTFail("entry of unknown kind \(kind)"); continue }
            XCTAssertEqual(fields["MESSAGE_ID"], expected.id, kind)
            let names = Set(fields.keys).union(["SYSLOG_IDENTIFIER"])
            XCTAssertEqual(names.subtracting(expected.fields), [], "\(kind) carries fields not written out")
            carried[kind, default: []].formUnion(names)
        }
        for (kind, expected) in Expected.kinds {
            XCTAssertEqual(carried[kind], expected.fields, kind)
        }
    }

    func testCatalogHasAnEntryForEveryEntryKind() throws {
        let entries = try loadCatalog()
        let byID = Dictionary(grouping: entries, by: \.id)
        for (kind, expected) in Expected.kinds.sorted(by: { $0.key < $1.key }) {
            guard let found = byID[expected.id] else {
                XCTFail("packaging/dockward.catalog has no entry for \(kind) (MESSAGE_ID \(expected.id))")
                continue
            }
            XCTAssertEqual(found.count, 1, "\(kind): \(found.count) entries")
            let entry = found[0]
            XCTAssertFalse(entry.headers["Subject"]?.isEmpty ?? true, "\(kind): no Subject")
            XCTAssertEqual(entry.headers["Defined-By"], "dockward", "\(kind)")
            let support = entry.headers["Support"] ?? ""
            XCTAssertTrue(support.hasPrefix("https://") || support.hasPrefix("man:"), "\(kind): Support '\(support)'")
            XCTAssertGreaterThan(entry.body.count, 80, "\(kind): the body should explain the entry")
        }
    }

    func testCatalogHasNoUnknownOrMalformedIDs() throws {
        let known = Set(Expected.kinds.values.map(\.id))
        for entry in try loadCatalog() {
            XCTAssertTrue(entry.id.range(of: "^[0-9a-f]{32}$", options: .regularExpression) != nil,
                          "catalog id '\(entry.id)' is not 32 lowercase hex digits")
            XCTAssertTrue(known.contains(entry.id), "catalog id \(entry.id) belongs to no kind of entry")
        }
    }

    /// journalctl puts a missing field's *name* in the text, so the catalog
    /// may only name fields the entry can carry.
    func testCatalogSubstitutesOnlyFieldsTheEntryCarries() throws {
        let entries = Dictionary(uniqueKeysWithValues: try loadCatalog().map { ($0.id, $0) })
        for (kind, expected) in Expected.kinds.sorted(by: { $0.key < $1.key }) {
            guard let entry = entries[expected.id] else { continue }  // reported by the test above
            for name in entry.substitutions.sorted() {
                XCTAssertTrue(expected.fields.contains(name), "\(kind): the catalog uses @\(name)@, which it never carries")
            }
        }
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
        for (kind, expected) in Expected.kinds.sorted(by: { $0.key < $1.key }) {
            XCTAssertTrue(list.stdout.contains(expected.id), "journalctl --list-catalog lacks \(kind)")
        }

        let name = "dockward-pkgtest-\(UInt32.random(in: 0...UInt32.max))"
        let id = ContainerID((0..<64).map { _ in "0123456789abcdef".randomElement()! }.map(String.init).joined())!
        let finding = PidsFinding(kind: .pidsExhausted, priority: .crit, current: 64, limit: 64,
                                  refusedForks: 4711, newlyRefused: 4711, rate: 3)
        let container = ContainerRef(id: id, metadata: ContainerMetadata(name: name, image: "local/busybox:test"),
                                     cgroupPath: "/docker/\(id.full)")
        let entry = Finding.containerPids(finding, container, peak: nil).entry
        XCTAssertTrue(JournalSink().write(entry), "journald refused the entry")

        var text = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            text = try Packaging.run("journalctl", ["-x", "-o", "short", "--no-pager", "--all", "CONTAINER_NAME=\(name)"]).stdout
            if text.contains("Subject:") { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertTrue(text.contains(entry.message), "the entry itself:\n\(text)")
        let written = try Packaging.run("journalctl", ["-o", "json", "--no-pager", "--all", "CONTAINER_NAME=\(name)"]).stdout
        XCTAssertTrue(written.contains("\"MESSAGE_ID\":\"9cbeffacd069472fb0b95e62b1ba4743\""), "pids-exhausted's id:\n\(written)")
        XCTAssertTrue(text.contains("Subject: Container \(name) hit its pids limit; forks are refused"), text)
        XCTAssertTrue(text.contains("Defined-By: dockward"), text)
        XCTAssertTrue(text.contains("refused 4711 fork()"), "PIDS_REJECTED substituted:\n\(text)")
        XCTAssertTrue(text.contains("docker update --pids-limit N \(id.short)"), "CONTAINER_ID substituted:\n\(text)")
        XCTAssertFalse(text.contains("@CONTAINER_NAME@") || text.contains("@PIDS_"), "unsubstituted fields:\n\(text)")
    }
}
