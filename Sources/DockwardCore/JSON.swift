/// dockward's one JSON writer: `dockward alerts --json`, `audit --json`,
/// SARIF and the Alertmanager body are all written through it, so one
/// escaper decides what a hostile container name can do to a line. Keys
/// stay in the order given unless sorted. (The state file is Codable: it is
/// read back as well as written.)
public indirect enum JSON: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(key: String, value: JSON)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements.map { (key: $0.0, value: $0.1) }) }

    /// A string, or null.
    public static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

    /// One line (`pretty: false`), or two-space indented lines; `sortedKeys`
    /// orders every object's keys (a stable output for diffing).
    public func text(pretty: Bool = false, sortedKeys: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, sortedKeys: Bool, indent: Int) {
        let newline = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
        let closing = pretty ? "\n" + String(repeating: "  ", count: indent) : ""
        switch self {
        case .string(let s): out += Self.quoted(s)
        case .integer(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i == 0 ? "" : ",") + newline
                item.write(into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
            }
            out += closing + "]"
        case .object(let pairs):
            guard !pairs.isEmpty else { out += "{}"; return }
            out += "{"
            let ordered = sortedKeys ? pairs.sorted { $0.key < $1.key } : pairs
            for (i, pair) in ordered.enumerated() {
                out += (i == 0 ? "" : ",") + newline + Self.quoted(pair.key) + (pretty ? ": " : ":")
                pair.value.write(into: &out, pretty: pretty, sortedKeys: sortedKeys, indent: indent + 1)
            }
            out += closing + "}"
        }
    }

    /// A JSON string: quotes, backslashes and every control character
    /// escaped, and U+2028/U+2029 too, so a value never breaks a line of
    /// JSON lines nor a JavaScript reader.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || u.value == 0x2028 || u.value == 0x2029 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
