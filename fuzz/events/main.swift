// libFuzzer target: EventStreamDecoder (Sources/DockwardDocker/EventStreamDecoder.swift).
//
// Built as module DockwardDocker with EventStreamDecoder.swift and EngineEvent.swift
// (see fuzz/build.sh), so the decoder's internal decodeLine is visible here.
//
// Input layout: byte 0 picks maxLineBytes and the chunking mode, byte 1 seeds
// the chunk sizes; the rest is the stream. Checks, on every input:
// - no crash (ASan, exclusivity and overflow traps included);
// - bounded memory: after every feed the decoder's pending line holds at most
//   maxLineBytes bytes (read through Mirror, the field is private);
// - the stream fed whole and fed in chunks yields the same results;
// - both equal a reference model: split at "\n"; a complete line longer than
//   maxLineBytes is one .lineTooLong, else decodeLine(line) unless blank; a
//   trailing partial line longer than the limit is one .lineTooLong;
// - every decoded event has non-empty type, action and actor id.

import Foundation

private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !ok() { fatalError("property violated: \(message())") }
}

private let limits = [1, 16, 64, 256, 1024, 65536]

private func pendingLineCount(_ decoder: EventStreamDecoder) -> Int {
    for child in Mirror(reflecting: decoder).children where child.label == "line" {
        if let line = child.value as? [UInt8] { return line.count }
    }
    fatalError("EventStreamDecoder has no `line: [UInt8]` field any more; update fuzz/events/main.swift")
}

/// Small deterministic generator for chunk sizes (xorshift).
private struct Chunker {
    var state: UInt32
    let maxChunk: Int
    mutating func next() -> Int {
        state ^= state << 13; state ^= state >> 17; state ^= state << 5
        return 1 + Int(state % UInt32(maxChunk))
    }
}

private func reference(_ stream: ArraySlice<UInt8>, limit: Int) -> [Result<EngineEvent, EventDecodeError>] {
    var results: [Result<EngineEvent, EventDecodeError>] = []
    var start = stream.startIndex
    while start < stream.endIndex {
        guard let nl = stream[start...].firstIndex(of: 0x0A) else {
            if stream.endIndex - start > limit { results.append(.failure(.lineTooLong(limit: limit))) }
            break
        }
        let line = Array(stream[start..<nl])
        if line.count > limit {
            results.append(.failure(.lineTooLong(limit: limit)))
        } else if let r = EventStreamDecoder.decodeLine(line) {
            results.append(r)
        }
        start = nl + 1
    }
    return results
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let control = input[0], seed = input[1]
    let limit = limits[Int(control & 0x07) % limits.count]
    // Chunks of 1...maxChunk bytes; mode 3 of the high bits feeds one byte at a time.
    let maxChunk = [7, 64, 512, 1][Int(control >> 6)]
    let streamRaw = UnsafeRawBufferPointer(rebasing: input[2...])
    let stream = Array(streamRaw)

    // Whole, straight from the fuzzer's buffer.
    var whole = EventStreamDecoder(maxLineBytes: limit)
    let wholeResults = whole.feed(streamRaw)
    check(pendingLineCount(whole) <= limit, "pending line over the limit after one feed")

    // In chunks, alternating the raw-buffer and the [UInt8] entry points.
    var chunked = EventStreamDecoder(maxLineBytes: limit)
    var chunker = Chunker(state: UInt32(seed) &* 2_654_435_761 | 1, maxChunk: maxChunk)
    var chunkedResults: [Result<EngineEvent, EventDecodeError>] = []
    var offset = 0, n = 0
    while offset < stream.count {
        let len = min(chunker.next(), stream.count - offset)
        if n % 2 == 0 {
            chunkedResults += chunked.feed(UnsafeRawBufferPointer(rebasing: streamRaw[offset..<offset + len]))
        } else {
            chunkedResults += chunked.feed(Array(stream[offset..<offset + len]))
        }
        // An empty chunk (a zero-length read) must change nothing.
        if n % 5 == 0 { chunkedResults += chunked.feed([]) }
        check(pendingLineCount(chunked) <= limit, "pending line \(pendingLineCount(chunked)) bytes > limit \(limit)")
        offset += len
        n += 1
    }

    check(wholeResults == chunkedResults,
          "whole vs chunked differ (limit \(limit), maxChunk \(maxChunk)):\n  whole:   \(wholeResults)\n  chunked: \(chunkedResults)")
    let expected = reference(stream[...], limit: limit)
    check(wholeResults == expected, "decoder vs reference differ (limit \(limit)):\n  decoder:   \(wholeResults)\n  reference: \(expected)")
    for case .success(let e) in wholeResults {
        check(!e.type.isEmpty && !e.action.isEmpty && !e.actorID.isEmpty, "event with an empty field: \(e)")
    }
    return 0
}
