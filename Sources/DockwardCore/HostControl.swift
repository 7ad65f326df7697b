/// The ways besides a socket that give a container control of the host,
/// each reported as its own entry kind.
public enum HostControlClass: String, CaseIterable, Sendable, Codable {
    case privileged
    case hostPID = "host-pid"
    case engineState = "engine-state"
    case blockDevice = "block-device"

    public var entryKind: EntryKind {
        switch self {
        case .privileged: .privileged
        case .hostPID: .hostPID
        case .engineState: .engineStateMount
        case .blockDevice: .blockDevice
        }
    }
}

/// One way a container holds the host, with what shows it.
public enum HostControlFinding: Equatable, Sendable {
    case privileged
    /// `--pid=host` with these capabilities (normalized, `SYS_PTRACE`), or
    /// `ALL` for a privileged container.
    case hostPID(capabilities: [String])
    /// A mount that reaches `statePath` (the engine's data root, containerd's
    /// state): equal to it, above it, or inside it (a socket inside it
    /// excepted).
    case engineState(statePath: String, mount: MountPoint)
    /// A host block device given to the container: by `--device`, or as
    /// the filesystem of a local-driver volume (`volume`, its name).
    case blockDevice(path: String, volume: String?)

    public var hostControlClass: HostControlClass {
        switch self {
        case .privileged: .privileged
        case .hostPID: .hostPID
        case .engineState: .engineState
        case .blockDevice: .blockDevice
        }
    }
}

/// Decides from a container's inspect data which of the host-control
/// classes it has. Pure: the filesystem is asked through `HostPathInspector`.
public enum HostControlAnalysis {
    /// containerd's own state, next to the engine's data root: with it a
    /// container can rewrite any container's snapshot or task. CRI-O's and
    /// Podman's storage the same; and kubelet's folder, which holds every
    /// pod's secrets, service-account tokens and volumes.
    public static let containerdState = ["/var/lib/containerd", "/run/containerd", "/var/lib/containers", "/var/lib/kubelet"]

    /// Capabilities that, with the host's PID namespace, reach the host's
    /// root through `/proc/<pid>/root` or by injecting into a host process.
    static let hostPIDCapabilities: Set<String> = ["SYS_PTRACE", "SYS_ADMIN", "ALL"]

    /// One finding per class at most (the first mount or device shown), in
    /// class order; classes switched off in `checks` are not looked at.
    /// `statePaths`: the engine's data root and containerd's state folders.
    public static func findings(_ details: ContainerDetails, checks: DockwardConfig.HostControlChecks,
                                statePaths: [String], host: HostPathInspector) -> [HostControlFinding] {
        var out: [HostControlFinding] = []
        if checks.privileged, details.privileged { out.append(.privileged) }
        if checks.hostPID, let caps = hostPIDPowers(details) { out.append(.hostPID(capabilities: caps)) }
        if checks.engineState, let found = engineStateMount(details, statePaths: statePaths, host: host) {
            out.append(found)
        }
        if checks.blockDevices, let found = blockDevice(details, host: host) { out.append(found) }
        return out
    }

    /// The capabilities that make the host's PID namespace a way to the
    /// host; nil when the container has its own namespace or none of them.
    static func hostPIDPowers(_ details: ContainerDetails) -> [String]? {
        guard details.pidMode == "host" else { return nil }
        if details.privileged { return ["ALL"] }
        var caps: [String] = []
        for cap in details.capAdd.map(normalizeCapability) where hostPIDCapabilities.contains(cap) && !caps.contains(cap) {
            caps.append(cap)
        }
        return caps.isEmpty ? nil : caps
    }

    /// `cap_sys_ptrace`, `CAP_SYS_PTRACE` and `SYS_PTRACE` are one capability.
    static func normalizeCapability(_ cap: String) -> String {
        let upper = cap.uppercased()
        return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
    }

    /// A host mount that is a state folder, a folder above one, a second
    /// view of one, or a folder inside one other than a single volume's
    /// data (every volume lives in the data root, by design). A mount is
    /// judged by what it reaches: a socket (containerd's, in /run/containerd)
    /// reaches itself, not the folder it sits in, and the socket checks
    /// judge it; any other file inside a state folder is part of the state.
    static func engineStateMount(_ details: ContainerDetails, statePaths: [String],
                                 host: HostPathInspector) -> HostControlFinding? {
        // Most containers have no host mount: the state folders are only
        // looked up for those that do.
        let mounts = SocketExposureAnalysis.hostMounts(mounts: details.mounts, binds: details.binds,
                                                       volumes: details.volumes).filter { $0.kind != .volume }
        guard !mounts.isEmpty else { return nil }
        // Only the state folders this host has.
        let states = statePaths.compactMap { path -> (path: String, resolved: String, identity: FileIdentity?)? in
            let lexical = SocketExposureAnalysis.normalize(path)
            guard let resolved = host.resolve(lexical) else { return nil }
            return (lexical, resolved, host.identity(resolved))
        }
        guard !states.isEmpty else { return nil }
        for mount in mounts {
            let (_, resolved) = SocketExposureAnalysis.canonical(mount.source, on: host)
            let identity = host.identity(resolved)
            for state in states {
                let above = resolved == state.resolved || SocketExposureAnalysis.isAncestor(resolved, of: state.resolved)
                let inside = SocketExposureAnalysis.isAncestor(state.resolved, of: resolved)
                    && !isVolumeData(resolved, dataRoot: state.resolved) && !host.isSocket(resolved)
                if above || inside || (identity != nil && identity == state.identity) {
                    return .engineState(statePath: state.path, mount: mount)
                }
            }
        }
        return nil
    }

    /// `<root>/volumes/<name>/_data` or below: one volume's own data.
    static func isVolumeData(_ path: String, dataRoot: String) -> Bool {
        let prefix = (dataRoot == "/" ? "" : dataRoot) + "/volumes/"
        guard path.hasPrefix(prefix) else { return false }
        let rest = path.dropFirst(prefix.count).split(separator: "/")
        return rest.count >= 2 && rest[1] == "_data"
    }

    /// The first host block device the container is given: by `--device`,
    /// or mounted as a local volume's filesystem (`type=ext4,device=/dev/sdb1`).
    static func blockDevice(_ details: ContainerDetails, host: HostPathInspector) -> HostControlFinding? {
        if let device = details.devices.first(where: host.isBlockDevice) {
            return .blockDevice(path: device, volume: nil)
        }
        for volume in details.volumes where volume.hostBind == nil {
            guard let device = volume.options?["device"], device.hasPrefix("/"), host.isBlockDevice(device) else { continue }
            return .blockDevice(path: device, volume: volume.name)
        }
        return nil
    }
}
