import CSystemd
import DockwardCore
import DockwardSystem
#if canImport(Glibc)
import Glibc
#endif

/// One dockward entry read back from the journal: an alert (`DOCKWARD_ALERT`)
/// or, when asked for, a daemon lifecycle event (`DOCKWARD_EVENT`).
public struct AlertRecord: Equatable, Sendable {
    /// `__REALTIME_TIMESTAMP`: microseconds since the epoch.
    public var realtime: UInt64
    public var priority: Priority
    /// The `DOCKWARD_ALERT` (or `DOCKWARD_EVENT`) value, e.g. `pids-exhausted`.
    public var kind: String
    /// False for a daemon lifecycle event (`DOCKWARD_EVENT`).
    public var isAlert: Bool
    public var containerName: String?
    /// The 12-character id (`CONTAINER_ID`, else the prefix of `CONTAINER_ID_FULL`).
    public var containerID: String?
    public var message: String
    /// Every allow-listed field of the entry (first value of each), values
    /// truncated at `JournalReader.maxValueBytes`, journald's own `_UID`,
    /// `_COMM`, `_SYSTEMD_UNIT`... among them.
    public var fields: [String: String]

    /// journald's fields say dockward wrote it (`JournalTrust`). Always true
    /// unless the filter asked for untrusted entries too.
    public var isTrusted: Bool

    /// Who wrote an entry, from journald's own fields: "uid 65534, logger".
    public var writer: String {
        var parts = ["uid \(fields["_UID"] ?? "?")"]
        if let comm = fields["_COMM"] { parts.append(comm) }
        if let unit = fields["_SYSTEMD_UNIT"] { parts.append(unit) }
        return parts.joined(separator: ", ")
    }

    public init(realtime: UInt64, priority: Priority, kind: String, isAlert: Bool = true, containerName: String? = nil,
                containerID: String? = nil, message: String, fields: [String: String] = [:], isTrusted: Bool = true) {
        self.isTrusted = isTrusted
        self.realtime = realtime
        self.priority = priority
        self.kind = kind
        self.isAlert = isAlert
        self.containerName = containerName
        self.containerID = containerID
        self.message = message
        self.fields = fields
    }

    /// The name if known, else the short id; nil for the host.
    public var containerDisplay: String? { containerName ?? containerID }
}

/// What to read. Every criterion is matched inside libsystemd where the
/// journal's indexes allow it, and checked again on each record.
public struct AlertFilter: Equatable, Sendable {
    /// Only entries at or after this time (µs since the epoch).
    public var since: UInt64?
    /// A container name, short id or full id.
    public var container: String?
    /// A Kubernetes namespace (`K8S_NAMESPACE`).
    public var namespace: String?
    /// A Kubernetes pod (`K8S_POD`).
    public var pod: String?
    /// An `EntryKind` raw value. Naming a lifecycle kind selects those events
    /// even without `includeEvents`.
    public var kind: String?
    /// This priority and every more severe one (like `journalctl -p`).
    public var priority: Priority?
    /// Also daemon lifecycle entries (`DOCKWARD_EVENT`).
    public var includeEvents: Bool
    /// Also entries that claim to be dockward's (the identifier and fields)
    /// but that journald says someone else wrote; `isTrusted` tells them apart.
    public var includeUntrusted: Bool

    public init(since: UInt64? = nil, container: String? = nil, namespace: String? = nil, pod: String? = nil,
                kind: String? = nil, priority: Priority? = nil,
                includeEvents: Bool = false, includeUntrusted: Bool = false) {
        self.since = since
        self.container = container
        self.namespace = namespace
        self.pod = pod
        self.kind = kind
        self.priority = priority
        self.includeEvents = includeEvents
        self.includeUntrusted = includeUntrusted
    }

    /// `emerg`..`debug` (also `error`, `warn`) or `0`..`7`.
    public static func parsePriority(_ text: String) -> Priority? {
        let t = text.lowercased()
        if let n = Int(t) { return Priority(rawValue: n) }
        switch t {
        case "error": return .err
        case "warn": return .warning
        case "emergency", "panic": return .emerg
        case "critical": return .crit
        default: return Priority(name: t)
        }
    }

    /// True when `record` passes every criterion (the client-side re-check).
    public func accepts(_ r: AlertRecord) -> Bool {
        if !includeUntrusted && !r.isTrusted { return false }
        if let s = since, r.realtime < s { return false }
        if let p = priority, r.priority.rawValue > p.rawValue { return false }
        if let k = kind {
            if r.kind != k { return false }
        } else if !r.isAlert && !includeEvents {
            return false
        }
        if let c = container,
           r.containerName != c, r.containerID != c, r.fields["CONTAINER_ID_FULL"] != c {
            return false
        }
        if let n = namespace, r.fields["K8S_NAMESPACE"] != n { return false }
        if let p = pod, r.fields["K8S_POD"] != p { return false }
        return true
    }
}

