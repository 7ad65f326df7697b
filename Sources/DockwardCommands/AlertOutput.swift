import DockwardCore
import DockwardJournal
import DockwardSystem
#if canImport(Glibc)
import Glibc
#endif

/// How `dockward alerts` prints records: a table, JSON lines, or a summary.
/// Everything from the journal is treated as hostile: table cells have
/// control characters replaced, JSON strings are escaped.
public enum AlertOutput {
    // Column widths of the table.
    static let timeWidth = 19
    static let priorityWidth = 8    // "PRIORITY", "warning"
    static let kindWidth = 20       // "socket-mount-allowed"
    static let containerWidth = 24
    static let gap = "  "

    /// Characters before the MESSAGE column.
    public static var tablePrefixWidth: Int { timeWidth + priorityWidth + kindWidth + containerWidth + 4 * gap.count }

    /// Message width for a terminal of `columns` (nil: not a terminal, ~100).
    public static func messageWidth(terminalColumns columns: Int?) -> Int {
        guard let c = columns, c > 0 else { return 100 }
        return max(20, c - tablePrefixWidth)
    }

    public static func tableHeader() -> String {
        pad("TIME", timeWidth) + gap + pad("PRIORITY", priorityWidth) + gap + pad("KIND", kindWidth) + gap
            + pad("CONTAINER", containerWidth) + gap + "MESSAGE"
    }

    public static func tableRow(_ r: AlertRecord, messageWidth: Int) -> String {
        let container = r.containerDisplay.map(cell) ?? "-"
        // A forged entry keeps its claims in their columns but never reads
        // as an alert: the message column starts with who really wrote it.
        let message = r.isTrusted ? r.message : "UNTRUSTED, written by \(r.writer), not by dockward: \(r.message)"
        return pad(localTime(r.realtime), timeWidth) + gap + pad(r.priority.name, priorityWidth) + gap
            + pad(fit(cell(r.kind), kindWidth), kindWidth) + gap
            + pad(fit(container, containerWidth), containerWidth) + gap
            + fit(cell(message), messageWidth)
    }

    /// One JSON object, no newline. Keys: time (ISO 8601, UTC, µs),
    /// realtime_usec, priority (name), type (alert|event, or untrusted for
    /// an entry dockward did not write), trusted, kind, container,
    /// container_id (null for the host), message, fields (the other
    /// allow-listed fields, journald's `_UID`, `_COMM`... among them).
    public static func json(_ r: AlertRecord) -> String {
        let promoted: Set<String> = ["MESSAGE", "PRIORITY", "DOCKWARD_ALERT", "DOCKWARD_EVENT", "CONTAINER_NAME", "CONTAINER_ID"]
        let extra = r.fields.filter { !promoted.contains($0.key) }.sorted { $0.key < $1.key }
        var s = "{"
        s += "\"time\":" + JSON.quoted(isoTime(r.realtime))
        s += ",\"realtime_usec\":\(r.realtime)"
        s += ",\"priority\":" + JSON.quoted(r.priority.name)
        s += ",\"type\":" + JSON.quoted(!r.isTrusted ? "untrusted" : r.isAlert ? "alert" : "event")
        s += ",\"trusted\":\(r.isTrusted)"
        s += ",\"kind\":" + JSON.quoted(r.kind)
        s += ",\"container\":" + (r.containerName.map(JSON.quoted) ?? "null")
        s += ",\"container_id\":" + (r.containerID.map(JSON.quoted) ?? "null")
        s += ",\"message\":" + JSON.quoted(r.message)
        s += ",\"fields\":{" + extra.map { JSON.quoted($0.key) + ":" + JSON.quoted($0.value) }.joined(separator: ",") + "}"
        return s + "}"
    }

    // MARK: - Summary

    public static func summaryHeader() -> String {
        pad("PRIORITY", priorityWidth) + gap + pad("COUNT", 5, right: true) + gap + pad("CONTAINER", containerWidth) + gap
            + pad("KIND", kindWidth) + gap + pad("FIRST", timeWidth) + gap + "LAST"
    }

    public static func summaryRow(_ row: AlertSummary.Row) -> String {
        pad(row.worst.name, priorityWidth) + gap + pad(String(row.count), 5, right: true) + gap
            + pad(fit(row.container.map(cell) ?? "-", containerWidth), containerWidth) + gap
            + pad(fit(cell(row.kind), kindWidth), kindWidth) + gap
            + localTime(row.first) + gap + localTime(row.last)
    }

