import DockwardCore
import NIOHTTP1

/// The only requests the client can make. No case carries a method or a body,
/// so the client is read-only by construction.
public enum EngineRequest: Sendable, Equatable {
    case ping
    case listContainers(all: Bool)
    case inspect(ContainerID)
    case events(sinceNano: Int64?)
    case volume(name: String)
    case info
    case version

    public var method: HTTPMethod { .GET }

    /// Path and query; every endpoint but `/_ping` is under `/v<apiVersion>`
    /// (`/version` without one, before a version is settled: the engine
    /// answers it in its own newest).
    public func path(apiVersion: String) -> String {
        switch self {
        case .ping:
            return "/_ping"
        case .listContainers(let all):
            return "/v\(apiVersion)/containers/json" + (all ? "?all=1" : "")
        case .inspect(let id):
            // ContainerID is 64 lowercase hex, so it needs no escaping.
            return "/v\(apiVersion)/containers/\(id.full)/json"
        case .volume(let name):
            return "/v\(apiVersion)/volumes/" + Self.queryEscape(name)
        case .info:
            return "/v\(apiVersion)/info"
        case .version:
            return apiVersion.isEmpty ? "/version" : "/v\(apiVersion)/version"
        case .events(let sinceNano):
            var query = "filters=" + Self.queryEscape(#"{"type":["container"]}"#)
            if let sinceNano {
                query += "&since=" + Self.sinceParameter(nanoseconds: sinceNano)
            }
            return "/v\(apiVersion)/events?\(query)"
        }
    }

    /// Docker parses `since` as `<seconds>.<nanoseconds>`; the fraction must be
    /// 9 digits or "1.5" would mean 5 ns. Negative times clamp to the epoch.
    static func sinceParameter(nanoseconds: Int64) -> String {
        let n = max(0, nanoseconds)
        let fraction = String(n % 1_000_000_000)
        return "\(n / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    /// Escapes everything but RFC 3986 unreserved characters.
    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(UnicodeScalar(hex[Int(byte >> 4)])) + String(UnicodeScalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}
