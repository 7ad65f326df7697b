/// An entry's words: the sentence and the figures. The kind, the priority
/// and the container are the finding's (`Finding.entry` puts them together);
/// a renderer decides none of them.
public struct EntryText: Sendable {
    public var message: String
    /// `NAME=value` fields (upper-case names), in order.
    public var fields: [(name: String, value: String)]

    public init(message: String, fields: [(name: String, value: String)] = []) {
        self.message = message
        self.fields = fields
    }
}

/// The text of every entry dockward writes: one readable sentence with the
/// numbers, plus the figures as fields. Built from data already read; nothing
/// here touches a file or the engine, and nothing here decides a kind or a
/// priority (the kind table and `Finding.priority` do).
public enum AlertText {
    /// `peak` is `pids.peak` where the kernel keeps it, read by the watch
    /// when the finding was made.
    public static func pids(_ f: PidsFinding, container: ContainerRef?, peak: Int64? = nil) -> EntryText {
        let who = container.map { "Container \(sanitizedForMessage($0.displayName)) (\($0.id.short))" } ?? "The host"
        let limitText = f.limit.map(String.init) ?? "?"
        let percent = f.ratio.map { " (\(Int(($0 * 100).rounded()))%)" } ?? ""
        let again = f.isReminder ? "Still: " : ""
        let pod = container?.metadata?.pod
        // Where its limit sits in kubelet's tree: the one that refused, or the one it runs under.
        let kubeletLevel = f.refusingLimit.flatMap { KubernetesCgroups.level(ofCgroup: $0.cgroup) } ?? f.limitLevel
        let fix = pod == nil ? "Set one with docker update --pids-limit N."
            : "Set kubelet's podPidsLimit (--pod-max-pids) on the node."
        var message: String
        switch f.kind {
        case .pidsExhausted where pod != nil && kubeletLevel == .pod && !f.cgroupGone:
            let cgroup = f.refusingLimit?.cgroup ?? f.limitCgroup ?? "its pod's cgroup"
            let holders = f.podTasks.isEmpty ? "\(tasks(f.current)) in \(pod!.container)"
                : PodTasks.ordered(f.podTasks).map { "\(sanitizedForMessage($0.name)) \($0.tasks)" }
                    .joined(separator: ", ")
            let newly = f.newlyRefused.map { " (\($0) since the last report)" } ?? ""
            message = "\(again)Pod \(sanitizedForMessage(pod!.podName)) hit its pids limit of \(limitText) (kubelet's podPidsLimit, "
                + "on \(sanitizedForMessage(cgroup))): tasks by container: \(holders); the kernel refused "
                + "\(f.refusedForks ?? 0) forks\(newly), first in \(who.prefix(1).lowercased() + who.dropFirst())."
        case .pidsUnlimited where f.limitIsInherited:
            let origin = f.ceilingOrigin.map { " (\($0))" } ?? ""
            message = "\(who) runs with no pids limit of its own: only the ceiling of \(limitText) tasks set around it\(origin) "
                + "stops a fork bomb, and it is shared or far too high; \(tasks(f.current)) now. "
                + fix
        case .pidsUnlimited:
            let host = f.limit.map { ", so only the host's ceiling of \($0) tasks stops a fork bomb" } ?? ""
            message = "\(who) runs with no pids limit\(host)\(pod == nil ? "" : ", nor has its pod one"); \(tasks(f.current)) now. "
                + fix
        case .pidsHigh:
            let level = f.priority == .err ? "critical" : "warning"
            message = "\(again)\(who) uses \(f.current) of its \(limitText) pids\(percent), above its \(level) threshold."
        case .pidsExhausted where f.cgroupGone:
            let of = f.limit.map { " of \($0)" } ?? ""
            message = "\(who) hit its pids limit\(of): the kernel refused a fork, and the container "
                + "was gone a moment later (its cgroup removed; it likely died of it)."
        case .pidsExhausted:
            let newly = f.newlyRefused.map { " (\($0) since the last report)" } ?? ""
            if let refusing = f.refusingLimit {
                let place = refusing.place == .parent ? "a cgroup above it" : "a cgroup inside it"
                message = "\(again)\(who) hit the pids limit of \(limitText) on \(sanitizedForMessage(refusing.cgroup)) "
                    + "(\(place), not a limit of its own): \(tasks(f.current)) in the container, "
                    + "the kernel refused \(f.refusedForks ?? 0) forks\(newly)."
            } else {
                message = "\(again)\(who) hit its pids limit: \(f.current) of \(limitText) tasks, "
                    + "the kernel refused \(f.refusedForks ?? 0) forks\(newly)."
            }
        case .pidsForecast:
            let whose = f.limitIsHost ? "the host's free process table" : "its pids limit of \(limitText)"
            message = "\(again)\(who) will exhaust \(whose) in about \(Int((f.secondsToLimit ?? 0).rounded())) s: "
                + "\(tasks(f.current)) now, growing \(formatRate(f.rate ?? 0))/s."
        case .pidsRecovered:
            let of = f.limit.map { " of \($0)" } ?? ""
            message = "\(who) is back under its pids thresholds: \(f.current)\(of) tasks."
        case .hostPidsHigh:
            message = "\(again)The host runs \(f.current) of at most \(limitText) tasks\(percent); "
                + "containers without a pids limit can exhaust it."
        case .hostPidsRecovered:
            message = "The host is back under its task thresholds: \(f.current) of \(limitText) tasks\(percent)."
        default:
            message = "\(who): \(f.kind.rawValue)"
        }
        var fields: [(name: String, value: String)] = f.cgroupGone ? [("CGROUP_GONE", "1")] : [("PIDS_CURRENT", String(f.current))]
        if let l = f.limit { fields.append(("PIDS_MAX", String(l))) }
        if f.limitIsHost { fields.append(("PIDS_MAX_SOURCE", "host")) }
        if f.limitIsInherited { fields.append(("PIDS_MAX_SOURCE", "inherited")) }
        if let r = f.refusingLimit {
            fields.append(("PIDS_MAX_SOURCE", KubernetesCgroups.level(ofCgroup: r.cgroup)?.rawValue ?? r.place.rawValue))
            fields.append(("PIDS_MAX_CGROUP", r.cgroup))
        } else if let level = f.limitLevel {
            fields.append(("PIDS_MAX_SOURCE", level.rawValue))
            if let cgroup = f.limitCgroup { fields.append(("PIDS_MAX_CGROUP", cgroup)) }
        } else if pod != nil, f.limit != nil, !f.limitIsHost, !f.limitIsInherited {
            fields.append(("PIDS_MAX_SOURCE", "own"))
        }
        if !f.podTasks.isEmpty { fields.append(("PIDS_POD_TASKS", PodTasks.fieldValue(f.podTasks))) }
        if let origin = f.ceilingOrigin { fields.append(("PIDS_MAX_ORIGIN", origin)) }
        if let r = f.refusedForks { fields.append(("PIDS_REJECTED", String(r))) }
        if let r = f.rate { fields.append(("PIDS_RATE", formatRate(r))) }
        if let s = f.secondsToLimit { fields.append(("PIDS_FORECAST_SECONDS", String(Int(s.rounded())))) }
        if let peak { fields.append(("PIDS_PEAK", String(peak))) }
        if f.isReminder { fields.append(("DOCKWARD_REMINDER", "1")) }
        return EntryText(message: message, fields: fields)
    }