    /// The summary's own line for forged entries; nil when there are none.
    public static func untrustedLine(_ summary: AlertSummary) -> String? {
        let count = summary.untrusted.values.reduce(0, +)
        guard count > 0 else { return nil }
        let writers = summary.untrusted.sorted { $0.key < $1.key }.map { "\(cell($0.key)): \($0.value)" }
        return "UNTRUSTED: \(count) \(count == 1 ? "entry claims" : "entries claim") to be dockward's but journald says "
            + "someone else wrote \(count == 1 ? "it" : "them") (\(writers.joined(separator: "; "))); "
            + "list them with --untrusted"
    }

    public static func untrustedJSON(writer: String, count: Int) -> String {
        "{\"untrusted\":true,\"writer\":\(JSON.quoted(writer)),\"count\":\(count)}"
    }

    public static func summaryJSON(_ row: AlertSummary.Row) -> String {
        "{\"priority\":\(JSON.quoted(row.worst.name)),\"count\":\(row.count),\"container\":"
            + (row.container.map(JSON.quoted) ?? "null") + ",\"kind\":\(JSON.quoted(row.kind))"
            + ",\"first\":\(JSON.quoted(isoTime(row.first))),\"last\":\(JSON.quoted(isoTime(row.last)))}"
    }

    // MARK: - Text helpers

    /// `YYYY-MM-DD HH:MM:SS` in the process's local time zone (TZ).
    public static func localTime(_ usec: UInt64) -> String {
        var t = time_t(usec / 1_000_000)
        var tm = tm()
        localtime_r(&t, &tm)
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday)) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).
    public static func isoTime(_ usec: UInt64) -> String {
        var t = time_t(usec / 1_000_000)
        var tm = tm()
        gmtime_r(&t, &tm)
        var frac = String(usec % 1_000_000)
        frac = String(repeating: "0", count: 6 - frac.count) + frac
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(frac)Z"
    }

    /// Control characters (C0, DEL, C1) become "?", so a value cannot break
    /// the line or drive the terminal.
    public static func cell(_ s: String) -> String { AlertText.sanitizedForMessage(s) }

    /// At most `width` characters; cut ones end in "…".
    public static func fit(_ s: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        guard s.count > width else { return s }
        return String(s.prefix(width - 1)) + "…"
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        guard n < width else { return s }
        let spaces = String(repeating: " ", count: width - n)
        return right ? spaces + s : s + spaces
    }

    static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }

}

/// Counts per container and kind. Rows come worst priority first, then by
/// count (most first), then by container and kind.
public struct AlertSummary: Sendable {
    public struct Row: Equatable, Sendable {
        /// Name or short id; nil for the host.
        public var container: String?
        public var kind: String
        public var worst: Priority
        public var count: Int
        public var first: UInt64
        public var last: UInt64
    }

    private struct Key: Hashable {
        var container: String?
        var kind: String
    }

    private var groups: [Key: Row] = [:]
    /// Trusted entries counted in `rows`.
    public private(set) var total = 0
    /// Entries that claim to be dockward's but are not, by writer ("uid 65534, logger").
    public private(set) var untrusted: [String: Int] = [:]

    public init() {}

    /// Untrusted records are counted apart, by writer, never in a row.
    public mutating func add(_ r: AlertRecord) {
        guard r.isTrusted else {
            untrusted[r.writer, default: 0] += 1
            return
        }
        total += 1
        let key = Key(container: r.containerDisplay, kind: r.kind)
        if var row = groups[key] {
            row.count += 1
            row.worst = max(row.worst, r.priority)
            row.first = min(row.first, r.realtime)
            row.last = max(row.last, r.realtime)
            groups[key] = row
        } else {
            groups[key] = Row(container: key.container, kind: r.kind, worst: r.priority, count: 1,
                              first: r.realtime, last: r.realtime)
        }
    }

    public var rows: [Row] {
        groups.values.sorted { a, b in
            if a.worst != b.worst { return a.worst > b.worst }
            if a.count != b.count { return a.count > b.count }
            if a.container != b.container { return (a.container ?? "") < (b.container ?? "") }
            return a.kind < b.kind
        }
    }
}

/// Parses `--since`: `1h`, `30m`, `2d`, `1h30m`, `90s`, `1w` (optionally `-1h`),
/// `now`, `today`, `yesterday`, `2026-11-29`, `2026-11-29 10:00[:ss]` (local
/// time) and ISO 8601 (`2026-11-29T10:00:00[.fff][Z|+01:00]`).
public enum SinceParser {
    public struct Invalid: Error, CustomStringConvertible {
        public let text: String
        public var description: String {
            "invalid --since '\(text)': use a relative time (1h, 30m, 2d, 1h30m), now, today, yesterday, "
                + "a local timestamp (2026-11-29 10:00 or 2026-11-29 10:00:05) or ISO 8601 (2026-11-29T10:00:00Z)"
        }
    }

