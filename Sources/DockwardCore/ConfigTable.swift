import DockwardYAML

/// How a value stands in the shipped `config/dockward.yml`: a scalar as it
/// is written after `key:`, a block list (`[]` when empty), or a block
/// mapping of strings (`{}` when empty), written in key order.
public enum ConfigFileValue: Equatable, Sendable {
    case scalar(String)
    case list([String])
    case mapping([String: String])
}

/// One kind of value: how it is read (with its range), how the shipped file
/// writes it, and the reload line when it changed.
struct ConfigValueKind<Value: Equatable & Sendable>: Sendable {
    /// Nil after recording an issue: the key keeps the value it had.
    let read: @Sendable (inout ConfigReader, Node, String) -> Value?
    let fileValue: @Sendable (Value) -> ConfigFileValue
    let changeLine: @Sendable (_ key: String, _ old: Value, _ new: Value) -> String
    /// What the key takes, with its range, as dockward.yml(5) states it.
    let type: String

    init(type: String,
         read: @escaping @Sendable (inout ConfigReader, Node, String) -> Value?,
         fileValue: @escaping @Sendable (Value) -> ConfigFileValue,
         changeLine: @escaping @Sendable (_ key: String, _ old: Value, _ new: Value) -> String = { "\($0): \($1) -> \($2)" }) {
        self.type = type
        self.read = read
        self.fileValue = fileValue
        self.changeLine = changeLine
    }
}

extension ConfigValueKind where Value == Double {
    /// A share of the pids limit, in (0, 1]; the file writes two decimals (`0.80`).
    static var ratio: Self {
        Self(type: "a ratio in (0, 1]", read: { r, node, path in r.ratio(node, path) }, fileValue: { x in
            var text = "\(x)"
            if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
            return .scalar(text)
        })
    }
}

extension ConfigValueKind where Value == Interval {
    /// A duration (`500ms`, `1m30s`); greater than 0 unless `allowZero`, and
    /// inside `range` when one is given.
    static func duration(allowZero: Bool = false, range: ClosedRange<Interval>? = nil) -> Self {
        let type = range.map { "a duration from \($0.lowerBound) to \($0.upperBound)" }
            ?? (allowZero ? "a duration, 0 or more" : "a duration above 0")
        return Self(type: type, read: { r, node, path in
            guard let d = allowZero ? r.interval(node, path) : r.positiveInterval(node, path) else { return nil }
            if let range, !range.contains(d) {
                r.issue(node, path, "must be between \(range.lowerBound) and \(range.upperBound), got \(d)")
                return nil
            }
            return d
        }, fileValue: { .scalar($0.description) })
    }
}

extension ConfigValueKind where Value == Bool {
    static var bool: Self { Self(type: "true or false", read: { r, node, path in r.bool(node, path) }, fileValue: { .scalar("\($0)") }) }
}

extension ConfigValueKind where Value == String {
    static var absolutePath: Self { Self(type: "an absolute path", read: { r, node, path in r.absolutePath(node, path) }, fileValue: { .scalar($0) }) }

    /// The path of a URL: starts with `/`; no query, fragment, spaces or
    /// control characters (those would change what the path means).
    static var urlPath: Self {
        Self(type: "a URL path starting with /", read: { r, node, path in
            guard let s = r.scalar(node, path, expected: "a path starting with /") else { return nil }
            guard s.hasPrefix("/") else { r.issue(node, path, "must start with /, got \"\(s)\""); return nil }
            guard AlertmanagerURL.isPlainPath(s) else {
                r.issue(node, path, "must be a plain URL path: letters, digits, / and -._~!$&'()*+,;=:@ or %XX escapes, got \"\(s)\"")
                return nil
            }
            return s
        }, fileValue: { .scalar($0) })
    }
}

extension ConfigValueKind where Value == Int {
    /// A whole number inside `range`; the file writes it without separators.
    static func count(_ range: ClosedRange<Int>) -> Self {
        Self(type: "a whole number from \(range.lowerBound) to \(range.upperBound)", read: { r, node, path in
            let expected = "a whole number from \(range.lowerBound) to \(range.upperBound)"
            guard let s = r.scalar(node, path, expected: expected) else { return nil }
            guard let n = Int(s) else { r.issue(node, path, "expected \(expected), got \"\(s)\""); return nil }
            guard range.contains(n) else {
                r.issue(node, path, "must be from \(range.lowerBound) to \(range.upperBound), got \(n)")
                return nil
            }
            return n
        }, fileValue: { .scalar("\($0)") })
    }
}

extension ConfigValueKind where Value == Int64 {
    /// A pids limit: 0 (off) up to the largest the kernel takes.
    static var pidsLimit: Self { Self(type: "a pids limit: 0 (off) or a whole number the kernel takes as pids.max", read: { r, node, path in r.pidsLimit(node, path) }, fileValue: { .scalar("\($0)") }) }
}

extension ConfigValueKind where Value == PidsAvailableThreshold {
    /// A count of free pids (`1000`) or a share of the node's capacity (`10%`).
    static var pidsAvailable: Self {
        Self(type: "a number of free pids (1000) or a percentage below 100% (10%)", read: { r, node, path in
            let expected = "a number of pids or a percentage below 100% (1000, 10%)"
            guard let s = r.scalar(node, path, expected: expected) else { return nil }
            guard let t = PidsAvailableThreshold(text: s) else { r.issue(node, path, "expected \(expected), got \"\(s)\""); return nil }
            return t
        }, fileValue: { .scalar($0.description) })
    }
}