    /// `socket-mount` (or `socket-mount-allowed` when an allow rule matched)
    /// for a container whose mounts reach a protected socket.
    public static func socketExposure(details: ContainerDetails, exposures: [SocketExposure],
                                      allowedBy rule: ContainerMatcher?, eventTimeNano: Int64?) -> EntryText? {
        guard let first = exposures.first else { return nil }
        let name = sanitizedForMessage(details.metadata.name)
        let source = sanitizedForMessage(first.mountSource)
        let destination = sanitizedForMessage(first.mountDestination)
        let how: String
        switch first.kind {
        case .direct: how = "has it mounted at \(destination)"
        case .parentDir: how = "has its folder \(source) mounted at \(destination)"
        case .alias: how = "reaches it through \(source) mounted at \(destination)"
        case .hardLink:
            let link = sanitizedForMessage(first.hardLink ?? first.mountSource)
            how = first.mountSource == first.hardLink
                ? "has \(link), a second name (hard link) of the socket, mounted at \(destination)"
                : "has \(source) mounted at \(destination), which holds \(link), a second name (hard link) of the socket"
        }
        let volume = first.viaVolume.map { " through the volume \(sanitizedForMessage($0)), which binds \(source)" } ?? ""
        let more = exposures.count > 1 ? " (and \(exposures.count - 1) more mount(s))" : ""
        let ro = first.readWrite ? "" : " Read-only does not help: connect() on a socket works through ro."
        var message = "Container \(name) (\(details.id.short)) can reach \(first.socket) and so control the host: it \(how)\(volume)\(more).\(ro)"
        if let rule {
            message += " Allowed by host_control.allow rule \(rule.summary)."
        } else {
            message += " Remove the mount, or add a host_control.allow rule if it truly needs the socket."
        }
        var fields: [(name: String, value: String)] = [
            ("SOCKET_PATH", first.socket),
            ("MOUNT_SOURCE", first.mountSource),
            ("MOUNT_DESTINATION", first.mountDestination),
            ("MOUNT_RW", first.readWrite ? "true" : "false"),
            ("EXPOSURE", first.kind.rawValue),
            ("CONTAINER_STATE", details.state),
        ]
        if let link = first.hardLink { fields.append(("SOCKET_LINK", link)) }
        if let volume = first.viaVolume { fields.append(("MOUNT_VOLUME", volume)) }
        if exposures.count > 1 { fields.append(("EXPOSURE_COUNT", String(exposures.count))) }
        if let t = eventTimeNano { fields.append(("ENGINE_EVENT_NANO", String(t))) }
        return EntryText(message: message, fields: fields)
    }

