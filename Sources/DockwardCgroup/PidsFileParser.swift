import DockwardCore

/// Parsers for the pids controller's files. They work on raw bytes so the poll loop
/// never builds a String; each returns nil for anything the kernel would not write.
public enum PidsFileParser {
    /// `pids.current`, `pids.peak`: "123\n".
    public static func parseCount(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        parseDecimal(trimmed(bytes))
    }

    /// `pids.max`: "max\n" (PidsSample.unlimited) or "50\n".
    public static func parseLimit(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let t = trimmed(bytes)
        if t.count == 3 && t[0] == UInt8(ascii: "m") && t[1] == UInt8(ascii: "a") && t[2] == UInt8(ascii: "x") {
            return PidsSample.unlimited
        }
        return parseDecimal(t)
    }

    /// `pids.events`: the counter of the line whose key is exactly `max`
    /// ("max 5\n"); other lines, such as v2's "max.imposed N", are skipped.
    public static func parseRefusedForks(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if line.count > 4 && line[0] == UInt8(ascii: "m") && line[1] == UInt8(ascii: "a")
                && line[2] == UInt8(ascii: "x") && line[3] == UInt8(ascii: " ") {
                return parseDecimal(trimmed(UnsafeRawBufferPointer(rebasing: line[4...])))
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    /// Non-negative decimal; nil when empty, not all digits, or past Int64.max.
    static func parseDecimal(_ digits: UnsafeRawBufferPointer) -> Int64? {
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// Drops ASCII whitespace at both ends (the kernel's trailing newline, a stray CR).
    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0, end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D
    }
}
