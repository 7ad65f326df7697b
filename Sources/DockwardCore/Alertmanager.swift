import FoundationEssentials
import Glibc

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
        "alertname", "severity", "kind", "container", "container_id", "image", "host", "episode", "namespace", "pod",
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
        let wire: [JSON] = alerts.map { alert in
            [
                "labels": .object(alert.labels.map { (key: $0.key, value: JSON.string($0.value)) }),
                "annotations": .object(alert.annotations.map { (key: $0.key, value: JSON.string($0.value)) }),
                "startsAt": .string(rfc3339(alert.startsAt)),
                "endsAt": .string(rfc3339(alert.endsAt)),
            ]
        }
        return Array(JSON.array(wire).text(sortedKeys: true).utf8)
    }

    /// `2026-12-03T05:14:21.123Z`.
    public static func rfc3339(_ unixNano: Int64) -> String {
        var seconds = time_t(unixNano / 1_000_000_000)
        let millis = Int((unixNano % 1_000_000_000) / 1_000_000)
        var tm = Glibc.tm()
        gmtime_r(&seconds, &tm)
        let date = "\((Int(tm.tm_year) + 1900).zeroPadded(4))-\((Int(tm.tm_mon) + 1).zeroPadded(2))-\(Int(tm.tm_mday).zeroPadded(2))"
        let time = "\(Int(tm.tm_hour).zeroPadded(2)):\(Int(tm.tm_min).zeroPadded(2)):\(Int(tm.tm_sec).zeroPadded(2))"
        return "\(date)T\(time).\(millis.zeroPadded(3))Z"
    }
}

/// What makes one open episode one Alertmanager alert: its kind and what it
/// is about. A second episode of the same key (after the first ended) is a
/// new alert, told apart by its start (the `episode` label).
public enum AlertEpisodeKey: Hashable, Sendable {
    /// pids-high, pids-exhausted, pids-forecast or pids-unlimited.
    case containerPids(ContainerID, EntryKind)
    case hostPids
    /// node-pids-pressure.
    case nodePids
    case socketMount(ContainerID)
    case socketMountUnresolved(ContainerID)
    case hostControl(ContainerID, HostControlClass)
    /// The listener's address as dockerd resolves it.
    case engineTCP(String)
    case engineLost

    /// As the state file keeps it: `pids-high/<64-hex id>`, `engine-tcp/tcp://0.0.0.0:2375`.
    public var text: String {
        switch self {
        case .containerPids(let id, let kind): "\(kind.rawValue)/\(id.full)"
        case .hostPids: "host-pids-high"
        case .nodePids: "node-pids-pressure"
        case .socketMount(let id): "socket-mount/\(id.full)"
        case .socketMountUnresolved(let id): "socket-mount-unresolved/\(id.full)"
        case .hostControl(let id, let c): "host-control-\(c.rawValue)/\(id.full)"
        case .engineTCP(let address): "engine-tcp/\(address)"
        case .engineLost: "engine-lost"
        }
    }

    public init?(text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard !parts.isEmpty else { return nil }
        let head = parts[0], rest = parts.count > 1 ? parts[1] : nil
        switch (head, rest) {
        case ("host-pids-high", nil): self = .hostPids
        case ("node-pids-pressure", nil): self = .nodePids
        case ("engine-lost", nil): self = .engineLost
        case ("engine-tcp", let address?): self = .engineTCP(address)
        case (_, let idText?):
            guard let id = ContainerID(idText) else { return nil }
            if head == "socket-mount" { self = .socketMount(id); return }
            if head == "socket-mount-unresolved" { self = .socketMountUnresolved(id); return }
            if head.hasPrefix("host-control-"), let c = HostControlClass(rawValue: String(head.dropFirst(13))) {
                self = .hostControl(id, c)
                return
            }
            guard let kind = EntryKind(rawValue: head), AlertEpisodeKey.containerPidsKinds.contains(kind) else { return nil }
            self = .containerPids(id, kind)
        default: return nil
        }
    }