extension ConfigValueKind where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One word of a fixed set (`warn or ignore`); the reload line shows the word.
    static var choice: Self {
        let words = Value.allCases.map(\.rawValue)
        let expected = words.count < 2 ? words.joined()
            : words.dropLast().joined(separator: ", ") + " or " + words[words.count - 1]
        return Self(type: "one of " + expected, read: { r, node, path in
            guard let s = r.scalar(node, path, expected: expected) else { return nil }
            guard let x = Value(rawValue: s) else { r.issue(node, path, "expected \(expected), got \"\(s)\""); return nil }
            return x
        }, fileValue: { .scalar($0.rawValue) }, changeLine: { "\($0): \($1.rawValue) -> \($2.rawValue)" })
    }
}

extension ConfigValueKind where Value == String? {
    /// `host:port` to listen on; empty, `off` or null: off.
    static var listenAddress: Self {
        Self(type: "host:port, or empty (off)", read: { r, node, path in
            if r.isNull(node) { return .some(nil) }
            guard let s = r.scalar(node, path, expected: ListenAddress.expected) else { return nil }
            if s.isEmpty || s == "off" { return .some(nil) }
            guard ListenAddress(s) != nil else {
                r.issue(node, path, "expected \(ListenAddress.expected) with a port from 1 to 65535, got \"\(s)\"")
                return nil
            }
            return .some(s)
        }, fileValue: { .scalar($0 ?? "\"\"") }, changeLine: { "\($0): \($1 ?? "off") -> \($2 ?? "off")" })
    }
}

extension ConfigValueKind where Value == String? {
    /// Unset when empty or null, else what `read` takes; the file writes
    /// unset as `""`, and the reload line says `unset`.
    static func optional(_ type: String, _ read: @escaping @Sendable (inout ConfigReader, Node, String) -> String?) -> Self {
        Self(type: type + ", or empty (unset)", read: { r, node, path in
            if r.isNull(node) { return .some(nil) }
            if case .scalar(let s) = node, s.string.isEmpty { return .some(nil) }
            return read(&r, node, path).map { .some($0) }
        }, fileValue: { .scalar($0 ?? "\"\"") }, changeLine: { "\($0): \($1 ?? "unset") -> \($2 ?? "unset")" })
    }

    /// A file the daemon reads (a certificate, a secret); the loader only
    /// checks that its path is absolute, so `check-config` needs no rights to it.
    static var optionalAbsolutePath: Self { optional("an absolute path") { r, node, path in r.absolutePath(node, path) } }

    /// The name a TLS certificate must carry: a DNS name (the delivery checks
    /// it by naming it in the request, which an IP address cannot stand in for).
    static var serverName: Self {
        optional("a DNS name") { r, node, path in
            guard let s = r.scalar(node, path, expected: "a host name") else { return nil }
            guard s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }),
                  s.contains(where: \.isLetter) else {
                r.issue(node, path, "expected a DNS name (letters, digits, -, . or _; an IP address is not supported here), got \"\(s)\"")
                return nil
            }
            return s
        }
    }

    /// A basic auth user: the header joins `user:password` at the first
    /// `:`, so a user with one would send a different user.
    static var basicAuthUsername: Self {
        optional("a user name without : or control characters") { r, node, path in
            guard let s = r.scalar(node, path, expected: "a user name") else { return nil }
            guard !s.contains(":"), !s.contains(where: { ($0.asciiValue ?? 0x20) < 0x20 || $0.asciiValue == 0x7f }) else {
                r.issue(node, path, "must not contain : or control characters")
                return nil
            }
            return s
        }
    }
}

extension ConfigValueKind where Value == [String] {
    /// `alertmanager.urls`: each an `AlertmanagerURL`, none twice (two
    /// entries for one Alertmanager would send every alert to it twice);
    /// null keeps the default.
    static var alertmanagerURLs: Self {
        Self(type: "a list of http:// or https:// URLs, each once", read: { r, node, path in
            let expected = "a list of URLs like http://alertmanager:9093"
            guard let seq = node.sequence else {
                if !r.isNull(node) { r.issue(node, path, "expected \(expected)") }
                return nil
            }
            var urls: [String] = []
            var firstIndex: [String: Int] = [:]
            for (i, item) in seq.enumerated() {
                let p = "\(path)[\(i)]"
                guard let s = r.scalar(item, p, expected: "a URL like http://alertmanager:9093") else { continue }
                do throws(AlertmanagerURL.Invalid) {
                    let url = try AlertmanagerURL(s)
                    if let first = firstIndex[url.identity] {
                        r.issue(item, p, "given twice (as \(path)[\(first)] too)")
                        continue
                    }
                    firstIndex[url.identity] = i
                    urls.append(s)
                } catch .userInfo {
                    // Not echoed: the text holds a password.
                    r.issue(item, p, "\(AlertmanagerURL.Invalid.userInfo)")
                } catch {
                    r.issue(item, p, "\(error), got \"\(s)\"")
                }
            }
            return urls
        }, fileValue: { .list($0) })
    }