public enum JournalReaderError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(location: String, reason: String)
    case noJournalFiles(location: String)
    case readFailed(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotOpen(location, reason):
            return "cannot open the journal at \(location): \(reason)"
        case let .noJournalFiles(location):
            var text = "no readable journal files in \(location)"
            if location == JournalReader.localJournalName && geteuid() != 0 {
                text += "; reading the system journal needs root or membership in the systemd-journal or adm group"
            }
            return text
        case let .readFailed(operation, code):
            return "reading the journal failed (\(operation)): \(String(cString: strerror(code)))"
        }
    }
}

/// Reads dockward's entries back through libsystemd's journal API
/// (`sd_journal_open`, matches, `sd_journal_seek_realtime_usec`,
/// `sd_journal_next`, `sd_journal_wait`). Never shells out to journalctl.
///
/// Memory stays bounded whatever the journal holds: only allow-listed fields
/// are copied, each value is cut at `maxValueBytes`, at most `maxFields`
/// fields are kept per entry, and `forEach`/`follow` stream records.
/// Not thread-safe: use one reader from one thread.
public final class JournalReader {
    public static let localJournalName = "the local journal (/var/log/journal, /run/log/journal)"
    /// Longest value kept (bytes of UTF-8); longer ones end in "…".
    public static let maxValueBytes = 4096
    /// Most allow-listed fields kept per entry.
    public static let maxFields = 64

    /// Fields copied from an entry, by exact name.
    static let allowedNames: Set<String> = [
        "MESSAGE", "PRIORITY", "MESSAGE_ID", "DOCKWARD_ALERT", "DOCKWARD_EVENT", "DOCKWARD_REMINDER",
        "IMAGE_NAME", "SOCKET_PATH", "CGROUP_PATH", "CGROUP_LAYOUT", "DOCKWARD_CONFIG",
    ]
    /// ... and by prefix.
    static let allowedPrefixes = ["CONTAINER_", "PIDS_", "MOUNT_", "EXPOSURE", "CONFIG_", "K8S_", "NODE_"]

    public static func isAllowedField(_ name: String) -> Bool {
        allowedNames.contains(name) || allowedPrefixes.contains { name.hasPrefix($0) }
            || JournalTrust.writerFields.contains(name)
    }

    /// How long one `sd_journal_wait` may block before `follow` checks its
    /// stop condition again (a signal usually wakes it sooner: EINTR).
    public var followWakeupMicros: UInt64 = 500_000

    private var journal: OpaquePointer?
    public let location: String
    /// Entries libsystemd handed over (after its matches) since the reader
    /// was opened, whether or not they passed the client-side check.
    public private(set) var entriesScanned = 0

    /// Opens the local machine's journal (`SD_JOURNAL_LOCAL_ONLY`), or the
    /// journal files in `directory` (like `journalctl -D`; machine-id
    /// subdirectories are included).
    public init(directory: String? = nil) throws {
        var j: OpaquePointer?
        let rc: Int32
        if let dir = directory {
            location = dir
            var st = stat()
            guard stat(dir, &st) == 0 else {
                throw JournalReaderError.cannotOpen(location: dir, reason: String(cString: strerror(errno)))
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw JournalReaderError.cannotOpen(location: dir, reason: "not a directory")
            }
            rc = sd_journal_open_directory(&j, dir, 0)
        } else {
            location = JournalReader.localJournalName
            rc = sd_journal_open(&j, Int32(SD_JOURNAL_LOCAL_ONLY))
        }
        guard rc >= 0, let opened = j else {
            throw JournalReaderError.cannotOpen(location: location, reason: String(cString: strerror(-rc)))
        }
        journal = opened
        var bytes: UInt64 = 0
        if sd_journal_get_usage(opened, &bytes) >= 0 && bytes == 0 {
            sd_journal_close(opened)
            journal = nil
            throw JournalReaderError.noJournalFiles(location: location)
        }
        // A hint to libsystemd (it applies when decompressing); values are cut
        // again below in any case.
        _ = sd_journal_set_data_threshold(opened, JournalReader.maxValueBytes + 128)
    }

    deinit {
        if let j = journal { sd_journal_close(j) }
    }