    /// `self-exempt`: dockward's own container, whose socket mount is not reported.
    public static func selfExempt(_ e: SelfExemption) -> EntryText {
        let name = sanitizedForMessage(e.details.metadata.name)
        let kinds = e.exempted.map(\.rawValue).joined(separator: ", ")
        let need = e.socket.map { ", as dockward needs \(sanitizedForMessage($0)) to watch the host" } ?? ""
        let message = "Container \(name) (\(e.details.id.short)) is dockward's own (the kernel puts dockward in its cgroup "
            + "\(sanitizedForMessage(e.own.cgroupPath))): its \(kinds) is not reported\(need). Any other way to the host "
            + "it is given is reported as for any container."
        var fields: [(name: String, value: String)] = [
            ("SELF_CGROUP", e.own.cgroupPath),
            ("EXEMPTED_KINDS", kinds),
        ]
        if let socket = e.socket { fields.append(("SOCKET_PATH", socket)) }
        return EntryText(message: message, fields: fields)
    }

    /// The entry for one host-control finding: its own kind, or
    /// `host-control-allowed` (notice) when an allow rule matched.
    public static func hostControl(details: ContainerDetails, finding: HostControlFinding,
                                   allowedBy rule: ContainerMatcher?, eventTimeNano: Int64?) -> EntryText {
        let who = "Container \(sanitizedForMessage(details.metadata.name)) (\(details.id.short))"
        let what: String
        let fix: String
        var fields: [(name: String, value: String)] = [("HOST_CONTROL", finding.hostControlClass.rawValue)]
        switch finding {
        case .privileged:
            what = "runs privileged: it has every capability and every host device, so it can mount the host's disk "
                + "and load kernel modules, which is control of the host"
            fix = "Drop --privileged and add only the capabilities and devices it needs (--cap-add, --device)"
        case .hostPID(let caps):
            let names = caps.map { $0 == "ALL" ? "every capability" : "CAP_\($0)" }.joined(separator: " and ")
            what = "shares the host's PID namespace (--pid=host) with \(names): it can reach the host's root "
                + "through /proc/1/root and act inside any host process"
            fix = "Drop --pid=host, or the capability (--cap-drop)"
            fields.append(("CAPABILITIES", caps.joined(separator: ",")))
        case .engineState(let state, let mount):
            let source = sanitizedForMessage(mount.source)
            let via = mount.viaVolume.map { " (through the volume \(sanitizedForMessage($0)))" } ?? ""
            what = "has \(source) mounted at \(sanitizedForMessage(mount.destination))\(via), which reaches "
                + "\(sanitizedForMessage(state)), where the container engine keeps its state: it can rewrite other "
                + "containers' files and configuration, and so get one started with the host's powers"
            fix = "Remove the mount"
            fields += [("ENGINE_STATE_PATH", state), ("MOUNT_SOURCE", mount.source),
                       ("MOUNT_DESTINATION", mount.destination), ("MOUNT_RW", mount.readWrite ? "true" : "false")]
            if let volume = mount.viaVolume { fields.append(("MOUNT_VOLUME", volume)) }
        case .blockDevice(let path, let volume):
            let how = volume.map { "mounts the host's block device \(sanitizedForMessage(path)) as its volume \(sanitizedForMessage($0))" }
                ?? "is given the host's block device \(sanitizedForMessage(path)) (--device)"
            what = "\(how): with it, it can read and write the host's filesystem under every permission check"
            fix = "Give it a file or a volume instead of the device"
            fields.append(("DEVICE", path))
            if let volume { fields.append(("MOUNT_VOLUME", volume)) }
        }
        fields.append(("CONTAINER_STATE", details.state))
        if let t = eventTimeNano { fields.append(("ENGINE_EVENT_NANO", String(t))) }
        var message = "\(who) \(what)."
        if let rule {
            message += " Allowed by host_control.allow rule \(rule.summary)."
        } else {
            message += " \(fix), or add a host_control.allow rule if it truly needs it."
        }
        return EntryText(message: message, fields: fields)
    }

