import DockwardYAML

/// A `pid.available` threshold as kubelet takes it: a number of free pids,
/// or a share of the node's pid capacity (min(kernel.pid_max,
/// kernel.threads-max)).
public enum PidsAvailableThreshold: Equatable, Sendable, CustomStringConvertible {
    case count(Int64)
    /// Percent of the capacity, in [0, 100).
    case percent(Double)

    /// "1000", "1k", "10%", "7.5%"; nil for anything else (a negative
    /// number, a percentage of 100 or more). kubelet reads counts as
    /// Kubernetes quantities: the decimal and binary suffixes are taken.
    public init?(text: String) {
        let s = text.trimmingBlanks()
        if s.hasSuffix("%") {
            guard let p = Double(s.dropLast()), p.isFinite, p >= 0, p < 100 else { return nil }
            self = .percent(p)
            return
        }
        guard let n = Self.quantity(s) else { return nil }
        self = .count(n)
    }

    /// A whole, non-negative Kubernetes quantity (`1000`, `2k`, `1Ki`).
    static func quantity(_ s: String) -> Int64? {
        let suffixes: [(String, Int64)] = [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30),
                                           ("k", 1_000), ("M", 1_000_000), ("G", 1_000_000_000)]
        var digits = Substring(s), factor: Int64 = 1
        for (suffix, f) in suffixes where s.hasSuffix(suffix) {
            digits = s.dropLast(suffix.count)
            factor = f
            break
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let n = Int64(digits) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// The number of free pids it stands for on a node of `capacity`; as
    /// kubelet does, a percentage is truncated.
    public func value(capacity: Int64) -> Int64 {
        switch self {
        case .count(let n): n
        case .percent(let p): Int64(Double(capacity) * p / 100)
        }
    }

    /// As the config file writes it.
    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): p == p.rounded() ? "\(Int64(p))%" : "\(p)%"
        }
    }
}

/// What kubelet's KubeletConfiguration says about pids: its eviction
/// thresholds on `pid.available` and the pids it reserves. Each nil where
/// the file does not say.
public struct KubeletPidsSettings: Equatable, Sendable {
    public var evictionHard: PidsAvailableThreshold?
    public var evictionSoft: PidsAvailableThreshold?
    public var systemReserved: Int64?
    public var kubeReserved: Int64?

    public init(evictionHard: PidsAvailableThreshold? = nil, evictionSoft: PidsAvailableThreshold? = nil,
                systemReserved: Int64? = nil, kubeReserved: Int64? = nil) {
        self.evictionHard = evictionHard
        self.evictionSoft = evictionSoft
        self.systemReserved = systemReserved
        self.kubeReserved = kubeReserved
    }

    public var hasThreshold: Bool { evictionHard != nil || evictionSoft != nil }
}

/// Why kubelet's file could not be read for its pids settings: said in
/// the warning that names the file.
public struct KubeletConfigProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Kubelet's config file (`/var/lib/kubelet/config.yaml`), read for what
/// the node's pids watch needs. Pure: the file is read elsewhere.
public enum KubeletConfig {
    public static let apiGroup = "kubelet.config.k8s.io/"
    public static let kind = "KubeletConfiguration"
    /// The eviction signal dockward forecasts.
    public static let signal = "pid.available"

    public static func parse(text: String) throws(KubeletConfigProblem) -> KubeletPidsSettings {
        let root: Node?
        do {
            root = try DockwardYAML.compose(yaml: text)
        } catch {
            throw KubeletConfigProblem("not valid YAML: \(error)")
        }
        guard let root else { return KubeletPidsSettings() }  // empty file: kubelet's defaults
        guard let top = root.mapping else { throw KubeletConfigProblem("expected a KubeletConfiguration mapping") }
        if let kind = top["kind"]?.string, kind != Self.kind {
            throw KubeletConfigProblem("kind is \(kind), not \(Self.kind)")
        }
        if let api = top["apiVersion"]?.string, !api.hasPrefix(Self.apiGroup) {
            throw KubeletConfigProblem("apiVersion is \(api), not \(Self.apiGroup)v1beta1")
        }
        var out = KubeletPidsSettings()
        out.evictionHard = try threshold(top, "evictionHard")
        out.evictionSoft = try threshold(top, "evictionSoft")
        out.systemReserved = try reserved(top, "systemReserved")
        out.kubeReserved = try reserved(top, "kubeReserved")
        return out
    }