    /// Every matching record, oldest first.
    public func read(filter: AlertFilter) throws -> [AlertRecord] {
        var out: [AlertRecord] = []
        try forEach(filter: filter) { out.append($0) }
        return out
    }

    /// Streams matching records, oldest first, without keeping them.
    public func forEach(filter: AlertFilter, _ body: (AlertRecord) throws -> Void) throws {
        let j = try handle()
        try applyMatches(filter)
        try seek(since: filter.since)
        _ = try drain(j, filter: filter, stop: { false }, body)
    }

    /// Streams records matching `filter` as they are written, until `shouldStop`
    /// returns true (checked after each record and each wakeup). With
    /// `filter.since` it first replays the entries since then; without, it
    /// starts now.
    public func follow(filter: AlertFilter, until shouldStop: () -> Bool = { false },
                       onRecord: (AlertRecord) throws -> Void) throws {
        let j = try handle()
        // Sets up inotify before the first read, so nothing written between
        // the read and the first wait is missed.
        let fd = sd_journal_get_fd(j)
        if fd < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_get_fd", errno: -fd) }
        var f = filter
        if f.since == nil { f.since = JournalReader.nowMicros() }
        try applyMatches(f)
        try seek(since: f.since)
        while true {
            if try drain(j, filter: f, stop: shouldStop, onRecord) { return }
            if shouldStop() { return }
            let r = sd_journal_wait(j, followWakeupMicros)
            if r < 0 && r != -EINTR && r != -EAGAIN {
                throw JournalReaderError.readFailed(operation: "sd_journal_wait", errno: -r)
            }
        }
    }

    /// The journal's clock: wall-clock µs since the epoch, as `__REALTIME_TIMESTAMP`.
    public static func nowMicros() -> UInt64 { SystemClock.realtimeMicros() }

    // MARK: - Internals

    private func handle() throws -> OpaquePointer {
        guard let j = journal else { throw JournalReaderError.noJournalFiles(location: location) }
        return j
    }

    /// Reads forward from the current position; returns true when stopped early.
    private func drain(_ j: OpaquePointer, filter: AlertFilter, stop: () -> Bool,
                       _ body: (AlertRecord) throws -> Void) throws -> Bool {
        while true {
            let r = sd_journal_next(j)
            if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_next", errno: -r) }
            if r == 0 { return false }
            entriesScanned += 1
            if let record = currentRecord(j), filter.accepts(record) {
                try body(record)
                if stop() { return true }
            }
        }
    }

    private func seek(since: UInt64?) throws {
        let j = try handle()
        let r = since.map { sd_journal_seek_realtime_usec(j, $0) } ?? sd_journal_seek_head(j)
        if r < 0 { throw JournalReaderError.readFailed(operation: "seek", errno: -r) }
    }

    /// `SYSLOG_IDENTIFIER=dockward AND PRIORITY in 0..N AND DOCKWARD_ALERT=kind`
    /// `AND (_SYSTEMD_UNIT=dockward.service OR _UID=0)`
    /// `AND (CONTAINER_NAME=c OR CONTAINER_ID=c OR CONTAINER_ID_FULL=c)`.
    /// Fields of one name OR together; different names AND together; the
    /// trust group is matched by libsystemd, so a forged entry is never read.
    private func applyMatches(_ filter: AlertFilter) throws {
        let j = try handle()
        sd_journal_flush_matches(j)
        try addMatch("SYSLOG_IDENTIFIER", JournalSink.identifier)
        if let p = filter.priority {
            for level in 0...p.rawValue { try addMatch("PRIORITY", String(level)) }
        }
        if let k = filter.kind {
            try addMatch(EntryKind(rawValue: k)?.journalTag ?? "DOCKWARD_ALERT", k)
        } else if !filter.includeEvents {
            // "has DOCKWARD_ALERT" cannot be matched directly: OR every value
            // the journal holds, plus the kinds this build knows. Entries that
            // slip through are still dropped by `accepts`.
            var kinds = Set(EntryKind.allCases.filter { $0.journalTag == "DOCKWARD_ALERT" }.map(\.rawValue))
            if let seen = uniqueValues("DOCKWARD_ALERT", limit: 256) {
                kinds.formUnion(seen)
                for k in kinds.sorted() { try addMatch("DOCKWARD_ALERT", k) }
            }
            // More distinct values than that: forged entries; skip the
            // server-side kind match and rely on the client-side check.
        }
        if !filter.includeUntrusted {
            for (i, writer) in JournalTrust.trustedWriters.enumerated() {
                let r = i == 0 ? sd_journal_add_conjunction(j) : sd_journal_add_disjunction(j)
                if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_add_conjunction", errno: -r) }
                try addMatch(writer.field, writer.value)
            }
        }
        if let c = filter.container {
            var r = sd_journal_add_conjunction(j)
            if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_add_conjunction", errno: -r) }
            try addMatch("CONTAINER_NAME", c)
            for field in ["CONTAINER_ID", "CONTAINER_ID_FULL"] {
                r = sd_journal_add_disjunction(j)
                if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_add_disjunction", errno: -r) }
                try addMatch(field, c)
            }
        }
        for (field, value) in [("K8S_NAMESPACE", filter.namespace), ("K8S_POD", filter.pod)] {
            guard let value else { continue }
            let r = sd_journal_add_conjunction(j)
            if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_add_conjunction", errno: -r) }
            try addMatch(field, value)
        }
    }

