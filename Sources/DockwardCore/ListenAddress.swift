/// A `host:port` to listen on: `127.0.0.1:9327`, `[::1]:9327`, `localhost:9327`.
/// The one parser for `metrics.listen`: the config loader refuses what it
/// refuses, so the metrics server never meets an address the config let by.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// The host without brackets (`::1` for `[::1]:9327`).
    public var host: String
    public var port: Int

    /// Any port, 0 included: for a caller (a test) that deliberately wants
    /// the kernel to pick a free port. Text never yields port 0.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// What `init?(_:)` accepts, for error messages.
    public static let expected = "host:port (e.g. 127.0.0.1:9327 or [::1]:9327)"

    /// `host:port` or `[v6]:port`, the port 1...65535 in decimal digits.
    /// Port 0 is refused: in a config file an operator never means "any free
    /// port", and Prometheus could not find it. A bare IPv6 address needs
    /// brackets (`::1:9327` is ambiguous); a host with a space or a slash
    /// is a typo, not a name.
    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: { $0 == " " || $0 == "/" || $0 == "[" || $0 == "]" }),
              !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0 >= "0" && $0 <= "9" }),
              let port = Int(portPart), (1...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
