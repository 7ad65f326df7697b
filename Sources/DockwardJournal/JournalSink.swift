import Synchronization
import CSystemd
import DockwardCore
import DockwardSystem
#if canImport(Glibc)
import Glibc
#endif

/// Writes entries to journald through `sd_journal_sendv`, one structured entry
/// each. When journald cannot be reached the entry goes to stderr at once and
/// into a bounded queue; when journald is back the queue is written in order,
/// each entry with its original time in `DOCKWARD_ORIGINAL_TIME_USEC`, and
/// the outlet then writes a `journal-replayed` entry saying how many were
/// kept and how many had to be dropped. The daemon keeps running either way.
///
/// The one part of the daemon's write path with a lock of its own: alerts
/// come from the daemon's queue, but the log handler writes operational
/// lines from whatever thread logs (the engine client's event loops among
/// them), and both must see one outage queue in one order. A `Mutex` holds
/// that queue and the journald-down flag, and nothing else is mutable.
public final class JournalSink: Sendable {
    public static let identifier = "dockward"
    /// An outage of minutes at a few entries a second fits; a flood is cut
    /// from the oldest end, and counted.
    public static let defaultQueueLimit = 4096

    /// Also print every entry to stderr (for `make run` in a terminal).
    public let mirrorToStderr: Bool
    public let queueLimit: Int
    private let outage: Mutex<OutageQueue>

    public init(mirrorToStderr: Bool = false, queueLimit: Int = JournalSink.defaultQueueLimit) {
        self.mirrorToStderr = mirrorToStderr
        self.queueLimit = max(1, queueLimit)
        outage = Mutex(OutageQueue(limit: max(1, queueLimit)))
    }

    /// Returns true when journald took the entry now.
    @discardableResult
    public func write(_ entry: JournalEntry) -> Bool {
        write(fields: entry.allFields, priority: entry.priority, kind: entry.kind.rawValue)
    }

    @discardableResult
    public func write(fields: [(name: String, value: String)], priority: Priority, kind: String?) -> Bool {
        var all = fields
        all.append(("SYSLOG_IDENTIFIER", JournalSink.identifier))
        let ok: Bool = outage.withLock { q in
            // Queued entries go first so the journal keeps their order.
            if q.journalDown { q.flush() }
            if !q.journalDown {
                let rc = JournalSink.send(all)
                if rc >= 0 { return true }
                q.journalDown = true
                q.downSinceUsec = SystemClock.realtimeMicros()
                StderrWriter.write("dockward: journald unreachable (\(String(cString: strerror(-rc)))); "
                    + "writing entries to stderr and keeping up to \(q.limit) for the journal\n")
            }
            q.enqueue(all)
            return false
        }
        if !ok || mirrorToStderr {
            StderrWriter.write(StderrWriter.line(fields: fields, priority: priority, kind: kind))
        }
        return ok
    }

    /// Tries the queue again; the poll loop calls it every tick, so entries
    /// reach the journal soon after journald returns even if no new one is written.
    public func retryQueued() {
        outage.withLock { q in if q.journalDown { q.flush() } }
    }

    /// The outage that ended since the last call, once: the outlet writes
    /// it as `journal-replayed`.
    public func takeFinishedReplay() -> JournalReplay? {
        outage.withLock { q in
            defer { q.finishedReplay = nil }
            return q.finishedReplay
        }
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

/// What the sink keeps while journald is away, under its `Mutex`.
private struct OutageQueue: Sendable {
    struct Queued: Sendable {
        var fields: [(name: String, value: String)]
        var realtimeUsec: UInt64
    }

    let limit: Int
    var journalDown = false
    var downSinceUsec: UInt64 = 0
    var queue: [Queued] = []
    var queueStart = 0
    var dropped = 0
    var replayed = 0
    var finishedReplay: JournalReplay?

    init(limit: Int) { self.limit = limit }

    mutating func enqueue(_ fields: [(name: String, value: String)]) {
        if queue.count - queueStart >= limit {
            queueStart += 1
            dropped += 1
        }
        queue.append(Queued(fields: fields, realtimeUsec: SystemClock.realtimeMicros()))
        if queueStart > 1024 && queueStart * 2 > queue.count {
            queue.removeFirst(queueStart)
            queueStart = 0
        }
    }

    mutating func flush() {
        while queueStart < queue.count {
            let item = queue[queueStart]
            var fields = item.fields
            fields.append(("DOCKWARD_ORIGINAL_TIME_USEC", String(item.realtimeUsec)))
            guard JournalSink.send(fields) >= 0 else { return }
            queueStart += 1
            replayed += 1
        }
        // Everything queued is in: journald is back. The notice is the
        // outlet's to write, as a typed `journal-replayed` entry.
        queue.removeAll(keepingCapacity: false)
        queueStart = 0
        StderrWriter.write("dockward: journald reachable again; \(replayed) queued entries written, \(dropped) dropped\n")
        finishedReplay = JournalReplay(outageSeconds: (SystemClock.realtimeMicros() - downSinceUsec) / 1_000_000,
                                       written: replayed, dropped: dropped, queueLimit: limit)
        dropped = 0
        replayed = 0
        journalDown = false
    }
}

enum StderrWriter {
    /// Best effort: with journald down, stderr is the last place left to say it.
    static func write(_ s: String) { FileDescriptorWriter.writeAll(2, s) }

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