    /// The pids kinds that open an episode (the kind table's pids alerts);
    /// pids-recovered ends them.
    public static let containerPidsKinds: Set<EntryKind> = [.pidsHigh, .pidsExhausted, .pidsForecast, .pidsUnlimited]
}

extension Finding {
    /// The episode this finding opens (or, as a reminder or an escalation,
    /// carries on), or nil: notices, recoveries, actions and the daemon's
    /// own entries other than `engine-lost` are not episodes.
    public var episodeKey: AlertEpisodeKey? {
        switch self {
        case .containerPids(let f, let ref, _):
            AlertEpisodeKey.containerPidsKinds.contains(f.kind) ? .containerPids(ref.id, f.kind) : nil
        case .hostPids(let f): f.kind == .hostPidsHigh ? .hostPids : nil
        case .nodePids(let f): f.kind == .nodePidsPressure ? .nodePids : nil
        case .socketExposure(let s): s.allowedBy == nil ? .socketMount(s.details.id) : nil
        case .socketUnresolved(let d, _, _): .socketMountUnresolved(d.id)
        case .hostControl(let d, let f, let rule, _): rule == nil ? .hostControl(d.id, f.hostControlClass) : nil
        case .engineTCPExposed(let f, _): .engineTCP(f.address)
        case .lifecycle(.engineLost): .engineLost
        case .selfExempt, .action, .lifecycle: nil
        }
    }
}

/// How a finding reads as an Alertmanager alert: the kind table's
/// `alertname`, `severity` from the finding's priority, the container's
/// labels, and the entry's sentence and figures (rendered once, by the
/// outlet) as annotations.
public enum AlertmanagerAlerts {
    /// crit and above, and err: critical; warning: warning; the rest: info.
    public static func severity(_ priority: Priority) -> String {
        switch priority {
        case .emerg, .alert, .crit, .err: "critical"
        case .warning: "warning"
        case .notice, .info, .debug: "info"
        }
    }

    /// The alert for `finding` starting at `startsAt` and ending at
    /// `endsAt` (unix nanoseconds), or nil when the finding opens no episode.
    /// `entry` is the finding's entry as the outlet rendered it: its words
    /// are quoted, never read for a decision. `host` and `extraLabels` go
    /// on every alert; dockward's own labels win.
    public static func alert(for finding: Finding, entry: JournalEntry, startsAt: Int64, endsAt: Int64, host: String,
                             extraLabels: [String: String]) -> AlertmanagerAlert? {
        let facts = finding.kind.facts
        guard finding.episodeKey != nil, let name = facts.alertName else { return nil }
        var labels = extraLabels
        labels["alertname"] = name
        labels["severity"] = severity(finding.priority)
        labels["kind"] = finding.kind.rawValue
        labels["host"] = host
        // The start in unix milliseconds: two episodes of one container and
        // kind never merge into one alert.
        labels["episode"] = String(startsAt / 1_000_000)
        if let c = finding.container {
            labels["container_id"] = c.id.short
            labels["container"] = c.metadata?.name ?? c.id.short
            if let image = c.metadata?.image { labels["image"] = image }
            // A pod's container by the names kube-state-metrics and the
            // Prometheus Operator's rules use.
            if let pod = c.metadata?.pod {
                labels["namespace"] = pod.namespace
                labels["pod"] = pod.pod
                if !pod.container.isEmpty { labels["container"] = pod.container }
            }
        }
        var annotations = ["summary": entry.message, "description": facts.advice, "message_id": facts.messageID]
        if let path = finding.container?.cgroupPath { annotations["cgroup_path"] = path }
        // The entry's figures (PIDS_CURRENT, MOUNT_SOURCE, ...), as facts.
        for (name, value) in entry.fields { annotations[name.lowercased()] = value }
        return AlertmanagerAlert(labels: labels, annotations: annotations, startsAt: startsAt, endsAt: endsAt)
    }
}
