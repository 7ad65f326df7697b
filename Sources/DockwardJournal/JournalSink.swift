import CSystemd
import DockwardCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes entries to journald through `sd_journal_sendv`, one structured entry
/// each. When journald cannot be reached the entry goes to stderr instead, so
/// nothing is silently lost and the daemon keeps running.
public final class JournalSink: @unchecked Sendable {
    public static let identifier = "dockward"

    /// Also print every entry to stderr (for `make run` in a terminal).
    public let mirrorToStderr: Bool
    private let lock = NSLockLike()
    private var journalDown = false

    public init(mirrorToStderr: Bool = false) {
        self.mirrorToStderr = mirrorToStderr
    }

    /// Returns true when journald took the entry.
    @discardableResult
    public func write(_ entry: JournalEntry) -> Bool {
        write(fields: entry.allFields, priority: entry.priority, kind: entry.kind.rawValue)
    }

    @discardableResult
    public func write(fields: [(name: String, value: String)], priority: Priority, kind: String?) -> Bool {
        var all = fields
        all.append(("SYSLOG_IDENTIFIER", JournalSink.identifier))
        let rc = JournalSink.send(all)
        let ok = rc >= 0
        lock.locked {
            if ok == journalDown {
                journalDown = !ok
                if !ok {
                    StderrWriter.write("dockward: journald unreachable (\(String(cString: strerror(-rc)))); "
                        + "writing entries to stderr\n")
                } else {
                    StderrWriter.write("dockward: journald reachable again\n")
                }
            }
        }
        if !ok || mirrorToStderr {
            StderrWriter.write(StderrWriter.line(fields: fields, priority: priority, kind: kind))
        }
        return ok
    }

    /// One `FIELD=value` iovec per field. The strings' bytes are copied into
    /// one buffer that lives for the duration of the call.
    static func send(_ fields: [(name: String, value: String)]) -> Int32 {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        buffer.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 1 })
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            var iovecs = ranges.map { r in
                iovec(iov_base: raw.baseAddress! + r.lowerBound, iov_len: r.count)
            }
            return iovecs.withUnsafeMutableBufferPointer { iov in
                sd_journal_sendv(iov.baseAddress, Int32(iov.count))
            }
        }
    }
}

/// A tiny mutex so the sink can be shared by the poll queue and the engine
/// client's threads.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

enum StderrWriter {
    static func write(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    /// `<4>dockward[pids-high]: MESSAGE (FIELD=value ...)` on one line, with
    /// control characters escaped so a hostile name cannot fake a line.
    static func line(fields: [(name: String, value: String)], priority: Priority, kind: String?) -> String {
        let message = fields.first(where: { $0.name == "MESSAGE" })?.value ?? ""
        let skip: Set<String> = ["MESSAGE", "PRIORITY", "MESSAGE_ID", "SYSLOG_IDENTIFIER", "DOCKWARD_ALERT", "DOCKWARD_EVENT"]
        let extra = fields.filter { !skip.contains($0.name) }.map { "\($0.name)=\(escape($0.value))" }
        let tag = kind.map { "[\($0)]" } ?? ""
        let tail = extra.isEmpty ? "" : " (\(extra.joined(separator: " ")))"
        return "<\(priority.rawValue)>dockward\(tag): \(escape(message))\(tail)\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
