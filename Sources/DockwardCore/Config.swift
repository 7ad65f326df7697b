/// Thresholds for one container (the global ones, or after overrides).
public struct PidsPolicy: Equatable, Sendable {
    public enum UnlimitedAction: String, Equatable, Sendable { case warn, ignore }

    public var warnRatio = 0.80
    public var criticalRatio = 0.95
    /// How long a ratio must hold before `pids-high` fires, so a momentary spike
    /// (a `make -j` fan-out) is not an alert.
    public var highFor = Interval.seconds(3)
    public var unlimited = UnlimitedAction.warn
    public var forecastHorizon = Interval.seconds(60)
    /// How much history the trend looks at. Long enough that a burst which
    /// drains within seconds is a minority of the window.
    public var forecastWindow = Interval.seconds(30)
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

    public var enabled = false
    /// Write what would be done (`action-dry-run`), change nothing.
    public var dryRun = false
    /// The pids limit given to a container without a limit of its own when
    /// it runs away; 0: never.
    public var capUnlimited: Int64 = 0
    public var onExhausted = OnExhausted.none
    /// How long a container must have refused forks at its limit before
    /// `onExhausted`: long enough that a service which hits its wall once
    /// and backs off is left alone.
    public var exhaustedFor = Interval.seconds(30)

    public init() {}

    /// Whether this policy could ever act (or say it would).
    public var mayAct: Bool { enabled && (capUnlimited > 0 || onExhausted != .none) }
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

/// The daemon's whole configuration. Defaults here are the documented ones
/// (`config/dockward.yml` shows each).
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
        public var privileged = true
        /// The host's PID namespace with CAP_SYS_PTRACE or CAP_SYS_ADMIN:
        /// `/proc/1/root` is the host's root.
        public var hostPID = true
        /// The engine's data root or containerd's state folders mounted.
        public var engineState = true
        /// Host block devices given to the container (`--device /dev/sda`).
        public var blockDevices = true
        /// The engine listening on TCP without TLS client verification.
        public var engineTCP = true
        public init() {}
    }

    /// The host-control watch (`host_control:`, formerly `socket_watch:`).
    public struct HostControl: Equatable, Sendable {
        /// Sockets that grant control of the host besides the engine's own
        /// (which is always protected, wherever it is). Entries may be globs
        /// (`*`, `?`, `[...]`), expanded at each check.
        public var protect: [String] = [
            "/run/containerd/containerd.sock",
            "/var/run/containerd/containerd.sock",
            "/run/crio/crio.sock",
            "/var/run/crio/crio.sock",
            "/run/podman/podman.sock",
            "/var/run/podman/podman.sock",
            // Rootless Docker ($XDG_RUNTIME_DIR/docker.sock) and rootless Podman.
            "/run/user/*/docker.sock",
            "/run/user/*/podman/podman.sock",
        ]
        /// Containers that legitimately hold one of these powers: no alert,
        /// a notice entry instead.
        public var allow: [ContainerMatcher] = []
        public var resyncInterval = Interval.minutes(5)
        public var checks = HostControlChecks()
        /// Where the engine's unit, drop-ins and `daemon.json` are read
        /// (`/host` when dockward runs in a container with the host's `/` there).
        public var engineConfigRoot = "/"
        public init() {}
    }

    public var cgroupRoot = "/sys/fs/cgroup"
    public var dockerSocket = "/var/run/docker.sock"
    public var pollInterval = Interval.seconds(1)
    public var pids = PidsPolicy()
    public var repeatInterval = Interval.minutes(10)
    /// How long every condition must stay clear before `pids-recovered`.
    public var recoverAfter = Interval.seconds(30)
    public var overrides: [Override] = []
    public var hostControl = HostControl()
    /// `host:port` of the Prometheus endpoint; nil (the default) means off.
    public var metricsListen: String?
    public var actions = ActionsPolicy()

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
    }

    /// Human lines naming what differs, for the reload entry.
    public func changes(from old: DockwardConfig) -> [String] {
        var out: [String] = []
        func note<T: Equatable>(_ key: String, _ a: T, _ b: T) { if a != b { out.append("\(key): \(a) -> \(b)") } }
        note("cgroup.root", old.cgroupRoot, cgroupRoot)
        note("docker.socket", old.dockerSocket, dockerSocket)
        note("pids.poll_interval", old.pollInterval, pollInterval)
        note("pids.warn_ratio", old.pids.warnRatio, pids.warnRatio)
        note("pids.critical_ratio", old.pids.criticalRatio, pids.criticalRatio)
        note("pids.high_for", old.pids.highFor, pids.highFor)
        note("pids.unlimited", old.pids.unlimited.rawValue, pids.unlimited.rawValue)
        note("pids.forecast_horizon", old.pids.forecastHorizon, pids.forecastHorizon)
        note("pids.forecast_window", old.pids.forecastWindow, pids.forecastWindow)
        note("alerts.repeat_interval", old.repeatInterval, repeatInterval)
        note("alerts.recover_after", old.recoverAfter, recoverAfter)
        if old.overrides != overrides { out.append("overrides: \(old.overrides.count) rule(s) -> \(overrides.count)") }
        note("host_control.protect", old.hostControl.protect, hostControl.protect)
        if old.hostControl.allow != hostControl.allow {
            out.append("host_control.allow: \(old.hostControl.allow.count) rule(s) -> \(hostControl.allow.count)")
        }
        note("host_control.resync_interval", old.hostControl.resyncInterval, hostControl.resyncInterval)
        note("host_control.checks.privileged", old.hostControl.checks.privileged, hostControl.checks.privileged)
        note("host_control.checks.host_pid", old.hostControl.checks.hostPID, hostControl.checks.hostPID)
        note("host_control.checks.engine_state", old.hostControl.checks.engineState, hostControl.checks.engineState)
        note("host_control.checks.block_devices", old.hostControl.checks.blockDevices, hostControl.checks.blockDevices)
        note("host_control.checks.engine_tcp", old.hostControl.checks.engineTCP, hostControl.checks.engineTCP)
        note("host_control.engine_config_root", old.hostControl.engineConfigRoot, hostControl.engineConfigRoot)
        note("metrics.listen", old.metricsListen ?? "off", metricsListen ?? "off")
        note("actions.enabled", old.actions.enabled, actions.enabled)
        note("actions.dry_run", old.actions.dryRun, actions.dryRun)
        note("actions.cap_unlimited", old.actions.capUnlimited, actions.capUnlimited)
        note("actions.on_exhausted", old.actions.onExhausted.rawValue, actions.onExhausted.rawValue)
        note("actions.exhausted_for", old.actions.exhaustedFor, actions.exhaustedFor)
        return out
    }
}
