import DockwardCore

/// Where in a Compose file a finding comes from.
public struct SourceLocation: Equatable, Sendable, Comparable {
    public var file: String
    /// 1-based, as DockwardYAML marks it.
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { (a.file, a.line) < (b.file, b.line) }
}

/// One finding of `audit` or `check-compose`: the typed finding, which
/// decides (its kind and priority set the exit status, the order and the
/// SARIF level), and the journal entry the daemon would write for it,
/// rendered once (so `--json` carries the journal's own field names); for a
/// Compose service, where it is written.
public struct AuditItem: Equatable, Sendable {
    public var finding: Finding
    public var entry: JournalEntry
    /// The Compose service (`check-compose`), or the container's
    /// `com.docker.compose.service` label (`audit`).
    public var service: String?
    public var location: SourceLocation?

    /// `words` replace the daemon's sentence and fields where the finding
    /// is told of something the daemon never sees (a service before deploy).
    public init(_ finding: Finding, words: EntryText? = nil, service: String? = nil, location: SourceLocation? = nil) {
        self.finding = finding
        if let words {
            entry = JournalEntry(kind: finding.kind, priority: finding.priority, message: words.message,
                                 container: finding.container, fields: words.fields)
        } else {
            entry = finding.entry
        }
        self.service = service
        self.location = location
    }

    public var kind: EntryKind { finding.kind }
    public var priority: Priority { finding.priority }

    /// The journal entry's fields, then where it is written: the names
    /// `journalctl -o json` shows for the daemon's entry of the same finding.
    /// A service not yet deployed has no container id: those fields go.
    public var fields: [(name: String, value: String)] {
        var out = entry.allFields
        if location != nil {
            out.removeAll { $0.name == "CONTAINER_ID" || $0.name == "CONTAINER_ID_FULL" || $0.name == "CONTAINER_NAME" }
        }
        if let service { out.append(("COMPOSE_SERVICE", service)) }
        if let location {
            out.append(("COMPOSE_FILE", location.file))
            out.append(("COMPOSE_LINE", String(location.line)))
        }
        return out
    }

    /// What the table's first column names.
    public var subject: String {
        if let service, location != nil { return service }
        return entry.container?.displayName ?? "(host)"
    }
}

/// A fact the verdicts rest on, told beside them: what was resolved on this
/// host, and what cannot be known before deploy.
public struct AuditNote: Equatable, Sendable {
    public var text: String
    public var service: String?
    public var location: SourceLocation?

    public init(_ text: String, service: String? = nil, location: SourceLocation? = nil) {
        self.text = text
        self.service = service
        self.location = location
    }
}

/// Everything one run found.
public struct AuditReport: Equatable, Sendable {
    public var items: [AuditItem]
    public var postures: [PidsPosture]
    public var notes: [AuditNote]
    /// `audit` or `check-compose`, for SARIF's run and the table's heading.
    public var command: String

    public init(command: String, items: [AuditItem] = [], postures: [PidsPosture] = [], notes: [AuditNote] = []) {
        self.command = command
        self.items = items
        self.postures = postures
        self.notes = notes
    }

    /// Worst first, then by subject, then by kind: a stable order for every output.
    public var sortedItems: [AuditItem] {
        items.sorted {
            if $0.priority != $1.priority { return $0.priority > $1.priority }
            if $0.location != $1.location, let a = $0.location, let b = $1.location { return a < b }
            if $0.subject != $1.subject { return $0.subject < $1.subject }
            return $0.kind.rawValue < $1.kind.rawValue
        }
    }

    /// 1 when a finding is at or above `failOn` (a lower syslog number is
    /// worse), else 0.
    public func exitStatus(failOn: Priority) -> Int32 {
        items.contains { $0.priority >= failOn } ? AuditExit.findings : AuditExit.clean
    }
}

/// The exit statuses of `audit` and `check-compose`.
public enum AuditExit {
    public static let clean: Int32 = 0
    public static let findings: Int32 = 1
    /// The engine, the cgroup tree or a Compose file could not be read.
    public static let couldNotAudit: Int32 = 2
}

/// Why a run could not audit (exit 2), in one sentence.
public struct AuditFailure: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
