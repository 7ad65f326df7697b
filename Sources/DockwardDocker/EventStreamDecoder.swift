import FoundationEssentials

public enum EventDecodeError: Error, Equatable, CustomStringConvertible {
    /// The line exceeded the limit; it was dropped up to its newline.
    case lineTooLong(limit: Int)
    case invalidUTF8
    /// Not JSON, or a field of the wrong type.
    case malformedJSON(String)
    case missingField(String)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "event line longer than \(limit) bytes, skipped"
        case .invalidUTF8: return "event line is not valid UTF-8"
        case .malformedJSON(let detail): return "event line is not a valid event: \(detail)"
        case .missingField(let field): return "event line has no \(field)"
        }
    }
}

/// Splits the engine's newline-delimited JSON event stream, arriving in
/// arbitrary chunks, into events. Memory stays bounded by `maxLineBytes`
/// whatever the engine (or something impersonating it) sends.
public struct EventStreamDecoder {
    public let maxLineBytes: Int
    private var line: [UInt8] = []
    /// Set after an over-long line was reported, until its newline arrives.
    private var skipping = false

    public init(maxLineBytes: Int = 65536) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    public mutating func feed(_ bytes: [UInt8]) -> [Result<EngineEvent, EventDecodeError>] {
        bytes.withUnsafeBytes { feed($0) }
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Result<EngineEvent, EventDecodeError>] {
        var results: [Result<EngineEvent, EventDecodeError>] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline ?? bytes.count
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if !skipping {
                if line.count + piece.count > maxLineBytes {
                    results.append(.failure(.lineTooLong(limit: maxLineBytes)))
                    line.removeAll(keepingCapacity: true)
                    skipping = true
                } else {
                    line.append(contentsOf: piece)
                }
            }
            guard newline != nil else { break }
            if skipping {
                skipping = false
            } else if let result = Self.decodeLine(line) {
                results.append(result)
            }
            line.removeAll(keepingCapacity: true)
            start = end + 1
        }
        return results
    }

    /// nil for a blank line (the engine sends none, but proxies may).
    static func decodeLine(_ bytes: [UInt8]) -> Result<EngineEvent, EventDecodeError>? {
        guard bytes.contains(where: { !Self.isJSONWhitespace($0) }) else { return nil }
        let hadError = transcode(
            bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true, into: { _ in })
        if hadError { return .failure(.invalidUTF8) }
        let wire: WireEvent
        do {
            wire = try JSONDecoder().decode(WireEvent.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            // Name the field up to the object that holds it, not the member:
            // JSONDecoder visits an object's members in hash order, so with
            // two bad members the one named would change from run to run.
            var path = context.codingPath.map(\.stringValue)
            if path.count >= 2 && path[path.count - 2] == "Attributes" { path.removeLast() }
            let field = path.joined(separator: ".")
            return .failure(.malformedJSON("wrong type for \(field.isEmpty ? "event" : field)"))
        } catch {
            return .failure(.malformedJSON("not JSON"))
        }
        return wire.event()
    }

    private static func isJSONWhitespace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
    }
}

/// Both shapes the engine has used: current (Type, Action, Actor) and the
/// legacy one (status, id, from) that engines before API 1.22 sent alone.
private struct WireEvent: Decodable {
    struct Actor: Decodable {
        var id: String?
        var attributes: [String: String]?
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
    }
    var type: String?
    var action: String?
    var actor: Actor?
    var timeNano: Int64?
    var time: Int64?
    var status: String?
    var id: String?
    var from: String?
    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", timeNano, time, status, id, from
    }

    func event() -> Result<EngineEvent, EventDecodeError> {
        guard let actorID = nonEmpty(actor?.id) ?? nonEmpty(id) else { return .failure(.missingField("Actor.ID")) }
        // Legacy engines only reported container events, and those carried an id.
        guard let type = nonEmpty(type) ?? (nonEmpty(id) != nil ? "container" : nil) else {
            return .failure(.missingField("Type"))
        }
        guard let action = nonEmpty(action) ?? nonEmpty(status) else { return .failure(.missingField("Action")) }
        let nanos: Int64
        if let timeNano {
            nanos = timeNano
        } else if let time {
            let (scaled, overflow) = time.multipliedReportingOverflow(by: 1_000_000_000)
            guard !overflow else { return .failure(.malformedJSON("time out of range")) }
            nanos = scaled
        } else {
            return .failure(.missingField("timeNano"))
        }
        var attributes = actor?.attributes ?? [:]
        if attributes["image"] == nil, let from = nonEmpty(from) {
            attributes["image"] = from
        }
        return .success(EngineEvent(type: type, action: action, actorID: actorID, attributes: attributes, timeNano: nanos))
    }

    private func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
