/// Thresholds for one container (the global ones, or after overrides).
public struct PidsPolicy: Equatable, Sendable {
    public enum UnlimitedAction: String, Equatable, Sendable, CaseIterable { case warn, ignore }

    public var warnRatio: Double = ConfigTable.warnRatio.defaultValue
    public var criticalRatio: Double = ConfigTable.criticalRatio.defaultValue
    /// How long a ratio must hold before `pids-high` fires, so a momentary spike
    /// (a `make -j` fan-out) is not an alert.
    public var highFor: Interval = ConfigTable.highFor.defaultValue
    public var unlimited: UnlimitedAction = ConfigTable.unlimited.defaultValue
    public var forecastHorizon: Interval = ConfigTable.forecastHorizon.defaultValue
    /// How much history the trend looks at. Long enough that a burst which
    /// drains within seconds is a minority of the window.
    public var forecastWindow: Interval = ConfigTable.forecastWindow.defaultValue
    /// `ignore: true` in an override: no pids alerts at all for the container.
    public var ignore = false

    public init() {}
}

/// Opt-in containment (`actions:`): what dockward may do to a runaway
/// container. Nothing is ever changed on a container unless `enabled`.
public struct ActionsPolicy: Equatable, Sendable {
    /// What is done to a container that has refused forks at its own limit
    /// for `exhaustedFor`.
    public enum OnExhausted: String, Equatable, Sendable, CaseIterable { case none, pause, stop, kill }

    public var enabled: Bool = ConfigTable.actionsEnabled.defaultValue
    /// Write what would be done (`action-dry-run`), change nothing.
    public var dryRun: Bool = ConfigTable.actionsDryRun.defaultValue
    /// The pids limit given to a container without a limit of its own when
    /// it runs away; 0: never.
    public var capUnlimited: Int64 = ConfigTable.capUnlimited.defaultValue
    public var onExhausted: OnExhausted = ConfigTable.onExhausted.defaultValue
    /// How long a container must have refused forks at its limit before
    /// `onExhausted`: long enough that a service which hits its wall once
    /// and backs off is left alone.
    public var exhaustedFor: Interval = ConfigTable.exhaustedFor.defaultValue

    public init() {}

    /// Whether this policy could ever act (or say it would).
    public var mayAct: Bool { enabled && (capUnlimited > 0 || onExhausted != .none) }
}

/// The node's pid.available forecast (`node_pids:`), for Kubernetes nodes.
public struct NodePidsConfig: Equatable, Sendable {
    /// kubelet's KubeletConfiguration file: its pid.available eviction thresholds win.
    public var kubeletConfig: String = ConfigTable.kubeletConfig.defaultValue
    /// The threshold where kubelet's file gives none; 0: no forecast then.
    public var threshold: PidsAvailableThreshold = ConfigTable.nodeThreshold.defaultValue
    public var forecastHorizon: Interval = ConfigTable.nodeForecastHorizon.defaultValue

    public init() {}
}

/// The keys of `actions:` an override sets; nil keeps the value before it.
public struct ActionsOverride: Equatable, Sendable {
    public var enabled: Bool?
    public var dryRun: Bool?
    public var capUnlimited: Int64?
    public var onExhausted: ActionsPolicy.OnExhausted?
    public var exhaustedFor: Interval?

    public init() {}

    public func applied(to base: ActionsPolicy) -> ActionsPolicy {
        var p = base
        if let v = enabled { p.enabled = v }
        if let v = dryRun { p.dryRun = v }
        if let v = capUnlimited { p.capUnlimited = v }
        if let v = onExhausted { p.onExhausted = v }
        if let v = exhaustedFor { p.exhaustedFor = v }
        return p
    }
}

/// The daemon's whole configuration. Each key's default, reading, reload
/// line and comment are in `ConfigTable`; `config/dockward.yml` shows each.
public struct DockwardConfig: Equatable, Sendable {
    public struct Override: Equatable, Sendable {
        public var match: ContainerMatcher
        public var warnRatio: Double?
        public var criticalRatio: Double?
        public var highFor: Interval?
        public var unlimited: PidsPolicy.UnlimitedAction?
        public var forecastHorizon: Interval?
        public var ignore: Bool?
        /// `actions:` keys for the containers this rule matches.
        public var actions: ActionsOverride?
        /// Line of the rule in its file, for log lines.
        public var line: Int

        public init(match: ContainerMatcher, line: Int = 0) {
            self.match = match
            self.line = line
        }
    }

    /// Which host-control checks run besides the socket check (always on).
    public struct HostControlChecks: Equatable, Sendable {
        /// `--privileged`: every device and capability, so the host's disk.
        public var privileged: Bool = ConfigTable.privileged.defaultValue
        /// The host's PID namespace with CAP_SYS_PTRACE or CAP_SYS_ADMIN:
        /// `/proc/1/root` is the host's root.
        public var hostPID: Bool = ConfigTable.hostPID.defaultValue
        /// The engine's data root or containerd's state folders mounted.
        public var engineState: Bool = ConfigTable.engineState.defaultValue
        /// Host block devices given to the container (`--device /dev/sda`).
        public var blockDevices: Bool = ConfigTable.blockDevices.defaultValue
        /// The engine listening on TCP without TLS client verification.
        public var engineTCP: Bool = ConfigTable.engineTCP.defaultValue
        public init() {}
    }

