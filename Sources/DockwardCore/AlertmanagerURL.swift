/// One entry of `alertmanager.urls`: `http://` or `https://`, a host, an
/// optional port. The one parser for those entries: the config loader
/// refuses what it refuses, so the sender never meets a URL the config let by.
public struct AlertmanagerURL: Equatable, Sendable {
    /// Why a text is not an Alertmanager URL, as the config error says it.
    public enum Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        case scheme, userInfo, host, port, path, queryOrFragment, characters

        public var description: String {
            switch self {
            case .scheme: "must start with http:// or https://"
            case .userInfo: "must not carry a user or password; use basic_auth"
            case .host: "needs a host (a name, an IPv4 address or a [bracketed] IPv6 address)"
            case .port: "port must be from 1 to 65535"
            case .path: "must not have a path; put it in path_prefix"
            case .queryOrFragment: "must not have a query or fragment"
            case .characters: "must not contain spaces or control characters"
            }
        }
    }

    public var isHTTPS: Bool
    /// Without brackets (`::1` for `http://[::1]:9093`).
    public var host: String
    /// As written; nil when the scheme's own (80, 443) applies.
    public var port: Int?

    public init(_ text: String) throws(Invalid) {
        guard !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false }) else {
            throw .characters
        }
        let rest: Substring
        if text.hasPrefix("https://") {
            isHTTPS = true
            rest = text.dropFirst("https://".count)
        } else if text.hasPrefix("http://") {
            isHTTPS = false
            rest = text.dropFirst("http://".count)
        } else {
            throw .scheme
        }
        if rest.contains("?") || rest.contains("#") { throw .queryOrFragment }
        let authority = rest.prefix { $0 != "/" }
        // A path of its own would be joined with path_prefix in ways an
        // operator can't see; one place for it keeps the POST target plain.
        let tail = rest.dropFirst(authority.count)
        guard tail.isEmpty || tail == "/" else { throw .path }
        if authority.contains("@") { throw .userInfo }
        let hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .host }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .host }
                portPart = after.dropFirst()
            }
            guard !hostPart.isEmpty, hostPart.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { throw .host }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                hostPart = authority[..<colon]
                portPart = authority[authority.index(after: colon)...]
            } else {
                hostPart = authority
            }
            guard !hostPart.isEmpty,
                  hostPart.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") })
            else { throw .host }
        }
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                  let n = Int(portPart), (1...65535).contains(n) else { throw .port }
            port = n
        } else {
            port = nil
        }
        host = String(hostPart)
    }

    /// The port a connection uses.
    public var effectivePort: Int { port ?? (isHTTPS ? 443 : 80) }

    /// Two entries that reach the same Alertmanager the same way have the
    /// same identity (host names are case-insensitive, the scheme's port
    /// may be written or not, a trailing `/` is nothing).
    public var identity: String {
        let h = host.lowercased()
        return "\(isHTTPS ? "https" : "http")://\(h.contains(":") ? "[\(h)]" : h):\(effectivePort)"
    }
}

extension AlertmanagerURL {
    /// Whether `path` is made of RFC 3986 path characters only (pchar and
    /// `/`, with `%` only in well-formed `%XX` escapes): what may go into a
    /// URL's path as it is, without encoding.
    public static func isPlainPath(_ path: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/".utf8)
        let bytes = Array(path.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return false }
                i += 3
                continue
            }
            guard allowed.contains(bytes[i]) else { return false }
            i += 1
        }
        return true
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(b)
    }
}
