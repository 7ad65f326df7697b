import DockwardCore
import DockwardMetrics

/// The fixed inputs of the golden transcripts (GoldenTranscriptTests), in
/// one place: hand-built values (fixed ids, names, numbers and paths; no
/// clock, no hostname) put through the real renderers. When a renderer's
/// inputs change, adapt them here; `make golden` then rewrites the files.
enum GoldenInputs {
    // MARK: The things entries are about

    static let webID = ContainerID(String(repeating: "0123456789abcdef", count: 4))!
    static let web = ContainerRef(id: webID, metadata: ContainerMetadata(name: "web", image: "nginx:1.27"),
                                  cgroupPath: "/sys/fs/cgroup/pids/docker/\(webID.full)")
    /// A container the engine has not named yet: alerts carry its short id.
    static let unnamedID = ContainerID(String(repeating: "fedcba9876543210", count: 4))!
    static let unnamed = ContainerRef(id: unnamedID, cgroupPath: "/sys/fs/cgroup/pids/docker/\(unnamedID.full)")

    static let agentID = ContainerID(String(repeating: "a1b2c3d4e5f60718", count: 4))!
    static let agentMetadata = ContainerMetadata(name: "agent", image: "registry.example/ops/agent:3")
    static func agent(mounts: [MountPoint] = []) -> ContainerDetails {
        ContainerDetails(id: agentID, metadata: agentMetadata, mounts: mounts, binds: [], state: "running")
    }
    static let allowRule = ContainerMatcher(name: "agent", image: "registry.example/ops/*")
    static let engineSocket = "/var/run/docker.sock"
    static let eventTime: Int64 = 1_700_000_000_123_456_789

    // MARK: Entries