    /// `socket-mount-unresolved` for a container none of whose mounts was
    /// found to reach a socket, but some of whose host paths dockward could
    /// not resolve: not a clean verdict, an unknown one.
    public static func socketUnresolved(details: ContainerDetails, unresolved: [UnresolvedMount],
                                        eventTimeNano: Int64?) -> EntryText? {
        guard let first = unresolved.first else { return nil }
        let name = sanitizedForMessage(details.metadata.name)
        let more = unresolved.count > 1 ? " (and \(unresolved.count - 1) more mount(s))" : ""
        let message = "Container \(name) (\(details.id.short)) could not be checked for socket exposure: "
            + "dockward cannot resolve its mount source \(sanitizedForMessage(first.source)) "
            + "(mounted at \(sanitizedForMessage(first.destination))): \(sanitizedForMessage(first.reason))\(more). "
            + "A symlink or a socket folder behind it would go unseen; check that path by hand, "
            + "or give the service the right to search it (the packaged unit grants CAP_DAC_READ_SEARCH)."
        var fields: [(name: String, value: String)] = [
            ("MOUNT_SOURCE", first.source),
            ("MOUNT_DESTINATION", first.destination),
            ("PATH_ERROR", first.reason),
            ("CONTAINER_STATE", details.state),
        ]
        if unresolved.count > 1 { fields.append(("UNRESOLVED_COUNT", String(unresolved.count))) }
        if let t = eventTimeNano { fields.append(("ENGINE_EVENT_NANO", String(t))) }
        return EntryText(message: message, fields: fields)
    }

    // MARK: The daemon's own entries (DOCKWARD_EVENT)

