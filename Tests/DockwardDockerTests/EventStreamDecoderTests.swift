import DockwardCore
@testable import DockwardDocker
import XCTest

final class EventStreamDecoderTests: XCTestCase {
    static let idA = String(repeating: "a1", count: 32)
    static let idB = String(repeating: "b2", count: 32)

    /// What Docker 20.10 sends: both the current and the legacy fields.
    static let create = #"{"status":"create","id":"\#(idA)","from":"local/busybox:test","Type":"container","Action":"create","Actor":{"ID":"\#(idA)","Attributes":{"image":"local/busybox:test","name":"web-1"}},"scope":"local","time":1795915554,"timeNano":1795915554983841697}"#
    /// Pre-1.22 engines: no Type/Action/Actor, seconds only.
    static let legacyStart = #"{"status":"start","id":"\#(idA)","from":"local/busybox:test","time":1795915555}"#
    static let die = #"{"Type":"container","Action":"die","Actor":{"ID":"\#(idA)","Attributes":{"exitCode":"137","name":"web-1"}},"scope":"local","time":1795915556,"timeNano":1795915556000000001}"#
    static let network = #"{"Type":"network","Action":"disconnect","Actor":{"ID":"n1","Attributes":{"container":"\#(idA)"}},"timeNano":1795915557000000000}"#
    static let destroy = #"{"Type":"container","Action":"destroy","Actor":{"ID":"\#(idB)","Attributes":{"name":"db"}},"time":1795915558,"timeNano":1795915558123456789}"#

    enum Expect: Equatable {
        case event(EngineEvent)
        case error(EventDecodeError)
    }