    /// One named case per variant worth seeing; every `EntryKind` has at least one.
    static func entryCases() -> [(name: String, entry: JournalEntry)] {
        var cases: [(name: String, entry: JournalEntry)] = []
        // Each case is a typed finding; its entry is rendered as the outlet renders it.
        func add(_ name: String, _ finding: Finding?) {
            guard let finding else { preconditionFailure("golden case \(name) made no finding") }
            cases.append((name, finding.entry))
        }

        // Pids findings.
        add("pids-unlimited: host ceiling", Finding.containerPids(PidsFinding(kind: .pidsUnlimited, priority: .warning, current: 12, limit: 4_194_304, limitIsHost: true), web, peak: nil))
        add("pids-unlimited: inherited ceiling (systemd scope)", Finding.containerPids(PidsFinding(kind: .pidsUnlimited, priority: .warning, current: 12, limit: 15_000, limitIsInherited: true,
                             ceilingOrigin: "systemd's DefaultTasksMax on its scope"), web, peak: nil))
        add("pids-high: warning threshold", Finding.containerPids(PidsFinding(kind: .pidsHigh, priority: .warning, current: 84, limit: 100, ratio: 0.84), web, peak: 86))
        add("pids-high: critical threshold, reminder, unnamed container", Finding.containerPids(PidsFinding(kind: .pidsHigh, priority: .err, isReminder: true, current: 97, limit: 100, ratio: 0.97), unnamed, peak: 99))
        add("pids-exhausted: refusing forks", Finding.containerPids(PidsFinding(kind: .pidsExhausted, priority: .crit, current: 100, limit: 100, refusedForks: 4711,
                             newlyRefused: 4711, rate: 3.5), web, peak: 100))
        add("pids-exhausted: cgroup gone", Finding.containerPids(PidsFinding(kind: .pidsExhausted, priority: .crit, current: 0, limit: 100, cgroupGone: true), web, peak: nil))
        add("pids-forecast: own limit", Finding.containerPids(PidsFinding(kind: .pidsForecast, priority: .err, current: 60, limit: 100, rate: 0.75, secondsToLimit: 53.4), web, peak: 61))
        add("pids-forecast: host's free process table, reminder", Finding.containerPids(PidsFinding(kind: .pidsForecast, priority: .err, isReminder: true, current: 3_000, limit: 32_768,
                             limitIsHost: true, rate: 1_000.25, secondsToLimit: 29.7), web, peak: nil))
        add("pids-recovered", Finding.containerPids(PidsFinding(kind: .pidsRecovered, priority: .notice, current: 20, limit: 100), web, peak: 100))
        add("host-pids-high", Finding.hostPids(PidsFinding(kind: .hostPidsHigh, priority: .err, current: 30_000, limit: 32_768, ratio: 0.9155)))
        add("host-pids-recovered", Finding.hostPids(PidsFinding(kind: .hostPidsRecovered, priority: .notice, current: 2_000, limit: 32_768, ratio: 0.061)))
        let kubelet = NodePidsThreshold.Source.kubeletConfig("/var/lib/kubelet/config.yaml")
        let top = [PodTasks(name: "ci/runner-7", tasks: 2_400), PodTasks(name: "web/api-5d9f", tasks: 310), PodTasks(name: "plain", tasks: 12)]
        add("node-pids-pressure: forecast against kubelet's threshold", Finding.nodePids(NodePidsFinding(kind: .nodePidsPressure, priority: .warning, available: 1_210, capacity: 32_768,
                             threshold: 1_000, source: kubelet, kubeReserved: 1_000, secondsToThreshold: 21.3, rate: 9.8, topPods: top)))
        add("node-pids-pressure: under the configured threshold, reminder", Finding.nodePids(NodePidsFinding(kind: .nodePidsPressure, priority: .err, isReminder: true, available: 3_000,
                             capacity: 32_768, threshold: 3_276, source: .config, secondsToThreshold: 0, rate: 0, topPods: top)))
        add("node-pids-recovered", Finding.nodePids(NodePidsFinding(kind: .nodePidsRecovered, priority: .notice, available: 20_000, capacity: 32_768,
                             threshold: 1_000, source: kubelet, rate: -3)))

        // Socket exposure.
        let direct = SocketExposure(socket: engineSocket, mountSource: engineSocket, mountDestination: "/var/run/docker.sock",
                                    readWrite: false, kind: .direct)
        var throughVolume = SocketExposure(socket: engineSocket, mountSource: "/var/run", mountDestination: "/host-run",
                                           readWrite: true, kind: .parentDir)
        throughVolume.viaVolume = "hostrun"
        let hardLink = SocketExposure(socket: engineSocket, mountSource: "/srv/links/engine.sock",
                                      mountDestination: "/engine.sock", readWrite: true, kind: .hardLink,
                                      hardLink: "/srv/links/engine.sock")
        let details = agent(mounts: [MountPoint(kind: .bind, source: engineSocket, destination: "/var/run/docker.sock",
                                                readWrite: false)])
        add("socket-mount: direct, read-only, and a second mount", SocketExposureFinding(details: details, exposures: [direct, throughVolume], allowedBy: nil, eventTimeNano: eventTime).map(Finding.socketExposure))
        add("socket-mount: its folder through a volume", SocketExposureFinding(details: details, exposures: [throughVolume], allowedBy: nil, eventTimeNano: nil).map(Finding.socketExposure))
        add("socket-mount: a hard link", SocketExposureFinding(details: details, exposures: [hardLink], allowedBy: nil, eventTimeNano: eventTime).map(Finding.socketExposure))
        add("socket-mount-allowed", SocketExposureFinding(details: details, exposures: [direct], allowedBy: allowRule, eventTimeNano: eventTime).map(Finding.socketExposure))
        add("socket-mount-unresolved: two mounts", Finding.socketUnresolved(details, [UnresolvedMount(source: "/srv/private/run", destination: "/run/host", reason: "Permission denied"),
                         UnresolvedMount(source: "/srv/private/data", destination: "/data", reason: "Permission denied")], eventTimeNano: eventTime))

        // Host control.
        let stateMount = MountPoint(kind: .volume, source: "/var/lib/docker", destination: "/engine", readWrite: true,
                                    viaVolume: "engine-state")
        add("privileged", Finding.hostControl(details, .privileged, allowedBy: nil, eventTimeNano: eventTime))
        add("host-pid: SYS_PTRACE", Finding.hostControl(details, .hostPID(capabilities: ["SYS_PTRACE"]), allowedBy: nil, eventTimeNano: eventTime))
        add("engine-state-mount: through a volume", Finding.hostControl(details, .engineState(statePath: "/var/lib/docker", mount: stateMount), allowedBy: nil, eventTimeNano: eventTime))
        add("block-device: --device", Finding.hostControl(details, .blockDevice(path: "/dev/sdb", volume: nil), allowedBy: nil, eventTimeNano: eventTime))
        add("block-device: as a volume", Finding.hostControl(details, .blockDevice(path: "/dev/sdb1", volume: "disk"), allowedBy: nil, eventTimeNano: nil))
        add("host-control-allowed: host-pid with every capability", Finding.hostControl(details, .hostPID(capabilities: ["ALL"]), allowedBy: allowRule, eventTimeNano: eventTime))

        let own = OwnContainer(id: details.id, cgroupPath: "/system.slice/docker-\(details.id.full).scope")
        add("self-exempt: dockward's own container", Finding.selfExempt(SelfExemption(
            details: details, own: own, exempted: [.socketMount], socket: engineSocket)))

        // The engine's TCP listeners.
        add("engine-tcp-exposed: plain, every address, a file not read", Finding.engineTCPExposed(EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                  place: ConfigPlace(path: "/etc/systemd/system/docker.service.d/tcp.conf", line: 3)), unreadable: ["/etc/docker/daemon.json"]))
        add("engine-tcp-exposed: TLS without verification, loopback", Finding.engineTCPExposed(EngineListenerFinding(address: "tcp://127.0.0.1:2376", tls: .noVerify, isLoopback: true,
                                  place: ConfigPlace(path: "/etc/docker/daemon.json", line: 2)), unreadable: []))