    /// `openEpisodes`: alerts still open from the last run (the state file),
    /// which this run will not repeat; nil when no state was carried over.
    public static func daemonStarted(version: String, config: DockwardConfig, configPath: String, engineSocket: String,
                                     cgroupLayout: String, openEpisodes: Int?, stateFile: String?,
                                     engineSocketHardLinks: [String] = []) -> EntryText {
        var message = "dockward \(version) started: \(config.summary), engine \(engineSocket)"
        var fields: [(name: String, value: String)] = [("DOCKWARD_CONFIG", configPath), ("CGROUP_LAYOUT", cgroupLayout)]
        if !engineSocketHardLinks.isEmpty {
            let names = engineSocketHardLinks.map(sanitizedForMessage).joined(separator: ", ")
            message += " (its socket has other names, hard links, protected like it: \(names))"
            fields.append(("SOCKET_HARD_LINKS", engineSocketHardLinks.joined(separator: ",")))
        }
        if let stateFile { fields.append(("DOCKWARD_STATE_FILE", stateFile)) }
        if let open = openEpisodes {
            message += "; \(open == 1 ? "1 alert episode is" : "\(open) alert episodes are") still open from the last run and will not be repeated"
            fields.append(("DOCKWARD_OPEN_EPISODES", String(open)))
        }
        return EntryText(message: message, fields: fields)
    }

    public static func daemonStopped(watching: Int) -> EntryText {
        EntryText(message: "dockward stopped; it was watching \(watching) containers.")
    }

    /// `changes` from `DockwardConfig.changes(from:)`.
    public static func configReloaded(changes: [String], configPath: String) -> EntryText {
        EntryText(
            message: changes.isEmpty ? "Configuration reloaded; nothing changed."
                : "Configuration reloaded: \(changes.joined(separator: "; "))",
            fields: [("CONFIG_FILE", configPath)])
    }

    /// The first ten problems in the message; the first one's place in fields.
    public static func configRejected(_ error: ConfigError, configPath: String) -> EntryText {
        let issues = error.issues
        let first = issues.first
        let listed = issues.prefix(10).map(\.description).joined(separator: "; ")
        let rest = issues.count > 10 ? "; and \(issues.count - 10) more (dockward check-config \(configPath))" : ""
        return EntryText(
            message: "Reload refused, keeping the running configuration: \(listed)\(rest)",
            fields: [("CONFIG_FILE", first?.file ?? configPath),
                     ("CONFIG_LINE", String(first?.line ?? 0)),
                     ("CONFIG_KEY", first?.key ?? "")])
    }

    /// Once per outage, however many retries fail.
    public static func engineLost(socket: String, reason: String, retryCap: Interval) -> EntryText {
        let advice = engineAdvice(reason: reason, socket: socket).map { " \($0)" } ?? ""
        return EntryText(
            message: "Lost the Docker engine at \(socket): \(sanitizedForMessage(reason)).\(advice) "
                + "The pids watch goes on by container id; new containers are checked for socket exposure "
                + "once the engine is back (retrying with backoff up to \(retryCap)).",
            fields: [("DOCKER_SOCKET", socket), ("ENGINE_ERROR", reason)])
    }

    /// What to do about the two failures a new install meets: no engine
    /// (none installed yet, or another socket path), and a socket the
    /// service's user may not open (not in the socket's group; for Podman's
    /// socket, made before the package's drop-in gave it the group dockward).
    static func engineAdvice(reason: String, socket: String = "") -> String? {
        let lower = reason.lowercased()
        let denied = lower.contains("permission denied") || lower.contains("eacces") || lower.contains("errno: 13")
        if denied && socket.contains("podman") {
            return "The socket is there but dockward's user may not connect to it: the package gives Podman's API "
                + "socket the group dockward (/lib/systemd/system/podman.socket.d/dockward.conf) each time "
                + "podman.socket makes it; remake it (systemctl restart podman.socket), check that nothing masks "
                + "the drop-in (systemctl cat podman.socket), then restart dockward. A rootless Podman's socket "
                + "under /run/user belongs to its user alone."
        }
        if denied {
            return "The socket is there but dockward's user may not connect to it: add that user to the socket's "
                + "group (usermod -aG docker dockward, where Docker made the group docker) and restart dockward "
                + "(systemctl restart dockward)."
        }
        if lower.contains("does not exist") {
            return "No engine listens there: Docker is not installed or not running, or it uses another socket "
                + "(set docker.socket in the config)."
        }
        return nil
    }