    /// A payload mixing every kind of line, with what must come out of it, in order.
    static func payload(maxLineBytes: Int) -> (bytes: [UInt8], expected: [Expect]) {
        var bytes: [UInt8] = []
        var expected: [Expect] = []
        func line(_ text: String, _ expect: Expect?, ending: String = "\n") {
            bytes += Array(text.utf8) + Array(ending.utf8)
            if let expect { expected.append(expect) }
        }
        line(create, .event(EngineEvent(
            type: "container", action: "create", actorID: idA,
            attributes: ["image": "local/busybox:test", "name": "web-1"], timeNano: 1795915554983841697)))
        line("", nil)
        line(legacyStart, .event(EngineEvent(
            type: "container", action: "start", actorID: idA,
            attributes: ["image": "local/busybox:test"], timeNano: 1795915555_000_000_000)))
        line("this is not json", .error(.malformedJSON("not JSON")))
        line("   \t", nil)
        line(die, .event(EngineEvent(
            type: "container", action: "die", actorID: idA,
            attributes: ["exitCode": "137", "name": "web-1", ], timeNano: 1795915556000000001)), ending: "\r\n")
        // Invalid UTF-8 inside a string value.
        bytes += Array(#"{"Type":"container","Action":"st"#.utf8) + [0xFF, 0xFE]
            + Array(#"rt","Actor":{"ID":"x"},"timeNano":1}"#.utf8) + [0x0A]
        expected.append(.error(.invalidUTF8))
        line(#"{"Type":"container","Action":"start","Actor":{"ID":"x"},"timeNano":"soon"}"#,
             .error(.malformedJSON("wrong type for timeNano")))
        line(#"{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":{"n":1}},"timeNano":1}"#,
             .error(.malformedJSON("wrong type for Actor.Attributes")))
        line(#"["an","array"]"#, .error(.malformedJSON("wrong type for event")))
        line(#"{"Type":"container","Action":"start","timeNano":1}"#, .error(.missingField("Actor.ID")))
        let padding = String(repeating: "A", count: maxLineBytes + 10)
        line(#"{"Type":"container","Action":"x","Actor":{"ID":"y","Attributes":{"pad":"\#(padding)"}},"timeNano":1}"#,
             .error(.lineTooLong(limit: maxLineBytes)))
        line(network, .event(EngineEvent(
            type: "network", action: "disconnect", actorID: "n1",
            attributes: ["container": idA], timeNano: 1795915557000000000)))
        line(destroy, .event(EngineEvent(
            type: "container", action: "destroy", actorID: idB,
            attributes: ["name": "db"], timeNano: 1795915558123456789)))
        return (bytes, expected)
    }

    private func run(_ bytes: [UInt8], chunks sizes: () -> Int, maxLineBytes: Int = 65536) -> [Expect] {
        var decoder = EventStreamDecoder(maxLineBytes: maxLineBytes)
        var out: [Expect] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + max(1, sizes()))
            // Through the raw-pointer entry point, as the client feeds ByteBuffers.
            let results = bytes[start..<end].withUnsafeBytes { decoder.feed($0) }
            out += results.map { result in
                switch result {
                case .success(let event): return .event(event)
                case .failure(let error): return .error(error)
                }
            }
            start = end
        }
        return out
    }

    func testEveryChunkingYieldsTheSameResultsInOrder() {
        let (bytes, expected) = Self.payload(maxLineBytes: 65536)
        XCTAssertEqual(expected.filter { if case .event = $0 { return true } else { return false } }.count, 5)
        XCTAssertEqual(expected.count, 12)
        for size in [1, 3, 7, 4096, bytes.count] {
            XCTAssertEqual(run(bytes, chunks: { size }), expected, "chunk size \(size)")
        }
        var rng = SplitMix64(seed: 0xD0C4_3A7D)
        for round in 0..<20 {
            let result = run(bytes, chunks: { Int(rng.next() % 200) + 1 })
            XCTAssertEqual(result, expected, "random chunking round \(round)")
        }
    }

    func testArrayEntryPoint() {
        let (bytes, expected) = Self.payload(maxLineBytes: 65536)
        var decoder = EventStreamDecoder()
        let results = decoder.feed(bytes)
        XCTAssertEqual(results.count, expected.count)
        XCTAssertEqual(try? results.last?.get().action, "destroy")
    }

    func testLongLineLimitIsExactAndReportedOnce() {
        let limit = 200
        let ok = #"{"Type":"container","Action":"start","Actor":{"ID":"y"},"timeNano":1,"pad":""#
        let fits = ok + String(repeating: "p", count: limit - ok.utf8.count - 2) + #""}"#
        XCTAssertEqual(fits.utf8.count, limit)
        let tooLong = ok + String(repeating: "p", count: 5 * limit) + #""}"#
        let payload = Array((fits + "\n" + tooLong + "\n" + fits + "\n").utf8)
        for size in [1, 13, payload.count] {
            let out = run(payload, chunks: { size }, maxLineBytes: limit)
            XCTAssertEqual(out.count, 3, "chunk size \(size)")
            guard out.count == 3 else { continue }
            if case .event = out[0] {} else { XCTFail("a line of exactly the limit must decode") }
            XCTAssertEqual(out[1], .error(.lineTooLong(limit: limit)))
            if case .event = out[2] {} else { XCTFail("the line after an over-long one must decode") }
        }
    }

    func testPartialLineWaitsForItsNewline() {
        var decoder = EventStreamDecoder()
        let bytes = Array(Self.die.utf8)
        XCTAssertTrue(decoder.feed(Array(bytes.dropLast(5))).isEmpty)
        XCTAssertTrue(decoder.feed(Array(bytes.suffix(5))).isEmpty)
        let out = decoder.feed([UInt8(ascii: "\n")])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(try? out.first?.get().action, "die")
    }

    func testLegacyLineWithoutIdIsAnError() {
        var decoder = EventStreamDecoder()
        let out = decoder.feed(Array(#"{"status":"pull","time":5}"#.utf8) + [0x0A])
        XCTAssertEqual(out.count, 1)
        if case .failure = out[0] {} else { XCTFail("expected an error, got \(out[0])") }
    }

    /// Found by the fuzzer (fuzz/regressions/events): with two attributes of
    /// the wrong type, the error named a different one from run to run.
    func testWrongTypedAttributesGiveTheSameErrorEveryTime() {
        let id = String(repeating: "ab", count: 32)
        let line = #"{"Type":"container","Action":"create","Actor":{"ID":"\#(id)","Attributes":{"a":1,"b":true,"c":[2]}},"timeNano":1}"# + "\n"
        var first: [Result<EngineEvent, EventDecodeError>]?
        for _ in 0..<20 {
            var decoder = EventStreamDecoder()
            let results = decoder.feed(Array(line.utf8))
            XCTAssertEqual(results.count, 1)
            if let first { XCTAssertEqual(results, first) } else { first = results }
        }
        XCTAssertEqual(first, [.failure(.malformedJSON("wrong type for Actor.Attributes"))])
    }
}

/// Deterministic, so a failing random chunking reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every input under fuzz/regressions/events, found by listing the folder (a
/// file added there is replayed without editing this test), checked for the
/// fuzz target's properties (fuzz/events/main.swift): the stream fed whole,
/// fed a byte at a time and fed to fresh decoders gives the same results.
final class EventStreamRegressionTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fuzz/regressions/events").standardized

    /// The `events` target's limits, picked by bits 0-2 of byte 0.
    static let limits = [1, 16, 64, 256, 1024, 65536]

    static func inputs() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent != "README.md" && !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testEveryEventsRegressionDecodesTheSameWayEveryTime() throws {
        let inputs = try Self.inputs()
        XCTAssertFalse(inputs.isEmpty, "no inputs in \(Self.folder.path)")
        for url in inputs {
            let name = url.lastPathComponent
            let bytes = [UInt8](try Data(contentsOf: url))
            guard bytes.count >= 2 else { XCTFail("\(name): shorter than the two control bytes"); continue }
            let limit = Self.limits[Int(bytes[0] & 0x07) % Self.limits.count]
            let stream = Array(bytes[2...])
            var first: [Result<EngineEvent, EventDecodeError>]?
            for round in 0..<20 {
                var decoder = EventStreamDecoder(maxLineBytes: limit)
                let whole = decoder.feed(stream)
                if let first { XCTAssertEqual(whole, first, "\(name): round \(round) differs") } else { first = whole }
            }
            var bytewise = EventStreamDecoder(maxLineBytes: limit)
            var results: [Result<EngineEvent, EventDecodeError>] = []
            for b in stream { results += bytewise.feed([b]) }
            XCTAssertEqual(results, first, "\(name): fed a byte at a time")
            print("replayed fuzz/regressions/events/\(name): \(first ?? [])")
        }
    }
}