    /// A list of names (containerd's namespaces: letters, digits, `.`, `_`, `-`).
    static var nameList: Self {
        Self(type: "a list of names (letters, digits, ., _ and -)", read: { r, node, path in
            guard let seq = node.sequence else {
                if r.isNull(node) { return [] }
                r.issue(node, path, "expected a list of names")
                return nil
            }
            var names: [String] = []
            for (i, item) in seq.enumerated() {
                let itemPath = "\(path)[\(i)]"
                guard let s = r.scalar(item, itemPath, expected: "a name") else { continue }
                guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                    r.issue(item, itemPath, "expected a name of letters, digits, '.', '_' and '-', got \"\(s)\"")
                    continue
                }
                names.append(s)
            }
            return names
        }, fileValue: { .list($0) }, changeLine: { "\($0): [\($1.joined(separator: ", "))] -> [\($2.joined(separator: ", "))]" })
    }

    /// A list of absolute paths (globs allowed).
    static var pathList: Self {
        Self(type: "a list of absolute paths (globs *, ? and [...] allowed)", read: { r, node, path in
            guard let seq = node.sequence else { r.issue(node, path, "expected a list of socket paths"); return nil }
            var paths: [String] = []
            for (i, item) in seq.enumerated() {
                if let s = r.absolutePath(item, "\(path)[\(i)]") { paths.append(s) }
            }
            return paths
        }, fileValue: { .list($0) })
    }
}

extension ConfigValueKind where Value == [String: String] {
    /// Static labels for Alertmanager (`ConfigReader.alertLabels`); the
    /// reload line counts them.
    static var alertLabels: Self {
        Self(type: "a mapping of label names to strings", read: { r, node, path in r.alertLabels(node, path) },
             fileValue: { .mapping($0) }, changeLine: { "\($0): \($1.count) label(s) -> \($2.count)" })
    }
}

extension ConfigValueKind where Value == [ContainerMatcher] {
    /// A list of matchers (`host_control.allow`); null keeps the default.
    static var matcherList: Self {
        Self(type: "a list of match rules (name, image, label, labels)", read: { r, node, path in
            guard let seq = node.sequence else {
                if !r.isNull(node) { r.issue(node, path, "expected a list of match rules") }
                return nil
            }
            return seq.enumerated().compactMap { i, item in r.matcher(item, "\(path)[\(i)]") }
        }, fileValue: { .list($0.map(\.flowText)) }, changeLine: { "\($0): \($1.count) rule(s) -> \($2.count)" })
    }
}

extension ConfigValueKind where Value == [DockwardConfig.Override] {
    /// The `overrides:` rules, read by `ConfigReader.readOverrides` with the
    /// keys the table marks as settable per rule.
    static var rules: Self {
        Self(type: "a list of rules, each a match: and the settings it changes", read: { r, node, path in r.readOverrides(node, path) },
             fileValue: { .list($0.map { "{ match: \($0.match.flowText) }" }) }, changeLine: { "\($0): \($1.count) rule(s) -> \($2.count)" })
    }
}

extension ContainerMatcher {
    /// The matcher as a YAML flow mapping, for a list default in the shipped file.
    var flowText: String {
        var parts: [String] = []
        if let n = name { parts.append("name: \"\(n)\"") }
        if let i = image { parts.append("image: \"\(i)\"") }
        if !labels.isEmpty {
            parts.append("labels: [" + labels.map { "\"\($0.key)\($0.value.map { "=\($0)" } ?? "")\"" }.joined(separator: ", ") + "]")
        }
        return "{ " + parts.joined(separator: ", ") + " }"
    }
}

/// One row of the table, its value type erased so the rows form one list.
protocol ConfigTableRow: Sendable {
    /// Dotted path, e.g. `pids.warn_ratio`.
    var key: String { get }
    /// Comment lines above the key in the shipped file ("" is a bare `#`).
    var doc: [String] { get }
    /// A comment after the value on the key's own line, aligned with its neighbours'.
    var inlineDoc: String? { get }
    /// Commented-out lines after the key (examples), without their `#`.
    var example: [String] { get }
    var defaultFileValue: ConfigFileValue { get }
    /// What the key takes, with its range (`ConfigValueKind.type`).
    var type: String { get }
    /// The key's name in an override rule, or nil when a rule can't set it.
    var overrideKey: String? { get }
    /// The key's name in an `actions:` mapping (top level or in a rule).
    var actionsKey: String? { get }
    /// Reads the key; true when it was set (an issue was recorded otherwise).
    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into config: inout DockwardConfig) -> Bool
    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into rule: inout DockwardConfig.Override) -> Bool
    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into actions: inout ActionsOverride) -> Bool
    /// The reload line, or nil when the value is the same.
    func change(from old: DockwardConfig, to new: DockwardConfig) -> String?
}

