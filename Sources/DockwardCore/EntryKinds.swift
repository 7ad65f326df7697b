/// What an entry is to the operator. The role, not a rendered field, decides
/// where a finding counts: `dockward_alerts_total` counts alerts only,
/// `dockward_actions_total` actions only, and the journal tags every role
/// but `event` with `DOCKWARD_ALERT=` (so `dockward alerts` lists notices,
/// recoveries and actions beside the alerts they follow) and events with
/// `DOCKWARD_EVENT=`.
public enum EntryRole: String, Sendable, CaseIterable {
    /// Something on the host is wrong: an episode, an Alertmanager alert
    /// where the kind names one.
    case alert
    /// What an alert would say, for a container an allow rule matches.
    case allowed
    /// An episode ended.
    case recovery
    /// What containment did, would do, or left alone.
    case action
    /// The daemon's own life cycle.
    case event
}

/// The priority a kind's entries take: one, or one of a few that the
/// finding's data decides (the detector's threshold, whether entries were
/// dropped). `Finding.priority` applies it; nothing else decides a priority.
public enum PriorityRule: Equatable, Sendable {
    case fixed(Priority)
    /// The finding carries the priority; `within` lists those it may take,
    /// `because` says what decides (the README's kind table prints both).
    case decided(within: [Priority], because: String)

    public var fixed: Priority? {
        if case .fixed(let p) = self { return p }
        return nil
    }

    /// Every priority an entry of the kind may carry.
    public var allowed: [Priority] {
        switch self {
        case .fixed(let p): [p]
        case .decided(let within, _): within
        }
    }

    /// The priority of an entry whose data gave `level`: the fixed one, or
    /// the level, or the first allowed when the data gave none.
    public func priority(given level: Priority?) -> Priority { fixed ?? level ?? allowed[0] }

    /// As the README's tables say it: `crit`, `warning / err`.
    public var text: String { allowed.map(\.name).joined(separator: " / ") }
}

/// One row of the kind table: everything dockward knows of a kind of entry
/// that is not in the finding's data.
public struct KindFacts: Sendable {
    /// The journal's `MESSAGE_ID`, and the catalog entry's. Never change one
    /// once released: operators select on it.
    public var messageID: String
    public var role: EntryRole
    public var priority: PriorityRule
    /// The Alertmanager `alertname` of the episodes this kind opens; nil:
    /// the kind opens none (never renamed: silences and routes match on it).
    public var alertName: String?
    /// What the operator does about it, one line (the Alertmanager alert's
    /// `description`, SARIF's help; the catalog, `journalctl -x`, says it at length).
    public var advice: String

    init(_ messageID: String, _ role: EntryRole, _ priority: PriorityRule, alertName: String? = nil, advice: String) {
        self.messageID = messageID
        self.role = role
        self.priority = priority
        self.alertName = alertName
        self.advice = advice
    }
}

extension EntryKind {
    /// The kind table's row of this kind, made once per kind (a detector
    /// makes findings on its hot path: looking a row up allocates nothing).
    public var facts: KindFacts { Self.table[self]! }

    private static let table = Dictionary(uniqueKeysWithValues: allCases.map { ($0, $0.row) })

    private static let hostControlAdvice = "This container can control the host: remove the mount or flag unless it "
        + "is meant to, then allow it in host_control.allow."

