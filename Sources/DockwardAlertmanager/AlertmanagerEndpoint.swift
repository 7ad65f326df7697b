import AsyncHTTPClient
import DockwardCore
import FoundationEssentials
import NIOCore
import NIOSSL

/// Where and how one Alertmanager is asked: the POST's URL and headers and
/// everything its HTTP client is made from. Two equal endpoints can share a
/// client; a reload that changes one (TLS, auth, timeout, prefix) makes a
/// new client for it.
struct AlertmanagerEndpoint: Equatable, Sendable {
    /// As configured: the key of the URL's queue.
    let url: String
    /// Without userinfo: what events, logs and labels name.
    let displayURL: String
    /// `<url><path_prefix>api/v2/alerts`; nil when `url` is no http(s) URL.
    let requestURL: String?
    /// The `Authorization` header's value, if any.
    let authorization: String?
    let timeout: Interval
    /// Host name the server's certificate is checked against (see `make`).
    let dnsOverride: [String: String]
    let credentials: AlertmanagerCredentials
    let isHTTPS: Bool

    /// The path Alertmanager's v2 API takes alerts at, below its route prefix.
    static let alertsPath = ["api", "v2", "alerts"]

    init(url: String, config: AlertmanagerConfig, credentials: AlertmanagerCredentials) {
        self.url = url
        displayURL = AlertmanagerConfig.displayURL(url)
        timeout = config.timeout
        self.credentials = credentials
        guard var components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else {
            requestURL = nil
            authorization = Self.header(credentials.authorization)
            dnsOverride = [:]
            isHTTPS = false
            return
        }
        isHTTPS = scheme == "https"
        // Userinfo in the URL is basic auth, as Go's client (so Prometheus)
        // reads it; configured credentials win. It never goes on the wire
        // in the URL, and AsyncHTTPClient would ignore it anyway.
        var authorization = credentials.authorization
        if authorization == .none, let user = components.user {
            authorization = .basic(username: user.percentDecoded ?? user,
                                   password: components.password.map { $0.percentDecoded ?? $0 } ?? "")
        }
        self.authorization = Self.header(authorization)
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        // Joined as Prometheus joins them (path.Join of the URL's path, the
        // prefix and the API path): no doubled or missing slashes whichever
        // of them ends or starts with one.
        let segments = (components.percentEncodedPath.split(separator: "/").map(String.init)
            + config.pathPrefix.split(separator: "/").map(String.init)) + Self.alertsPath
        // Foundation traps on a percent-encoded path with characters a path
        // may not hold; the config allows only plain paths, and anything else
        // is encoded here rather than let through.
        let joined = "/" + segments.joined(separator: "/")
        if AlertmanagerURL.isPlainPath(joined) {
            components.percentEncodedPath = joined
        } else {
            components.path = joined.percentDecoded ?? joined
        }
        // `server_name`: AsyncHTTPClient offers no setting for the name a
        // certificate is checked against; it takes the URL's host. Its
        // `dnsOverride` does it the other way round: the request names the
        // server name (so SNI and the check use it) and the connection goes
        // to the configured host. So the Host header carries the server
        // name too, which Alertmanager ignores. AsyncHTTPClient sends no SNI
        // and checks the connected host when the name is an IP address,
        // so `server_name` must be a DNS name.
        var override: [String: String] = [:]
        if isHTTPS, let serverName = config.tls.serverName, !serverName.isEmpty,
           serverName.lowercased() != host.lowercased() {
            override[serverName] = host
            components.host = serverName
        }
        dnsOverride = override
        requestURL = components.string
    }

    private static func header(_ authorization: AlertmanagerCredentials.Authorization) -> String? {
        switch authorization {
        case .none: return nil
        case let .basic(username, password): return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case let .bearer(token): return "Bearer " + token
        }
    }

    /// The client's configuration: TLS from the credentials' material, the
    /// request timeout for connecting too, no redirects (a POST redirected
    /// is a misconfigured URL, and the refusal says so), no retries of its own.
    var clientConfiguration: HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let roots = credentials.trustRoots { tls.trustRoots = .certificates(roots) }
        if let key = credentials.privateKey, !credentials.certificateChain.isEmpty {
            tls.certificateChain = credentials.certificateChain.map { .certificate($0) }
            tls.privateKey = .privateKey(key)
        }
        let limit = TimeAmount.nanoseconds(timeout.nanoseconds)
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: limit, read: limit)
        )
        configuration.dnsOverride = dnsOverride
        // The sender owns the retries and their backoff. AsyncHTTPClient's
        // own retries of a failed connect would hold each request to its
        // timeout, so a refused connection or a failed handshake would be
        // said `timeout` late and as a timeout, not as what it was.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }
}