/// A row: the key, its kind, its default, where it lives in `DockwardConfig`
/// (and in an override rule, for the keys a rule may set). Unchecked
/// because key paths are not marked Sendable; these are immutable paths to
/// stored properties, and every other part is Sendable.
struct ConfigSetting<Value: Equatable & Sendable>: ConfigTableRow, @unchecked Sendable {
    let key: String
    let kind: ConfigValueKind<Value>
    let defaultValue: Value
    let field: WritableKeyPath<DockwardConfig, Value>
    var overrideField: (WritableKeyPath<DockwardConfig.Override, Value?>)?
    var actionsField: (WritableKeyPath<ActionsOverride, Value?>)?
    let doc: [String]
    let inlineDoc: String?
    let example: [String]

    init(_ key: String, _ kind: ConfigValueKind<Value>, default defaultValue: Value,
         _ field: WritableKeyPath<DockwardConfig, Value>,
         override overrideField: (WritableKeyPath<DockwardConfig.Override, Value?>)? = nil,
         actions actionsField: (WritableKeyPath<ActionsOverride, Value?>)? = nil,
         doc: [String] = [], inline inlineDoc: String? = nil, example: [String] = []) {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
        self.field = field
        self.overrideField = overrideField
        self.actionsField = actionsField
        self.doc = doc
        self.inlineDoc = inlineDoc
        self.example = example
    }

    var name: String { String(key.split(separator: ".").last ?? "") }
    var defaultFileValue: ConfigFileValue { kind.fileValue(defaultValue) }
    var type: String { kind.type }
    var overrideKey: String? { overrideField == nil ? nil : name }
    var actionsKey: String? { actionsField == nil ? nil : name }

    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into config: inout DockwardConfig) -> Bool {
        guard let v = kind.read(&r, node, path) else { return false }
        config[keyPath: field] = v
        return true
    }

    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into rule: inout DockwardConfig.Override) -> Bool {
        guard let overrideField, let v = kind.read(&r, node, path) else { return false }
        rule[keyPath: overrideField] = v
        return true
    }

    func read(_ r: inout ConfigReader, _ node: Node, _ path: String, into actions: inout ActionsOverride) -> Bool {
        guard let actionsField, let v = kind.read(&r, node, path) else { return false }
        actions[keyPath: actionsField] = v
        return true
    }

    func change(from old: DockwardConfig, to new: DockwardConfig) -> String? {
        let a = old[keyPath: field], b = new[keyPath: field]
        return a == b ? nil : kind.changeLine(key, a, b)
    }
}