    /// `pid.available` of the eviction map `key`. kubelet ignores "0%" and
    /// "100%" (no threshold), and so does this.
    static func threshold(_ top: Node.Mapping, _ key: String) throws(KubeletConfigProblem) -> PidsAvailableThreshold? {
        guard let text = try entry(top, key, Self.signal) else { return nil }
        if text == "100%" { return nil }
        guard let t = PidsAvailableThreshold(text: text) else {
            throw KubeletConfigProblem("\(key).\(Self.signal) is \"\(text)\": expected a number or a percentage below 100%")
        }
        if t == .count(0) || t == .percent(0) { return nil }
        return t
    }

    static func reserved(_ top: Node.Mapping, _ key: String) throws(KubeletConfigProblem) -> Int64? {
        guard let text = try entry(top, key, "pid") else { return nil }
        guard let n = PidsAvailableThreshold.quantity(text) else {
            throw KubeletConfigProblem("\(key).pid is \"\(text)\": expected a whole number")
        }
        return n
    }

    /// The scalar at `key.name`; nil when either is absent.
    static func entry(_ top: Node.Mapping, _ key: String, _ name: String) throws(KubeletConfigProblem) -> String? {
        guard let node = top[key], !isNull(node) else { return nil }
        guard let map = node.mapping else { throw KubeletConfigProblem("\(key) is not a mapping") }
        guard let value = map[name], !isNull(value) else { return nil }
        guard let text = value.string else { throw KubeletConfigProblem("\(key).\(name) is not a value") }
        return text
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node else { return false }
        return s.tag.rawValue.hasSuffix("null") || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}


/// The `pid.available` threshold the node is judged against: kubelet's
/// (the higher of its soft and hard ones, the first to fire), or the
/// configured one where kubelet's file gives none.
public struct NodePidsThreshold: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// kubelet's config file at this path.
        case kubeletConfig(String)
        /// `node_pids.threshold`.
        case config

        /// `NODE_PIDS_THRESHOLD_SOURCE`.
        public var text: String {
            switch self {
            case .kubeletConfig(let path): "kubelet-config:\(path)"
            case .config: "config"
            }
        }
    }

    public var thresholds: [PidsAvailableThreshold]
    public var source: Source
    /// kubelet's `systemReserved.pid` and `kubeReserved.pid`, reported as they are.
    public var systemReserved: Int64?
    public var kubeReserved: Int64?

    public init(thresholds: [PidsAvailableThreshold], source: Source, systemReserved: Int64? = nil,
                kubeReserved: Int64? = nil) {
        self.thresholds = thresholds
        self.source = source
        self.systemReserved = systemReserved
        self.kubeReserved = kubeReserved
    }

    /// kubelet's thresholds when its file has any, else `configured`; nil
    /// when neither gives one (a configured 0): nothing is watched.
    public static func resolve(kubelet: KubeletPidsSettings?, kubeletPath: String,
                               configured: PidsAvailableThreshold) -> NodePidsThreshold? {
        let reserved = (kubelet?.systemReserved, kubelet?.kubeReserved)
        if let kubelet, kubelet.hasThreshold {
            return NodePidsThreshold(thresholds: [kubelet.evictionHard, kubelet.evictionSoft].compactMap { $0 },
                                     source: .kubeletConfig(kubeletPath), systemReserved: reserved.0, kubeReserved: reserved.1)
        }
        guard configured != .count(0), configured != .percent(0) else { return nil }
        return NodePidsThreshold(thresholds: [configured], source: .config, systemReserved: reserved.0, kubeReserved: reserved.1)
    }

    /// The free pids below which the node is under pressure: the highest
    /// threshold on a node of `capacity`.
    public func value(capacity: Int64) -> Int64 {
        thresholds.map { $0.value(capacity: capacity) }.max() ?? 0
    }
}