        // The daemon's own entries.
        let configPath = "/etc/dockward/dockward.yml"
        add("daemon-started: fresh", .lifecycle(.daemonStarted(DaemonStart(
            version: "0.0.0-golden", config: DockwardConfig(), configPath: configPath, engineSocket: engineSocket,
            cgroupLayout: "v1", openEpisodes: nil, stateFile: nil))))
        add("daemon-started: carried state, socket hard links", .lifecycle(.daemonStarted(DaemonStart(
            version: "0.0.0-golden", config: DockwardConfig(), configPath: configPath, engineSocket: engineSocket,
            cgroupLayout: "v2", openEpisodes: 2, stateFile: "/var/lib/dockward/state.json",
            engineSocketHardLinks: ["/srv/links/engine.sock"]))))
        add("daemon-stopped", Finding.lifecycle(.daemonStopped(watching: 12)))
        add("config-reloaded: two changes", Finding.lifecycle(.configReloaded(
            changes: config("pids:\n  warn_ratio: 0.7\nalerts:\n  repeat_interval: 5m\n").changes(from: DockwardConfig()),
            configPath: configPath)))
        add("config-reloaded: nothing changed", Finding.lifecycle(.configReloaded(changes: [], configPath: configPath)))
        add("config-rejected", Finding.lifecycle(.configRejected(
            configIssues("pids:\n  warn_ratio: 1.5\n  bogus: 1\n"), configPath: configPath)))
        add("engine-lost: permission denied", Finding.lifecycle(.engineLost(
            socket: engineSocket, reason: "connect(): Permission denied (errno: 13)", retryCap: .seconds(30))))
        add("engine-connected", Finding.lifecycle(.engineConnected(socket: engineSocket, product: "Podman 4.3.1", apiVersion: "1.41")))
        add("engine-back", Finding.lifecycle(.engineBack(socket: engineSocket, outage: 4_250_000_000)))
        // As the outlet sends it: a typed finding, rendered by the writer.
        add("journal-replayed: entries kept", Finding.lifecycle(.journalReplayed(
            JournalReplay(outageSeconds: 42, written: 17, dropped: 0, queueLimit: 4096))))
        add("journal-replayed: entries dropped", Finding.lifecycle(.journalReplayed(
            JournalReplay(outageSeconds: 900, written: 4096, dropped: 311, queueLimit: 4096))))
        add("alertmanager-lost", Finding.lifecycle(.alertmanagerLost(
            url: "https://am-1.example:9093", reason: "connect(): Connection refused (errno: 111)")))
        add("alertmanager-back: every alert delivered", Finding.lifecycle(.alertmanagerBack(
            url: "https://am-1.example:9093", outage: 95_000_000_000, dropped: 0)))
        add("alertmanager-back: alerts dropped", Finding.lifecycle(.alertmanagerBack(
            url: "https://am-1.example:9093", outage: 3_600_000_000_000, dropped: 12)))