/// The config schema, each key once: its path, kind and range, default,
/// reload line and the comment the shipped file shows. The loader's known
/// keys, `DockwardConfig`'s defaults, `changes(from:)` and
/// `config/dockward.yml` (see `renderedFile`) all come from here, in this order.
public enum ConfigTable {
    static let cgroupRoot = ConfigSetting("cgroup.root", .absolutePath, default: "/sys/fs/cgroup", \.cgroupRoot, doc: [
        "Where the cgroup tree is mounted. Point it at a copy of the host's tree",
        "(e.g. /host/sys/fs/cgroup) when dockward runs with it mounted elsewhere.",
        "v1, v2 and hybrid layouts, cgroupfs and systemd drivers, and rootless",
        "Docker are found on their own.",
    ])
    static let dockerSocket = ConfigSetting("docker.socket", .absolutePath, default: "/var/run/docker.sock", \.dockerSocket, doc: [
        "The engine's socket, used to learn container names and images (and, with",
        "the socket watch, to follow events). DOCKER_HOST=unix:///path overrides it.",
        "The pids watch runs even while the engine is unreachable.",
    ])
    static let engineKind = ConfigSetting("engine.kind", .choice, default: EngineKind.docker, \.engineKind, doc: [
        "Which engine to follow: docker (Podman's compat socket works too),",
        "podman, or containerd (a Kubernetes node: its pods by their",
        "namespace/pod/container names). Every engine's cgroups are watched",
        "whichever is followed. Takes effect at the next restart.",
    ])
    static let engineSocket = ConfigSetting("engine.socket", .optionalAbsolutePath, default: nil, \.engineSocket, doc: [
        "Its socket; empty: the kind's usual one (docker: docker.socket above,",
        "podman: /run/podman/podman.sock, containerd: /run/containerd/containerd.sock).",
    ])
    static let engineNamespaces = ConfigSetting("engine.namespaces", .nameList, default: [], \.engineNamespaces, doc: [
        "containerd only: the namespaces to follow (k8s.io is kubelet's, moby",
        "Docker's own); empty: every one.",
    ])
    // Below 100ms the daemon would spend more on reading than the kernel
    // spends on the counters' changes; above 1m a fork bomb goes unreported
    // for too long.
    static let pollInterval = ConfigSetting(
        "pids.poll_interval", .duration(range: .milliseconds(100) ... .minutes(1)), default: .seconds(1), \.pollInterval, doc: [
            "How often every container's pids.current is read (100ms to 1m).",
            "pids.max is read again when inotify says it was written, and every",
            "30s; pids.events once the kernel reports a refused fork in the",
            "container (then every poll), or every poll for every container when",
            "the kernel's word can't be had (no CAP_SYSLOG).",
        ])
    static let warnRatio = ConfigSetting("pids.warn_ratio", .ratio, default: 0.80, \.pids.warnRatio,
                                         override: \.warnRatio, doc: [
        "pids-high fires when pids.current / pids.max stays at or above a ratio",
        "for high_for: warning at warn_ratio, err at critical_ratio. Ratios in (0, 1].",
    ])
    static let criticalRatio = ConfigSetting("pids.critical_ratio", .ratio, default: 0.95, \.pids.criticalRatio,
                                             override: \.criticalRatio)
    static let highFor = ConfigSetting("pids.high_for", .duration(allowZero: true), default: .seconds(3), \.pids.highFor,
                                       override: \.highFor)
    static let unlimited = ConfigSetting("pids.unlimited", .choice, default: PidsPolicy.UnlimitedAction.warn,
                                         \.pids.unlimited, override: \.unlimited, doc: [
        "pids-unlimited for containers with no pids limit: warn or ignore.",
    ])
    static let forecastHorizon = ConfigSetting("pids.forecast_horizon", .duration(), default: .seconds(60),
                                               \.pids.forecastHorizon, override: \.forecastHorizon, doc: [
        "pids-forecast fires when the trend reaches the limit within this horizon",
        "(for containers without a limit: the host's free process table).",
    ])
    static let forecastWindow = ConfigSetting(
        "pids.forecast_window", .duration(range: .seconds(5) ... .minutes(30)), default: .seconds(30), \.pids.forecastWindow, doc: [
            "How much history the trend looks at (5s to 30m). A burst that drains in",
            "seconds is a small part of it and does not count as a leak.",
        ])
    static let repeatInterval = ConfigSetting("alerts.repeat_interval", .duration(), default: .minutes(10), \.repeatInterval, doc: [
        "While an episode lasts, remind at most this often.",
    ])
    static let recoverAfter = ConfigSetting("alerts.recover_after", .duration(), default: .seconds(30), \.recoverAfter, doc: [
        "How long every condition must stay clear before pids-recovered.",
    ])
    static let overrides = ConfigSetting("overrides", .rules, default: [], \.overrides, doc: [
        "Rules for some containers, applied in order (later rules win). A rule",
        "matches by name glob, image glob and labels (KEY or KEY=VALUE-glob); every",
        "criterion given must match. Each rule sets any of warn_ratio,",
        "critical_ratio, high_for, unlimited, forecast_horizon, ignore: true, or an",
        "actions: mapping with any of the keys of the actions section below.",
        "warn_ratio must not be above critical_ratio for any container: a rule's",
        "ratios are checked against those of the pids section and of every other",
        "rule that can match the same container (see the README).",
    ], example: [
        "  - match: { name: \"ci-runner-*\" }",
        "    warn_ratio: 0.9",
        "    critical_ratio: 0.99",
        "  - match: { image: \"registry.example/batch/*\", label: \"com.example.tier=batch\" }",
        "    unlimited: ignore",
        "  - match: { labels: [\"com.example.noalerts\"] }",
        "    ignore: true",
        "  - match: { name: \"batch-*\" }",
        "    actions: { enabled: true, cap_unlimited: 2048, on_exhausted: pause }",
    ])
    static let protect = ConfigSetting("host_control.protect", .pathList, default: [
        "/run/containerd/containerd.sock",
        "/var/run/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/var/run/crio/crio.sock",
        "/run/podman/podman.sock",
        "/var/run/podman/podman.sock",
        // containerd's and CRI-O's node resource interface: a plugin on it
        // rewrites every container the runtime creates.
        "/run/nri/nri.sock",
        "/var/run/nri/nri.sock",
        // Rootless Docker ($XDG_RUNTIME_DIR/docker.sock) and rootless Podman.
        "/run/user/*/docker.sock",
        "/run/user/*/podman/podman.sock",
    ], \.hostControl.protect, doc: [
        "Sockets that give control of the host, besides the engine's own socket",
        "(always protected, wherever it is). Globs (*, ?, [...]) are expanded at",
        "each check; the last two cover rootless Docker and rootless Podman.",
    ])
    static let allow = ConfigSetting("host_control.allow", .matcherList, default: [], \.hostControl.allow, doc: [
        "Containers that legitimately need one of these powers (same matcher as",
        "overrides): a notice entry instead of an alert.",
    ], example: ["  - { name: \"portainer\", image: \"portainer/*\" }"])
    static let resyncInterval = ConfigSetting("host_control.resync_interval", .duration(), default: .minutes(5),
                                              \.hostControl.resyncInterval, doc: [
        "How often every container is re-listed and re-checked, as a safety net",
        "for events the engine dropped.",
    ])
    static let privileged = ConfigSetting("host_control.checks.privileged", .bool, default: true,
                                          \.hostControl.checks.privileged, inline: "--privileged (crit)")
    static let hostPID = ConfigSetting("host_control.checks.host_pid", .bool, default: true,
                                       \.hostControl.checks.hostPID, inline: "--pid=host with CAP_SYS_PTRACE or CAP_SYS_ADMIN")
    static let engineState = ConfigSetting("host_control.checks.engine_state", .bool, default: true,
                                           \.hostControl.checks.engineState,
                                           inline: "the engine's data root or containerd's state mounted")
    static let blockDevices = ConfigSetting("host_control.checks.block_devices", .bool, default: true,
                                            \.hostControl.checks.blockDevices, inline: "host block devices given with --device")
    static let engineTCP = ConfigSetting("host_control.checks.engine_tcp", .bool, default: true,
                                         \.hostControl.checks.engineTCP,
                                         inline: "the engine listening on TCP without TLS verification")
    static let engineConfigRoot = ConfigSetting("host_control.engine_config_root", .absolutePath, default: "/",
                                                \.hostControl.engineConfigRoot, doc: [
        "Where the engine's systemd unit, its drop-ins and /etc/docker/daemon.json",
        "are read for the engine_tcp check (/host when dockward runs in a",
        "container with the host's / mounted there).",
    ])
    static let metricsListen = ConfigSetting("metrics.listen", .listenAddress, default: nil, \.metricsListen, doc: [
        "host:port for a Prometheus endpoint (/metrics); off when empty. Keep it",
        "on loopback unless a firewall guards it: it names every container.",
    ], example: ["  listen: 127.0.0.1:9327"])
    static let actionsEnabled = ConfigSetting("actions.enabled", .bool, default: false, \.actions.enabled,
                                              actions: \.enabled)
    static let actionsDryRun = ConfigSetting("actions.dry_run", .bool, default: false, \.actions.dryRun,
                                             actions: \.dryRun, doc: [
        "true: write what would be done (action-dry-run), change nothing.",
    ])
    static let capUnlimited = ConfigSetting("actions.cap_unlimited", .pidsLimit, default: 0, \.actions.capUnlimited,
                                            actions: \.capUnlimited, doc: [
        "The pids limit given to a container without a limit of its own when it",
        "runs away (its pids-forecast against its ceiling, or the host at",
        "host-pids-high err while it grows fastest of those without a limit):",
        "written to its pids.max at once, then to the engine (docker inspect",
        "shows it). 0 = off.",
    ])
    static let onExhausted = ConfigSetting("actions.on_exhausted", .choice, default: ActionsPolicy.OnExhausted.none,
                                           \.actions.onExhausted, actions: \.onExhausted, doc: [
        "none | pause | stop | kill, through the engine, for a container that has",
        "refused forks at its own limit and stayed stuck (still refusing, or",
        "pinned at its limit) for exhausted_for.",
    ])
    static let exhaustedFor = ConfigSetting("actions.exhausted_for", .duration(), default: .seconds(30),
                                            \.actions.exhaustedFor, actions: \.exhaustedFor)
    static let alertmanagerURLs = ConfigSetting("alertmanager.urls", .alertmanagerURLs, default: [], \.alertmanager.urls, doc: [
        "Each Alertmanager, every alert to every one (an HA pair gossips, it does",
        "not forward): http:// or https://, a host, an optional port; no path",
        "(see path_prefix), no user:password (see basic_auth). Empty: off.",
    ], example: ["  - http://alertmanager-1:9093", "  - http://alertmanager-2:9093"])
    static let alertmanagerPathPrefix = ConfigSetting("alertmanager.path_prefix", .urlPath, default: "/",
                                                      \.alertmanager.pathPrefix, doc: [
        "Put before /api/v2/alerts (Alertmanager's --web.route-prefix).",
    ])
    // Below 1s a dead Alertmanager is hammered; above 1h an alert's endsAt
    // (a few intervals ahead) keeps it firing long after dockward is gone.
    static let alertmanagerResendInterval = ConfigSetting(
        "alertmanager.resend_interval", .duration(range: .seconds(1) ... .minutes(60)), default: .minutes(1),
        \.alertmanager.resendInterval, doc: [
            "While an episode is open it is sent again this often (1s to 1h); each",
            "alert ends a few intervals ahead, so the alerts of a dockward that",
            "stopped expire on their own.",
        ])
    static let alertmanagerTimeout = ConfigSetting(
        "alertmanager.timeout", .duration(range: .seconds(1) ... .minutes(5)), default: .seconds(10),
        \.alertmanager.timeout, doc: [
            "One POST's limit (1s to 5m), below resend_interval.",
        ])
    static let alertmanagerLabels = ConfigSetting("alertmanager.labels", .alertLabels, default: [:],
                                                  \.alertmanager.labels, doc: [
        "Static labels on every alert. Names are [a-zA-Z_][a-zA-Z0-9_]*, not",
        "starting with __ and none of those dockward sets itself (alertname,",
        "severity, kind, container, container_id, image, host, episode).",
    ], example: ["  cluster: prod-eu-1"])
    static let alertmanagerCAFile = ConfigSetting("alertmanager.tls.ca_file", .optionalAbsolutePath, default: nil,
                                                  \.alertmanager.tls.caFile,
                                                  inline: "PEM CAs that sign its certificate (empty: the system's)")
    static let alertmanagerCertFile = ConfigSetting("alertmanager.tls.cert_file", .optionalAbsolutePath, default: nil,
                                                    \.alertmanager.tls.certFile, inline: "a client certificate (PEM), with key_file")
    static let alertmanagerKeyFile = ConfigSetting("alertmanager.tls.key_file", .optionalAbsolutePath, default: nil,
                                                   \.alertmanager.tls.keyFile, inline: "its key (PEM)")
    static let alertmanagerServerName = ConfigSetting("alertmanager.tls.server_name", .serverName, default: nil,
                                                      \.alertmanager.tls.serverName,
                                                      inline: "the name its certificate carries, if not the URL's host")
    static let alertmanagerUsername = ConfigSetting("alertmanager.basic_auth.username", .basicAuthUsername, default: nil,
                                                    \.alertmanager.basicAuthUsername, inline: "the user name (not a secret)")
    static let alertmanagerPasswordFile = ConfigSetting("alertmanager.basic_auth.password_file", .optionalAbsolutePath,
                                                        default: nil, \.alertmanager.basicAuthPasswordFile,
                                                        inline: "a file holding the password")
    static let alertmanagerBearerTokenFile = ConfigSetting("alertmanager.bearer_token_file", .optionalAbsolutePath,
                                                           default: nil, \.alertmanager.bearerTokenFile, doc: [
        "A file holding a token sent as Authorization: Bearer; not with basic_auth.",
    ])
    // Ten thousand alerts cover hours of a busy host's episodes; the cap
    // keeps an Alertmanager that is gone for days from growing the daemon.
    static let alertmanagerQueueCapacity = ConfigSetting("alertmanager.queue_capacity", .count(1 ... 1_000_000),
                                                         default: 10_000, \.alertmanager.queueCapacity, doc: [
        "The most alerts kept for one Alertmanager while it is unreachable (1 to",
        "1000000); beyond it new ones are dropped, counted and said.",
    ])
    static let kubeletConfig = ConfigSetting("node_pids.kubelet_config", .absolutePath,
                                             default: "/var/lib/kubelet/config.yaml", \.nodePids.kubeletConfig, doc: [
        "kubelet's KubeletConfiguration file, read at start and at each reload:",
        "the higher of its evictionSoft and evictionHard pid.available thresholds",
        "is the one forecast. Missing (not a node, or kubelet run with flags):",
        "threshold below applies.",
    ])
    static let nodeThreshold = ConfigSetting("node_pids.threshold", .pidsAvailable, default: PidsAvailableThreshold.count(0),
                                             \.nodePids.threshold, doc: [
        "The pid.available threshold when kubelet's file gives none: free pids",
        "(1000) or a share of min(kernel.pid_max, kernel.threads-max) (10%).",
        "0 = no forecast without kubelet's.",
    ])
    static let nodeForecastHorizon = ConfigSetting("node_pids.forecast_horizon", .duration(), default: .minutes(5),
                                                   \.nodePids.forecastHorizon, doc: [
        "node-pids-pressure fires when the node's trend reaches the threshold",
        "within this horizon (history: pids.forecast_window).",
    ])