    private func addMatch(_ name: String, _ value: String) throws {
        let j = try handle()
        let bytes = Array("\(name)=\(value)".utf8)
        let r = bytes.withUnsafeBytes { sd_journal_add_match(j, $0.baseAddress, $0.count) }
        if r < 0 { throw JournalReaderError.readFailed(operation: "sd_journal_add_match \(name)", errno: -r) }
    }

    /// The distinct values of `field` across the open files, or nil when
    /// there are more than `limit`.
    private func uniqueValues(_ field: String, limit: Int) -> Set<String>? {
        guard let j = journal else { return nil }
        guard sd_journal_query_unique(j, field) >= 0 else { return nil }
        defer { sd_journal_restart_unique(j) }
        var out = Set<String>()
        let prefix = field.utf8.count + 1
        while true {
            var ptr: UnsafeRawPointer?
            var len = 0
            let r = sd_journal_enumerate_available_unique(j, &ptr, &len)
            if r <= 0 { return out }
            guard let p = ptr, len > prefix, len <= 256 else { continue }
            let buf = UnsafeRawBufferPointer(start: p + prefix, count: len - prefix)
            out.insert(String(decoding: buf, as: UTF8.self))
            if out.count > limit { return nil }
        }
    }

    /// The entry under the cursor, reduced to allow-listed fields; nil when
    /// it is neither an alert nor an event.
    private func currentRecord(_ j: OpaquePointer) -> AlertRecord? {
        var usec: UInt64 = 0
        guard sd_journal_get_realtime_usec(j, &usec) >= 0 else { return nil }
        var fields: [String: String] = [:]
        sd_journal_restart_data(j)
        while fields.count < JournalReader.maxFields {
            var ptr: UnsafeRawPointer?
            var len = 0
            let r = sd_journal_enumerate_available_data(j, &ptr, &len)
            if r <= 0 { break }
            guard let p = ptr else { continue }
            let data = UnsafeRawBufferPointer(start: p, count: len)
            // Field names are at most 64 bytes; look no further for the '='.
            guard let eq = data.prefix(65).firstIndex(of: UInt8(ascii: "=")), eq > 0 else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: data[0..<eq]), as: UTF8.self)
            guard JournalReader.isAllowedField(name), fields[name] == nil else { continue }
            fields[name] = JournalReader.truncatedValue(UnsafeRawBufferPointer(rebasing: data[(eq + 1)...]))
        }
        let alertKind = fields["DOCKWARD_ALERT"]
        guard let kind = alertKind ?? fields["DOCKWARD_EVENT"] else { return nil }
        let priority = fields["PRIORITY"].flatMap(Int.init).flatMap(Priority.init(rawValue:)) ?? .info
        let containerID = fields["CONTAINER_ID"] ?? fields["CONTAINER_ID_FULL"].map { String($0.prefix(12)) }
        return AlertRecord(realtime: usec, priority: priority, kind: kind, isAlert: alertKind != nil,
                           containerName: fields["CONTAINER_NAME"], containerID: containerID,
                           message: fields["MESSAGE"] ?? "", fields: fields, isTrusted: JournalTrust.isTrusted(fields))
    }

    /// UTF-8 text of at most `maxValueBytes` bytes, cut on a character
    /// boundary and marked with "…" when cut. Invalid bytes become U+FFFD.
    static func truncatedValue(_ bytes: UnsafeRawBufferPointer) -> String {
        let limit = maxValueBytes
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        var cut = limit
        // Back off continuation bytes (10xxxxxx) so a character is not split.
        while cut > 0 && (bytes[cut] & 0xC0) == 0x80 { cut -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<cut]), as: UTF8.self) + "…"
    }
}