        // Containment actions: `AlertText.action`.
        add("action-taken: cap, engine pending", Finding.action(ActionReport(
            result: .taken, action: .cap(2_048), reason: .runawayForecast, container: web, current: 900,
            cgroupWrite: .ok, engineUpdate: .pending)))
        add("action-taken: pause", Finding.action(ActionReport(
            result: .taken, action: .pause, reason: .exhausted, container: web, current: 100, limit: 100)))
        add("action-failed: stop", Finding.action(ActionReport(
            result: .failed, action: .stop, reason: .hostPidsHigh, container: web, current: 5_000,
            error: "engine answered 500: cannot stop container")))
        add("action-skipped: label", Finding.action(ActionReport(
            result: .skipped, action: .kill, reason: .exhausted, container: web, current: 100, limit: 100,
            skipReason: .label)))
        add("action-skipped: rate limit", Finding.action(ActionReport(
            result: .skipped, action: .pause, reason: .exhausted, container: unnamed, current: 100, limit: 100,
            skipReason: .rateLimit)))
        add("action-dry-run: kill", Finding.action(ActionReport(
            result: .dryRun, action: .kill, reason: .exhausted, container: web, current: 100, limit: 100)))
        return cases
    }

    private static func config(_ yaml: String) -> DockwardConfig {
        do { return try ConfigLoader.parse(yaml, file: "/etc/dockward/dockward.yml") } catch {
            preconditionFailure("golden config does not parse: \(error)")
        }
    }

    private static func configIssues(_ yaml: String) -> ConfigError {
        do throws(ConfigError) {
            _ = try ConfigLoader.parse(yaml, file: "/etc/dockward/dockward.yml")
            preconditionFailure("golden config was meant to be rejected")
        } catch { return error }
    }

    // MARK: A /metrics scrape

    /// A registry fed fixed values, rendered with a fixed snapshot: one
    /// container near its limit and forecast, one without a limit and not
    /// named yet, one that refused forks.
    static func scrape() -> String {
        let registry = MetricsRegistry(version: "0.0.0-golden")
        registry.setEngineConnected(true)
        registry.setEventStreamLag(seconds: 0.004)
        for seconds in [0.00004, 0.00042, 0.0031] { registry.observePollDuration(seconds: seconds) }
        registry.recordAlert(kind: .pidsHigh)
        registry.recordAlert(kind: .pidsHigh)
        registry.recordAlert(kind: .pidsExhausted)
        registry.recordAlert(kind: .socketMount)
        registry.recordAction(action: "cap", result: "taken")
        registry.recordAction(action: "pause", result: "dry-run")
        registry.setSourceHealth(SourceHealth(down: [.kmsg, .inotify], refusalSource: .journal,
                                              openFileBudgetExceeded: false))
        return registry.render(containers: [
            ContainerMetrics(id: webID, name: "web", image: "nginx:1.27", current: 84, limit: 100, refusedForks: 0,
                             rate: 0.5, forecastSeconds: 32),
            ContainerMetrics(id: unnamedID, name: nil, image: nil, current: 3, limit: PidsSample.unlimited, refusedForks: 0),
            ContainerMetrics(id: agentID, name: "agent", image: "registry.example/ops/agent:3", current: 64, limit: 64,
                             refusedForks: 4711, rate: -0.25),
        ])
    }
}
