// libFuzzer target: PidsFileParser (Sources/DockwardCgroup/PidsFileParser.swift).
//
// Built as module DockwardCgroup from PidsFileParser.swift and this file,
// linking DockwardCore (see fuzz/build.sh), so the parser's internal helpers
// are visible here.
//
// Checks, on every input:
// - parseCount / parseLimit / parseRefusedForks never trap (overflow included);
// - parseCount agrees with a reference (Int64(String) on the trimmed text when
//   it is all ASCII digits, else nil); parseLimit is the same plus "max" -> unlimited;
// - parseRefusedForks is nil or non-negative;
// - round trip: the decimal rendering of a non-negative Int64 taken from the
//   input (with the kernel's "\n", and with "\r\n"/spaces) parses back to it,
//   through parseCount, parseLimit and a "max N" line of parseRefusedForks.

import DockwardCore

private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !ok() { fatalError("property violated: \(message())") }
}

private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }

/// The reference for parseCount: trim ASCII space, require only digits, let the
/// standard library do the arithmetic.
private func referenceCount(_ bytes: [UInt8]) -> Int64? {
    var s = bytes[...]
    while let f = s.first, isSpace(f) { s = s.dropFirst() }
    while let l = s.last, isSpace(l) { s = s.dropLast() }
    guard !s.isEmpty, s.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return Int64(String(decoding: s, as: UTF8.self))
}

private func withBuffer<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
    bytes.withUnsafeBytes(body)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let bytes = Array(raw)

    // 1. Arbitrary bytes, straight from the fuzzer's buffer (ASan sees the exact bounds).
    let count = PidsFileParser.parseCount(raw)
    let limit = PidsFileParser.parseLimit(raw)
    let refused = PidsFileParser.parseRefusedForks(raw)

    let expected = referenceCount(bytes)
    check(count == expected, "parseCount(\(bytes)) = \(String(describing: count)), expected \(String(describing: expected))")
    if let count { check(count >= 0, "parseCount negative: \(count)") }
    var trimmed = bytes[...]
    while let f = trimmed.first, isSpace(f) { trimmed = trimmed.dropFirst() }
    while let l = trimmed.last, isSpace(l) { trimmed = trimmed.dropLast() }
    let expectedLimit = Array(trimmed) == Array("max".utf8) ? PidsSample.unlimited : expected
    check(limit == expectedLimit, "parseLimit(\(bytes)) = \(String(describing: limit)), expected \(String(describing: expectedLimit))")
    if let refused { check(refused >= 0, "parseRefusedForks negative: \(refused)") }

    // 2. Round trip of a non-negative Int64 built from the first 8 bytes.
    var bits: UInt64 = 0
    for (i, b) in bytes.prefix(8).enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
    let value = Int64(bitPattern: bits & UInt64(Int64.max))
    let decimal = Array(String(value).utf8)
    let suffixes: [[UInt8]] = [[], [0x0A], [0x0D, 0x0A], [0x20, 0x20, 0x0A]]
    let suffix = suffixes[Int(bytes.count > 8 ? bytes[8] % 4 : 0)]
    let text = decimal + suffix
    check(withBuffer(text) { PidsFileParser.parseCount($0) } == value, "parseCount round trip of \(value) with suffix \(suffix)")
    check(withBuffer(text) { PidsFileParser.parseLimit($0) } == value, "parseLimit round trip of \(value) with suffix \(suffix)")
    // pids.events on v2: "max N\nmax.imposed M\n"; on v1 only "max N\n".
    let events = Array("max.imposed 7\n".utf8).filter { _ in bytes.count > 9 && bytes[9] & 1 == 1 }
        + Array("max ".utf8) + text + Array("max.imposed 3\n".utf8).filter { _ in suffix.last == 0x0A }
    check(withBuffer(events) { PidsFileParser.parseRefusedForks($0) } == value,
          "parseRefusedForks round trip of \(value): \(String(decoding: events, as: UTF8.self).debugDescription)")
    // One past Int64.max must be refused, not wrap.
    if value == Int64.max {
        check(withBuffer(Array("9223372036854775808\n".utf8)) { PidsFileParser.parseCount($0) } == nil,
              "parseCount accepted Int64.max + 1")
    }
    return 0
}