    /// The first time the engine answers: what it is, and the API spoken.
    public static func engineConnected(socket: String, product: String?, apiVersion: String?) -> EntryText {
        let what = product.map(sanitizedForMessage) ?? "the container engine"
        let api = apiVersion.map { " (API \($0))" } ?? ""
        var fields: [(name: String, value: String)] = [("DOCKER_SOCKET", socket)]
        if let product { fields.append(("ENGINE_PRODUCT", product)) }
        if let apiVersion { fields.append(("ENGINE_API_VERSION", apiVersion)) }
        return EntryText(message: "Connected to \(what) at \(socket)\(api); listing containers and following its events.",
                         fields: fields)
    }

    /// When the engine answers again; `outage` in nanoseconds.
    public static func engineBack(socket: String, outage: Int64) -> EntryText {
        let seconds = Double(outage) / 1e9
        let text = seconds < 10 ? formatRate(seconds) : String(Int(seconds.rounded()))
        return EntryText(
            message: "Docker engine back at \(socket) after \(text) s; re-listing containers and resubscribing to events.",
            fields: [("DOCKER_SOCKET", socket), ("OUTAGE_SECONDS", text)])
    }

    /// The first failed delivery to an Alertmanager; what it was to get is
    /// kept and sent when it answers again.
    public static func alertmanagerLost(url: String, reason: String) -> EntryText {
        EntryText(
            message: "Cannot deliver alerts to Alertmanager at \(sanitizedForMessage(url)): \(sanitizedForMessage(reason))."
                + (alertmanagerAdvice(reason: reason).map { " \($0)" } ?? "")
                + " The open alerts are kept and delivered when it answers (retrying with backoff); the journal has every alert meanwhile.",
            fields: [("ALERTMANAGER_URL", url), ("ALERTMANAGER_ERROR", reason)])
    }

    /// The failure a new setup meets first: the unit's empty network namespace.
    static func alertmanagerAdvice(reason: String) -> String? {
        let lower = reason.lowercased()
        guard lower.contains("network is unreachable") || lower.contains("address family not supported")
            || lower.contains("operation not permitted") || lower.contains("enetunreach") || lower.contains("eafnosupport")
        else { return nil }
        return "dockward.service has no network by default: install the drop-in "
            + "/usr/share/doc/dockward/examples/alertmanager.conf (see the README, \"Alertmanager\")."
    }

    public static func alertmanagerBack(url: String, outage: Int64, dropped: Int) -> EntryText {
        let seconds = Double(outage) / 1e9
        let text = seconds < 10 ? formatRate(seconds) : String(Int(seconds.rounded()))
        let lostPart = dropped == 0 ? "the alerts kept meanwhile go out now."
            : "\(dropped) alert state(s) did not fit in the queue (alertmanager.queue_capacity) and were dropped; the rest go out now."
        return EntryText(
            message: "Alertmanager answers again at \(sanitizedForMessage(url)) after \(text) s; \(lostPart)",
            fields: [("ALERTMANAGER_URL", url), ("OUTAGE_SECONDS", text), ("ALERTS_DROPPED", String(dropped))])
    }

    /// "1 task", "2 tasks".
    static func tasks(_ n: Int64) -> String { n == 1 ? "1 task" : "\(n) tasks" }

    /// Two decimals at most, no exponent: `1.5`, `0.03`, `12`.
    public static func formatRate(_ r: Double) -> String {
        guard r.isFinite else { return "0" }
        let hundredths = Int64((r * 100).rounded())
        let whole = hundredths / 100
        let frac = abs(hundredths % 100)
        if frac == 0 { return "\(whole)" }
        let sign = hundredths < 0 && whole == 0 ? "-" : ""
        return frac % 10 == 0 ? "\(sign)\(whole).\(frac / 10)" : "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// Container names and paths come from outside; in a MESSAGE they must not
    /// break the sentence onto a second line or smuggle terminal escapes.
    public static func sanitizedForMessage(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f || (0x80...0x9f).contains(scalar.value) {
                out.unicodeScalars.append("?")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