    /// Microseconds since the epoch. `nowMicros` and the process's TZ give the
    /// reference for relative times and local timestamps.
    public static func parse(_ raw: String, nowMicros: UInt64 = SystemClock.realtimeMicros()) throws -> UInt64 {
        let text = raw.trimmingSpaces().lowercased()
        let invalid = Invalid(text: raw)
        switch text {
        case "now": return nowMicros
        case "today", "yesterday":
            var t = time_t(nowMicros / 1_000_000)
            var tm = tm()
            localtime_r(&t, &tm)
            tm.tm_hour = 0; tm.tm_min = 0; tm.tm_sec = 0; tm.tm_isdst = -1
            if text == "yesterday" { tm.tm_mday -= 1 }
            let midnight = mktime(&tm)
            guard midnight != -1 else { throw invalid }
            return UInt64(max(0, Int64(midnight))) * 1_000_000
        default: break
        }
        if let seconds = relativeSeconds(text) {
            let delta = seconds * 1_000_000
            return nowMicros > delta ? nowMicros - delta : 0
        }
        if let t = timestamp(text) { return t }
        throw invalid
    }

    /// `1h30m` -> 5400. Units: s, m/min, h, d, w.
    static func relativeSeconds(_ text: String) -> UInt64? {
        var s = Substring(text)
        if s.hasPrefix("-") { s = s.dropFirst() }
        if s.hasSuffix(" ago") { s = s.dropLast(4) }
        guard !s.isEmpty else { return nil }
        var total: UInt64 = 0
        while !s.isEmpty {
            let digits = s.prefix(while: \.isASCIIDigitLike)
            guard !digits.isEmpty, digits.count <= 9, let n = UInt64(digits) else { return nil }
            s = s.dropFirst(digits.count)
            let unit = s.prefix(while: { $0.isLetter })
            s = s.dropFirst(unit.count)
            let mult: UInt64
            switch unit {
            case "s", "sec": mult = 1
            case "m", "min": mult = 60
            case "h": mult = 3600
            case "d": mult = 86400
            case "w": mult = 7 * 86400
            default: return nil
            }
            total += n * mult
        }
        return total
    }

    /// `YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|±HH[:]MM]`.
    static func timestamp(_ text: String) -> UInt64? {
        let c = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= c.count else { return nil }
            var n = 0
            for k in i..<(i + width) {
                guard c[k] >= 48 && c[k] <= 57 else { return nil }
                n = n * 10 + Int(c[k] - 48)
            }
            i += width
            return n
        }
        func expect(_ ch: Character) -> Bool {
            guard i < c.count, c[i] == ch.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        var hour = 0, minute = 0, second = 0, micros = 0
        var offset: Int? = nil   // seconds east of UTC; nil = local time
        if i < c.count {
            guard expect(" ") || expect("t") else { return nil }
            guard let h = number(2), expect(":"), let m = number(2) else { return nil }
            hour = h; minute = m
            if expect(":") {
                guard let s = number(2) else { return nil }
                second = s
                if expect(".") || expect(",") {
                    var digits = 0
                    while i < c.count, c[i] >= 48 && c[i] <= 57 {
                        if digits < 6 { micros = micros * 10 + Int(c[i] - 48) }
                        digits += 1; i += 1
                    }
                    guard digits > 0 else { return nil }
                    if digits < 6 { for _ in digits..<6 { micros *= 10 } }
                }
            }
            if i < c.count {
                if c[i] == 32 { i += 1 }   // "10:00 +01:00"
                if expect("z") {
                    offset = 0
                } else if i < c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
                    let sign = c[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = number(2) else { return nil }
                    var om = 0
                    if i < c.count {
                        _ = expect(":")
                        guard let m = number(2) else { return nil }
                        om = m
                    }
                    guard oh <= 23, om <= 59 else { return nil }
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
        }
        guard i == c.count else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60 else { return nil }
        var tm = tm()
        tm.tm_year = Int32(year - 1900); tm.tm_mon = Int32(month - 1); tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hour); tm.tm_min = Int32(minute); tm.tm_sec = Int32(second)
        let seconds: Int64
        if let off = offset {
            seconds = Int64(timegm(&tm)) - Int64(off)
        } else {
            tm.tm_isdst = -1
            let t = mktime(&tm)
            guard t != -1 else { return nil }
            seconds = Int64(t)
        }
        // mktime/timegm normalise 2026-02-30 to March: refuse it.
        guard tm.tm_mday == Int32(day), tm.tm_mon == Int32(month - 1), seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000 + UInt64(micros)
    }
}

private extension Character {
    var isASCIIDigitLike: Bool { isASCII && isNumber }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