    /// The kind table: one row per kind, in one exhaustive switch (no
    /// `default:` arm, so a new kind does not build until its row is
    /// written). The catalog, the Prometheus rules, the README's tables and
    /// the golden transcripts are checked against it by tests.
    private var row: KindFacts {
        let hostControl = Self.hostControlAdvice
        let leak = "Look for a process leak (docker top <container>); raise its --pids-limit only if the load is real."
        let threshold = PriorityRule.decided(within: [.warning, .err], because: "warn_ratio or critical_ratio")
        let dropped = PriorityRule.decided(within: [.notice, .warning], because: "warning when entries were dropped")
        return switch self {
        case .pidsUnlimited:
            KindFacts("239549ddbcd24315a1b43ff729527960", .alert, .fixed(.warning), alertName: "DockwardPidsUnlimited",
                      advice: "Give it a limit a little above its normal peak: docker update --pids-limit N <container>.")
        case .pidsHigh:
            KindFacts("b9c69784d9334b3ea052903c4f496935", .alert, threshold, alertName: "DockwardPidsHigh", advice: leak)
        case .pidsExhausted:
            KindFacts("9cbeffacd069472fb0b95e62b1ba4743", .alert, .fixed(.crit), alertName: "DockwardPidsExhausted",
                      advice: "Forks are refused: find the runaway (docker top <container>), restart or stop it.")
        case .pidsForecast:
            KindFacts("8938f87338d84e60a3454e0c6958a1ec", .alert, .fixed(.err), alertName: "DockwardPidsForecast", advice: leak)
        case .pidsRecovered:
            KindFacts("c077d0b0306748c987b88698fd61b0f2", .recovery, .fixed(.notice), advice: "Nothing: its episode ended.")
        case .hostPidsHigh:
            KindFacts("9e981232178a4c1fbc708da1dcb9585a", .alert, threshold, alertName: "DockwardHostPidsHigh",
                      advice: "The host's process table is filling: find the container growing fastest (dockward_container_pids).")
        case .hostPidsRecovered:
            KindFacts("3e2efc794a524648bac7e75f1f2965f1", .recovery, .fixed(.notice), advice: "Nothing: its episode ended.")
        case .nodePidsPressure:
            KindFacts("bf211bbe96184d4daff787619d5fca68", .alert,
                      .decided(within: [.warning, .err], because: "err once pid.available is under the threshold"),
                      alertName: "DockwardNodePidsPressure",
                      advice: "kubelet will evict pods for pids: find the pod growing fastest (NODE_TOP_PODS) before it does.")
        case .nodePidsRecovered:
            KindFacts("da13c46cec8049cc8462e176b09cfbc5", .recovery, .fixed(.notice), advice: "Nothing: its episode ended.")
        case .socketMount:
            KindFacts("c27bd08d95eb4ef99d7b04c64bb68468", .alert, .fixed(.crit), alertName: "DockwardSocketMount",
                      advice: hostControl)
        case .socketMountAllowed:
            KindFacts("2d8eaa6872db43f28eebfa4141f06fab", .allowed, .fixed(.notice),
                      advice: "Nothing while the allow rule is meant; remove the rule to be alerted again.")
        case .socketMountUnresolved:
            KindFacts("5856052d274c42afaa29a77e595c8d42", .alert, .fixed(.err), alertName: "DockwardSocketMountUnresolved",
                      advice: "A mount source could not be resolved: check the container's mounts by hand.")
        case .privileged:
            // As good as a socket mount; the other three need one more step
            // (a ptrace, a rewrite, a mount of the device).
            KindFacts("1d1f77f24dfc4e0987ba92c09c77ed6d", .alert, .fixed(.crit), alertName: "DockwardPrivileged",
                      advice: hostControl)
        case .hostPID:
            KindFacts("26a3cb077d644d63a064f1c830781e0e", .alert, .fixed(.err), alertName: "DockwardHostPID", advice: hostControl)
        case .engineStateMount:
            KindFacts("3dc5910927984251a3d158ff62048ea9", .alert, .fixed(.err), alertName: "DockwardEngineStateMount",
                      advice: hostControl)
        case .blockDevice:
            KindFacts("cd607ced6f204f13ae351ddb1293aa85", .alert, .fixed(.err), alertName: "DockwardBlockDevice",
                      advice: hostControl)
        case .hostControlAllowed:
            KindFacts("f2647ea6333a4f19be85d3b915ece6c1", .allowed, .fixed(.notice),
                      advice: "Nothing while the allow rule is meant; remove the rule to be alerted again.")
        case .selfExempt:
            KindFacts("7b3e5a0c9d1f4e62a8c4f1d2e6b90a37", .allowed, .fixed(.info),
                      advice: "Nothing: dockward's own container needs the engine's socket to watch the host.")
        case .engineTCPExposed:
            KindFacts("bdc5053ff2f94fd68a452962e23a1387", .alert, .fixed(.crit), alertName: "DockwardEngineTCPExposed",
                      advice: "The engine listens on TCP without TLS client verification: remove the -H tcp:// listener or require tlsverify.")
        case .daemonStarted:
            KindFacts("2a072edc0a2448d9bcd6de7eb9134a4b", .event, .fixed(.notice), advice: "Nothing.")
        case .daemonStopped:
            KindFacts("c6b8a0edd9d24cfd924894ae8362eab3", .event, .fixed(.notice), advice: "Nothing.")
        case .configReloaded:
            KindFacts("68645a8bd89a4542bdc03af8728f3109", .event, .fixed(.notice), advice: "Nothing.")
        case .configRejected:
            KindFacts("aa5cd40f5b2d4ebbb45b9954491947c2", .event, .fixed(.err),
                      advice: "Fix the file at the line named (dockward check-config), then reload again.")
        case .engineLost:
            // An event (the daemon's own), yet an episode: nobody is told
            // of new containers while it lasts.
            KindFacts("f1a671def2e047adb6520636d728a9dd", .event, .fixed(.warning), alertName: "DockwardEngineLost",
                      advice: "dockward cannot reach the engine: check the engine (systemctl status docker) and its socket.")
        case .engineConnected:
            KindFacts("b6b96edba76f456fada8e8e998615994", .event, .fixed(.info), advice: "Nothing.")
        case .engineBack:
            KindFacts("4d9dd32cb9854ccebe0be6efd86131c6", .event, .fixed(.notice), advice: "Nothing.")
        case .journalReplayed:
            KindFacts("e52b5bedb59a4630820d8c6f35c416f3", .event, dropped,
                      advice: "Find why journald was away (journalctl -u systemd-journald).")
        case .alertmanagerLost:
            KindFacts("32fc8e99c1f44df1b8d9e41ee70fd7b3", .event, .fixed(.warning),
                      advice: "Check the Alertmanager and the network path to it; the journal has every alert meanwhile.")
        case .alertmanagerBack:
            KindFacts("cd641759674d4d78b66794f902fdd664", .event, dropped,
                      advice: "Nothing, unless alerts were dropped: raise alertmanager.queue_capacity.")
        case .actionTaken:
            KindFacts("e9b9578cce3544a5b02545e7310cd9db", .action, .fixed(.warning),
                      advice: "Find why it ran away; the entry says how to undo the action.")
        case .actionFailed:
            KindFacts("2f0b79948c5549f093212ade0ffa753c", .action, .fixed(.err),
                      advice: "The action did not happen: ACTION_ERROR says why; act by hand.")
        case .actionSkipped:
            KindFacts("563843aea54740e09456a9fa6872f980", .action, .fixed(.notice),
                      advice: "Nothing: a guard kept the action from this container (SKIP_REASON).")
        case .actionDryRun:
            KindFacts("516d0b9e206d4b6889ec35ea87863989", .action, .fixed(.notice),
                      advice: "Nothing: actions.dry_run is on.")
        }
    }

    public var messageID: String { facts.messageID }
    public var role: EntryRole { facts.role }

    /// The journal field that carries the kind: `DOCKWARD_EVENT` for the
    /// daemon's own entries, so alert queries never match them;
    /// `DOCKWARD_ALERT` for every other role.
    public var journalTag: String { role == .event ? "DOCKWARD_EVENT" : "DOCKWARD_ALERT" }
}
