import Foundation

/// The `alertmanager:` section: where open episodes are pushed, as
/// Prometheus pushes its alerts (off while `urls` is empty, the default).
/// The secrets (password, bearer token) stay in files named here; the
/// daemon reads them at start and at each reload.
public struct AlertmanagerConfig: Equatable, Sendable {
    public struct TLS: Equatable, Sendable {
        /// PEM file of the CAs that sign Alertmanager's certificate (nil: the system's).
        public var caFile: String? = ConfigTable.alertmanagerCAFile.defaultValue
        /// A client certificate and its key, both PEM (both or neither).
        public var certFile: String? = ConfigTable.alertmanagerCertFile.defaultValue
        public var keyFile: String? = ConfigTable.alertmanagerKeyFile.defaultValue
        /// The name the server's certificate must carry, when it is not the URL's host.
        public var serverName: String? = ConfigTable.alertmanagerServerName.defaultValue
        public init() {}
    }

    /// Each Alertmanager (`http://` or `https://`, host, optional port):
    /// every alert goes to every one (an HA pair gossips, it does not forward).
    public var urls: [String] = ConfigTable.alertmanagerURLs.defaultValue
    /// Put before `/api/v2/alerts` (Alertmanager's `--web.route-prefix`).
    public var pathPrefix: String = ConfigTable.alertmanagerPathPrefix.defaultValue
    /// While an episode is open it is sent again this often; `endsAt` is a
    /// few intervals ahead, so a dockward that dies lets its alerts expire.
    public var resendInterval: Interval = ConfigTable.alertmanagerResendInterval.defaultValue
    /// One POST's limit.
    public var timeout: Interval = ConfigTable.alertmanagerTimeout.defaultValue
    /// Static labels put on every alert (`cluster`, `env`, ...).
    public var labels: [String: String] = ConfigTable.alertmanagerLabels.defaultValue
    public var tls = TLS()
    public var basicAuthUsername: String? = ConfigTable.alertmanagerUsername.defaultValue
    public var basicAuthPasswordFile: String? = ConfigTable.alertmanagerPasswordFile.defaultValue
    public var bearerTokenFile: String? = ConfigTable.alertmanagerBearerTokenFile.defaultValue
    /// The most alerts kept for one Alertmanager while it is unreachable;
    /// beyond it new ones are dropped, counted and said.
    public var queueCapacity: Int = ConfigTable.alertmanagerQueueCapacity.defaultValue

    public init() {}

    public var isEnabled: Bool { !urls.isEmpty }

    /// The labels dockward puts on each alert itself; `labels` may not set
    /// them, since they are what tells one alert from another.
    public static let reservedLabelNames = [
        "alertname", "severity", "kind", "container", "container_id", "image", "host", "episode",
    ]
}

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it. Its identity
/// (Alertmanager's fingerprint) is its label set: the same labels update
/// the same alert; `endsAt` in the past resolves it.
public struct AlertmanagerAlert: Equatable, Sendable {
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Unix time in nanoseconds.
    public var startsAt: Int64
    public var endsAt: Int64

    public init(labels: [String: String], annotations: [String: String], startsAt: Int64, endsAt: Int64) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    /// The label set in one string, sorted: the key a sender keeps the
    /// latest state of each alert under.
    public var identity: String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1F}")
    }

    /// Whether this state resolves the alert (it ends at or before `now`).
    public func isResolved(at now: Int64) -> Bool { endsAt <= now }

    /// The JSON body of one POST: `[{"labels":…,"annotations":…,"startsAt":…,"endsAt":…}]`,
    /// keys sorted, times in RFC 3339 with milliseconds, UTC.
    public static func body(_ alerts: [AlertmanagerAlert]) -> [UInt8] {
        struct Wire: Encodable {
            var labels: [String: String]
            var annotations: [String: String]
            var startsAt: String
            var endsAt: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let wire = alerts.map {
            Wire(labels: $0.labels, annotations: $0.annotations, startsAt: rfc3339($0.startsAt), endsAt: rfc3339($0.endsAt))
        }
        return Array((try? encoder.encode(wire)) ?? Data("[]".utf8))
    }

    /// `2026-12-03T05:14:21.123Z`.
    public static func rfc3339(_ unixNano: Int64) -> String {
        var seconds = time_t(unixNano / 1_000_000_000)
        let millis = Int((unixNano % 1_000_000_000) / 1_000_000)
        var tm = tm()
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1,
                      Int(tm.tm_mday), Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), millis)
    }
}
