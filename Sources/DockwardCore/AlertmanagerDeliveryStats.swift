/// What one Alertmanager's sender has done since the daemon started: the
/// figures behind the `dockward_alertmanager_alerts_*{url}` series. Counts
/// are of alert states, one per alert in each batch.
public struct AlertmanagerDeliveryStats: Equatable, Sendable {
    /// States the Alertmanager accepted (2xx).
    public var sent: Int = 0
    /// States given up after the Alertmanager refused their batch (4xx
    /// other than 429): sending the same request again cannot help.
    public var failed: Int = 0
    /// New alerts not queued because the queue held `queue_capacity` already.
    public var dropped: Int = 0
    /// States waiting to be sent now.
    public var pending: Int = 0

    public init(sent: Int = 0, failed: Int = 0, dropped: Int = 0, pending: Int = 0) {
        self.sent = sent
        self.failed = failed
        self.dropped = dropped
        self.pending = pending
    }
}

extension AlertmanagerConfig {
    /// `url` without its userinfo (`http://user:pass@host` gives
    /// `http://host`): the form that goes into logs, events and metric
    /// labels, so a password written into the URL never leaves the config.
    public static func displayURL(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }
}
