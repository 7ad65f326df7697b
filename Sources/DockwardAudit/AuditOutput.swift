import DockwardCore
import FoundationEssentials

/// The three ways `audit` and `check-compose` print a report: a table for
/// people, JSON lines with the journal's field names for scripts, SARIF
/// 2.1.0 for code-scanning dashboards.
public enum AuditOutput {
    public enum Format: String, Sendable { case table, json, sarif }

    // MARK: Table

    public static func table(_ report: AuditReport, failOn: Priority) -> String {
        var lines: [String] = []
        let items = report.sortedItems
        let compose = report.command == "check-compose"
        if items.isEmpty {
            lines.append("No findings.")
        } else {
            var rows = [[("PRIORITY"), "KIND", compose ? "SERVICE" : "CONTAINER"] + (compose ? ["WHERE"] : []) + ["MESSAGE"]]
            for item in items {
                var row = [item.priority.name, item.kind.rawValue, printable(item.subject)]
                if compose { row.append(item.location.map { "\($0.file):\($0.line)" } ?? "") }
                row.append(printable(item.entry.message))
                rows.append(row)
            }
            lines += columns(rows)
        }
        if !report.postures.isEmpty {
            lines.append("")
            lines.append("Pids posture (suggested limit: \(PidsPosture.suggestionRule)):")
            var rows = [["CONTAINER", "STATE", "LIMIT", "SOURCE", "CURRENT", "PEAK", "REFUSED", "SUGGESTED"]]
            for p in report.postures.sorted(by: { $0.container.displayName < $1.container.displayName }) {
                let name = printable(p.container.displayName)
                guard let r = p.reading else {
                    rows.append([name, p.state, "-", "-", "-", "-", "-", "-"])
                    continue
                }
                rows.append([name, p.state, r.limit.map(String.init) ?? "max", r.source.rawValue, String(r.current),
                             r.peak.map(String.init) ?? "-", String(r.refusedForks), String(r.suggestedLimit)])
            }
            lines += columns(rows)
        }
        if !report.notes.isEmpty {
            lines.append("")
            for note in report.notes {
                let whereText = note.location.map { "\($0.file):\($0.line): " } ?? ""
                lines.append("note: \(whereText)\(printable(note.text))")
            }
        }
        lines.append("")
        lines.append(summary(report, failOn: failOn))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `3 findings (1 crit, 1 err, 1 warning); exit 1: at or above err`.
    public static func summary(_ report: AuditReport, failOn: Priority) -> String {
        let counts = Priority.allCases.compactMap { p -> String? in
            let n = report.items.filter { $0.priority == p }.count
            return n > 0 ? "\(n) \(p.name)" : nil
        }
        let n = report.items.count
        let status = report.exitStatus(failOn: failOn)
        let what = status == AuditExit.findings ? "findings at or above \(failOn.name)" : "nothing at or above \(failOn.name)"
        return "\(n) finding\(n == 1 ? "" : "s")\(counts.isEmpty ? "" : " (" + counts.joined(separator: ", ") + ")"); "
            + "exit \(status): \(what)"
    }

    private static func columns(_ rows: [[String]]) -> [String] {
        let count = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: count)
        for row in rows { for (i, cell) in row.enumerated() where i < count - 1 { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[i] + 2 - cell.count))
            }.joined()
        }
    }

    /// Control characters (a container name is the engine's to choose) as `?`.
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    }

    // MARK: JSON lines

    /// One object a line: each finding with the journal entry's field names
    /// (`MESSAGE`, `PRIORITY`, `DOCKWARD_ALERT`, `CONTAINER_NAME`,
    /// `SOCKET_PATH`, ...; for a Compose service `COMPOSE_SERVICE`,
    /// `COMPOSE_FILE`, `COMPOSE_LINE`), then (audit) each container's pids
    /// posture, marked `DOCKWARD_POSTURE=pids`.
    public static func jsonLines(_ report: AuditReport) -> String {
        var out = ""
        for item in report.sortedItems { out += jsonObject(item.fields) + "\n" }
        for posture in report.postures { out += jsonObject(posture.fields) + "\n" }
        return out
    }

    static func jsonObject(_ fields: [(name: String, value: String)]) -> String { object(fields).text() }

    /// The fields as one JSON object of strings, the first value of a name
    /// kept (a name written twice would make an object some readers refuse).
    static func object(_ fields: [(name: String, value: String)]) -> JSON {
        var seen = Set<String>()
        return .object(fields.filter { seen.insert($0.name).inserted }.map { (key: $0.name, value: JSON.string($0.value)) })
    }

    // MARK: SARIF 2.1.0

    public static let sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

    /// One run, one rule per entry kind found (its MESSAGE_ID kept as a
    /// property), one result per finding: a Compose finding at its file and
    /// line, a host finding at the container (a logical location).
    public static func sarif(_ report: AuditReport, version: String) -> String {
        let items = report.sortedItems
        var kinds: [EntryKind] = []
        for item in items where !kinds.contains(item.kind) { kinds.append(item.kind) }
        let rules: [JSON] = kinds.map { kind in
            [
                "id": .string(kind.rawValue),
                "name": .string(ruleName(kind)),
                "shortDescription": ["text": .string(ruleText(kind))],
                "help": ["text": .string(kind.facts.advice)],
                "helpUri": .string("https://github.com/dockward/dockward#\(kind.rawValue)"),
                "defaultConfiguration": ["level": .string(level(kind.facts.priority.allowed.max() ?? .warning))],
                "properties": ["messageId": .string(kind.messageID), "tags": ["security", "docker"]],
            ]
        }
        let results: [JSON] = items.map { item in
            var result: [(key: String, value: JSON)] = [
                ("ruleId", .string(item.kind.rawValue)),
                ("ruleIndex", .integer(Int64(kinds.firstIndex(of: item.kind) ?? 0))),
                ("level", .string(level(item.priority))),
                ("message", ["text": .string(item.entry.message)]),
                ("properties", object(item.fields)),
            ]
            if let location = item.location {
                result.append(("locations", [[
                    "physicalLocation": [
                        "artifactLocation": ["uri": .string(uri(location.file))],
                        "region": ["startLine": .integer(Int64(max(location.line, 1)))],
                    ],
                    "logicalLocations": [["name": .string(item.subject), "kind": "module"]],
                ]]))
                result.append(("partialFingerprints",
                               ["dockward/v1": .string("\(item.kind.rawValue):\(location.file):\(item.subject)")]))
            } else {
                result.append(("locations", [["logicalLocations": [[
                    "name": .string(item.subject), "kind": "resource",
                    "fullyQualifiedName": .string(item.entry.container?.id.full ?? item.subject),
                ]]]]))
                result.append(("partialFingerprints", ["dockward/v1": .string("\(item.kind.rawValue):\(item.subject)")]))
            }
            return .object(result)
        }
        let notifications: [JSON] = report.notes.map { note in
            var n: [(key: String, value: JSON)] = [("message", ["text": .string(note.text)]), ("level", "note")]
            if let location = note.location {
                n.append(("locations", [["physicalLocation": [
                    "artifactLocation": ["uri": .string(uri(location.file))],
                    "region": ["startLine": .integer(Int64(max(location.line, 1)))],
                ]]]))
            }
            return .object(n)
        }
        let log: JSON = [
            "$schema": .string(sarifSchema),
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": [
                    "name": "dockward",
                    "version": .string(version),
                    "semanticVersion": .string(version),
                    "informationUri": "https://github.com/dockward/dockward",
                    "rules": .array(rules),
                ]],
                "automationDetails": ["id": .string("dockward/\(report.command)/")],
                "invocations": [["executionSuccessful": true, "toolExecutionNotifications": .array(notifications)]],
                "results": .array(results),
            ]],
        ]
        return log.text(pretty: true, sortedKeys: true) + "\n"
    }

    /// crit and worse: error; err: error; warning: warning; the rest: note.
    static func level(_ p: Priority) -> String {
        switch p {
        case .emerg, .alert, .crit, .err: "error"
        case .warning: "warning"
        default: "note"
        }
    }

    /// A relative path as written (code scanning resolves it against the
    /// checkout); an absolute one as a file URI.
    static func uri(_ path: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).absoluteString }
        return path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    }

    static func ruleName(_ kind: EntryKind) -> String {
        kind.rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func ruleText(_ kind: EntryKind) -> String {
        switch kind {
        case .socketMount: "A container can reach the engine's (or another runtime's) socket: it controls the host"
        case .socketMountAllowed: "A socket mount an allow rule permits"
        case .socketMountUnresolved: "A mount's host path could not be resolved: whether it reaches a socket is unknown"
        case .privileged: "A privileged container: every capability and device, so the host"
        case .hostPID: "The host's PID namespace with CAP_SYS_PTRACE or CAP_SYS_ADMIN: /proc/1/root is the host's root"
        case .engineStateMount: "The engine's data root or containerd's state is mounted"
        case .blockDevice: "A host block device is given to the container"
        case .hostControlAllowed: "A way to the host an allow rule permits"
        case .selfExempt: "dockward's own container, which needs the engine's socket"
        case .engineTCPExposed: "The engine listens on TCP without TLS client verification"
        case .pidsUnlimited: "No pids limit of its own: a fork bomb exhausts the host's process table"
        case .pidsExhausted: "The kernel refused forks at the container's pids limit"
        case .pidsHigh: "The container's pids count is near its limit"
        default: kind.rawValue
        }
    }
}