    /// The host-control watch (`host_control:`, formerly `socket_watch:`).
    public struct HostControl: Equatable, Sendable {
        /// Sockets that grant control of the host besides the engine's own
        /// (which is always protected, wherever it is). Entries may be globs
        /// (`*`, `?`, `[...]`), expanded at each check.
        public var protect: [String] = ConfigTable.protect.defaultValue
        /// Containers that legitimately hold one of these powers: no alert,
        /// a notice entry instead.
        public var allow: [ContainerMatcher] = ConfigTable.allow.defaultValue
        public var resyncInterval: Interval = ConfigTable.resyncInterval.defaultValue
        public var checks = HostControlChecks()
        /// Where the engine's unit, drop-ins and `daemon.json` are read
        /// (`/host` when dockward runs in a container with the host's `/` there).
        public var engineConfigRoot: String = ConfigTable.engineConfigRoot.defaultValue
        public init() {}
    }

    public var cgroupRoot: String = ConfigTable.cgroupRoot.defaultValue
    public var dockerSocket: String = ConfigTable.dockerSocket.defaultValue
    /// The engine followed (`engine.kind`).
    public var engineKind: EngineKind = ConfigTable.engineKind.defaultValue
    /// Its socket (`engine.socket`); nil: the kind's usual one.
    public var engineSocket: String? = ConfigTable.engineSocket.defaultValue
    /// containerd's namespaces to follow (`engine.namespaces`); empty: every one.
    public var engineNamespaces: [String] = ConfigTable.engineNamespaces.defaultValue

    /// The socket of the engine followed: `engine.socket`, else the kind's
    /// usual one (Docker's is `docker.socket`, which DOCKER_HOST overrides).
    public var engineSocketPath: String {
        if let engineSocket { return engineSocket }
        return engineKind.usualSocket ?? dockerSocket
    }
    public var pollInterval: Interval = ConfigTable.pollInterval.defaultValue
    public var pids = PidsPolicy()
    public var repeatInterval: Interval = ConfigTable.repeatInterval.defaultValue
    /// How long every condition must stay clear before `pids-recovered`.
    public var recoverAfter: Interval = ConfigTable.recoverAfter.defaultValue
    public var overrides: [Override] = ConfigTable.overrides.defaultValue
    public var hostControl = HostControl()
    /// `host:port` of the Prometheus endpoint; nil (the default) means off.
    public var metricsListen: String? = ConfigTable.metricsListen.defaultValue
    public var actions = ActionsPolicy()
    /// Where open episodes are pushed (`alertmanager:`); off by default.
    public var alertmanager = AlertmanagerConfig()
    /// The node's pids against kubelet's eviction threshold (`node_pids:`).
    public var nodePids = NodePidsConfig()

    public init() {}

    /// The actions policy for one container: the global one with every
    /// matching override's `actions:` applied in file order, by the same
    /// matcher as the pids keys. A container the engine has not named
    /// matches no rule.
    public func actionsPolicy(for metadata: ContainerMetadata?) -> ActionsPolicy {
        var p = actions
        for rule in overrides where rule.match.matches(metadata) {
            if let a = rule.actions { p = a.applied(to: p) }
        }
        return p
    }

    /// Whether actions may be enabled for any container (globally or by an
    /// override): only then does the daemon make an action client at all.
    public var actionsMayBeEnabled: Bool {
        actions.enabled || overrides.contains { $0.actions?.enabled == true }
    }

    /// The policy for one container: the global one with every matching
    /// override applied in file order (later rules win).
    public func policy(for metadata: ContainerMetadata?) -> PidsPolicy {
        var p = pids
        // A pod's sandbox (pause container) holds no workload: never judged.
        if metadata?.isSandbox == true { p.ignore = true }
        for rule in overrides where rule.match.matches(metadata) {
            if let v = rule.warnRatio { p.warnRatio = v }
            if let v = rule.criticalRatio { p.criticalRatio = v }
            if let v = rule.highFor { p.highFor = v }
            if let v = rule.unlimited { p.unlimited = v }
            if let v = rule.forecastHorizon { p.forecastHorizon = v }
            if let v = rule.ignore { p.ignore = v }
        }
        return p
    }

    /// One line for the start-up entry.
    public var summary: String {
        "poll every \(pollInterval), warn at \(pids.warnRatio), critical at \(pids.criticalRatio), "
            + "forecast \(pids.forecastHorizon) ahead, unlimited=\(pids.unlimited.rawValue), "
            + "repeat every \(repeatInterval), \(overrides.count) override(s), cgroup root \(cgroupRoot)"
            + (actionsMayBeEnabled ? ", actions enabled\(actions.dryRun ? " (dry run)" : "")" : "")
            + (alertmanager.isEnabled ? ", alertmanager \(alertmanager.urls.count) url(s)" : "")
    }

    /// Human lines naming what differs, for the reload entry: one per key
    /// of `ConfigTable`, in its order.
    public func changes(from old: DockwardConfig) -> [String] {
        ConfigTable.changes(from: old, to: self)
    }
}

/// The engines dockward can follow (`engine.kind`).
public enum EngineKind: String, Equatable, Sendable, CaseIterable {
    /// Docker's API; Podman's compat socket speaks it too.
    case docker
    /// Podman's compat API on its rootful socket.
    case podman
    /// containerd's gRPC API (Kubernetes nodes: namespace `k8s.io`).
    case containerd

    /// The socket it listens on by default; nil for Docker, whose is the
    /// `docker.socket` key.
    public var usualSocket: String? {
        switch self {
        case .docker: nil
        case .podman: "/run/podman/podman.sock"
        case .containerd: "/run/containerd/containerd.sock"
        }
    }
}