    /// Every key, in the order the shipped file shows them and reload lines list them.
    static let rows: [any ConfigTableRow] = [
        cgroupRoot, dockerSocket, engineKind, engineSocket, engineNamespaces,
        pollInterval, warnRatio, criticalRatio, highFor, unlimited, forecastHorizon, forecastWindow,
        repeatInterval, recoverAfter,
        overrides,
        protect, allow, resyncInterval, privileged, hostPID, engineState, blockDevices, engineTCP, engineConfigRoot,
        metricsListen,
        actionsEnabled, actionsDryRun, capUnlimited, onExhausted, exhaustedFor,
        alertmanagerURLs, alertmanagerPathPrefix, alertmanagerResendInterval, alertmanagerTimeout, alertmanagerLabels,
        alertmanagerCAFile, alertmanagerCertFile, alertmanagerKeyFile, alertmanagerServerName,
        alertmanagerUsername, alertmanagerPasswordFile, alertmanagerBearerTokenFile, alertmanagerQueueCapacity,
        kubeletConfig, nodeThreshold, nodeForecastHorizon,
    ]

    static let rowsByKey: [String: any ConfigTableRow] = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0) })

    /// Sections read as their defaults when given with nothing under them,
    /// as they stand once every key is commented out.
    static let sectionsThatMayBeEmpty: Set<String> = ["actions", "alertmanager"]

    /// An earlier name of a section that is still read as it.
    static let sectionAliases: [(old: String, current: String)] = [("socket_watch", "host_control")]

    /// The keys of an override rule besides the table's settings marked
    /// `override:`: its matcher, `ignore: true`, and an `actions:` mapping.
    static let ruleMatchKey = "match"
    static let ruleIgnoreKey = "ignore"
    static let ruleActionsKey = "actions"
    static var ruleKeys: [String] {
        [ruleMatchKey] + rows.compactMap(\.overrideKey) + [ruleIgnoreKey, ruleActionsKey]
    }

    /// The criteria of a matcher (overrides' `match:`, `host_control.allow`).
    static let matcherKeys = ["name", "image", "label", "labels"]

    /// The keys directly under `path` ("" for the top level), in table
    /// order: a row's last name, or a nested section's name.
    static func children(of path: String) -> [String] {
        let prefix = path.isEmpty ? "" : path + "."
        var names: [String] = []
        for row in rows where row.key.hasPrefix(prefix) {
            let name = String(row.key.dropFirst(prefix.count).prefix(while: { $0 != "." }))
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Every key's dotted path, in table order.
    public static var keys: [String] { rows.map(\.key) }

    /// Each key's default as the shipped file writes it.
    public static var defaultFileValues: [String: ConfigFileValue] {
        Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.defaultFileValue) })
    }

    /// The reload lines, one per key whose value differs, in table order.
    static func changes(from old: DockwardConfig, to new: DockwardConfig) -> [String] {
        rows.compactMap { $0.change(from: old, to: new) }
    }

    // MARK: - The shipped file

    static let fileHeader = [
        "dockward configuration. Every key is shown with its default.",
        "Durations are written 500ms, 1s, 5m, 1h (or combined: 1m30s).",
        "Validate a change with:  dockward check-config /etc/dockward/dockward.yml",
        "Reload a running daemon: systemctl reload dockward  (SIGHUP)",
    ]

    /// Comments of sections (and nested mappings): above their name, and
    /// inside before their first key.
    static let sectionDocs: [String: (above: [String], intro: [String])] = [
        "host_control": (above: [], intro: [
            "What can give a container control of the host, checked when it is",
            "created (and for every container at start and after each reconnect).",
            "This section was called socket_watch; that name is still read.",
            "",
        ]),
        "host_control.checks": (above: [
            "The other ways to the host, each its own alert kind; false turns one off.",
        ], intro: []),
        "actions": (above: [], intro: [
            "Opt-in containment. Nothing is ever changed on a container unless",
            "enabled is true (here or in an override's actions: mapping). Never acted",
            "on: containers an override ignores (ignore: true), containers a",
            "host_control.allow rule matches, containers labelled dockward.actions=off,",
            "and containers the engine has not named (their labels are unknown). At",
            "most one action per container per alert episode, and at most 5 actions a",
            "minute in all. Each result is its own entry (action-taken, action-failed,",
            "action-skipped, action-dry-run) saying what was done, why, and how to",
            "undo it. Enabling actions needs more rights than watching: see",
            "packaging/actions/dockward.service.d/actions.conf and the README.",
        ]),
        "alertmanager": (above: [], intro: [
            "Open episodes pushed to Alertmanager (its v2 API) as Prometheus pushes",
            "its alerts: sent again while open, resolved when they end. Off while",
            "urls is empty. The password and token stay in the files named here",
            "(absolute paths), read by the daemon at start and at each reload, not",
            "by check-config. Empty (\"\"): unset.",
            "",
        ]),
        "node_pids": (above: [], intro: [
            "Kubernetes nodes: the node's free pids (kubelet's pid.available,",
            "min(kernel.pid_max, kernel.threads-max) - tasks) forecast against",
            "kubelet's eviction threshold, so node-pids-pressure comes before",
            "kubelet evicts pods. Polls cost nothing more while no threshold is",
            "known.",
            "",
        ]),
        "alertmanager.tls": (above: ["For the https:// urls; cert_file and key_file both or neither."], intro: []),
        "alertmanager.basic_auth": (above: ["Basic auth: both keys or neither, and not with bearer_token_file."], intro: []),
    ]

    /// `config/dockward.yml` as the table writes it: every key with its
    /// default and its comment. A test holds the shipped file to this text.
    public static func renderedFile() -> String {
        var lines = fileHeader.map { comment($0, indent: "") }
        for name in children(of: "") {
            lines.append("")
            lines += render(name, path: name, indent: "")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            if c == "\\" || c == "\"" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    static func comment(_ text: String, indent: String) -> String {
        text.isEmpty ? indent + "#" : indent + "# " + text
    }

    static func render(_ name: String, path: String, indent: String) -> [String] {
        if let row = rowsByKey[path] {
            var lines = row.doc.map { comment($0, indent: indent) }
            switch row.defaultFileValue {
            case .scalar(let text): lines.append("\(indent)\(name): \(text)")
            case .list(let items) where items.isEmpty: lines.append("\(indent)\(name): []")
            case .list(let items): lines.append("\(indent)\(name):"); lines += items.map { "\(indent)  - \($0)" }
            case .mapping(let entries) where entries.isEmpty: lines.append("\(indent)\(name): {}")
            case .mapping(let entries):
                lines.append("\(indent)\(name):")
                lines += entries.sorted { $0.key < $1.key }.map { "\(indent)  \($0.key): \(quoted($0.value))" }
            }
            lines += row.example.map { indent + "#" + $0 }
            return lines
        }
        let docs = sectionDocs[path]
        var lines = (docs?.above ?? []).map { comment($0, indent: indent) }
        lines.append("\(indent)\(name):")
        let inner = indent + "  "
        lines += (docs?.intro ?? []).map { comment($0, indent: inner) }
        let names = children(of: path)
        // Inline comments line up one column past the longest `key: value` among them.
        let inlineWidth = names.compactMap { child -> Int? in
            guard let row = rowsByKey["\(path).\(child)"], row.inlineDoc != nil,
                  case .scalar(let text) = row.defaultFileValue else { return nil }
            return child.count + 2 + text.count
        }.max() ?? 0
        for child in names {
            let childPath = "\(path).\(child)"
            if let row = rowsByKey[childPath], let inline = row.inlineDoc, case .scalar(let text) = row.defaultFileValue {
                let entry = "\(child): \(text)"
                lines.append(inner + entry + String(repeating: " ", count: inlineWidth + 3 - entry.count) + "# " + inline)
            } else {
                lines += render(child, path: childPath, indent: inner)
            }
        }
        return lines
    }
}
