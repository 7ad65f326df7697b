/// The socket part of a container's verdict. `unresolved`: no exposure
/// found, but a mount's host path could not be resolved.
public enum SocketVerdict: String, Codable, Sendable { case clean, exposed, allowed, unresolved }

/// One container's whole host-control verdict: the socket check and the
/// other classes, with the findings they give, in the order they are told.
/// The daemon's watch, `dockward audit` and `dockward check-compose` all
/// judge through this one function, so the three cannot disagree.
public struct HostControlVerdict: Equatable, Sendable {
    public var socket: SocketVerdict
    /// Host-control classes found (as alerts or allowed notices).
    public var classes: [HostControlClass]
    public var findings: [Finding]

    /// `statePaths`: the engine's data root and containerd's state
    /// (`HostControlAnalysis.statePaths`).
    public static func judge(_ details: ContainerDetails, hostControl: DockwardConfig.HostControl,
                             sockets: [ProtectedSocket], statePaths: [String], host: HostPathInspector,
                             eventTimeNano: Int64?) -> HostControlVerdict {
        // A pod's sandbox holds the pod's namespaces and no workload: what
        // it shares (the host's PID or network namespace, privilege) its
        // containers have too, and they are judged.
        guard !details.metadata.isSandbox else { return HostControlVerdict(socket: .clean, classes: [], findings: []) }
        let rule = hostControl.allow.first { $0.matches(details.metadata) }
        var findings: [Finding] = []
        let socket: SocketVerdict
        let found = SocketExposureAnalysis.exposures(mounts: details.mounts, binds: details.binds, volumes: details.volumes,
                                                     sockets: sockets, host: host)
        if let exposure = SocketExposureFinding(details: details, exposures: found, allowedBy: rule,
                                                eventTimeNano: eventTimeNano) {
            findings.append(.socketExposure(exposure))
            socket = rule == nil ? .exposed : .allowed
        } else {
            // Nothing found is only clean when every path could be looked at;
            // a container an allow rule matches may reach the socket anyway.
            let unresolved = rule == nil
                ? SocketExposureAnalysis.unresolved(mounts: details.mounts, binds: details.binds, volumes: details.volumes,
                                                    host: host)
                : []
            if unresolved.isEmpty {
                socket = .clean
            } else {
                findings.append(.socketUnresolved(details, unresolved, eventTimeNano: eventTimeNano))
                socket = .unresolved
            }
        }
        var classes: [HostControlClass] = []
        for finding in HostControlAnalysis.findings(details, checks: hostControl.checks, statePaths: statePaths, host: host) {
            classes.append(finding.hostControlClass)
            findings.append(.hostControl(details, finding, allowedBy: rule, eventTimeNano: eventTimeNano))
        }
        return HostControlVerdict(socket: socket, classes: classes, findings: findings)
    }
}

extension HostControlAnalysis {
    /// The engine's data root (when known) and containerd's state folders.
    public static func statePaths(engineDataRoot: String?) -> [String] {
        (engineDataRoot.map { [$0] } ?? []) + containerdState
    }
}

extension ProtectedSocket {
    /// The protected sockets now: the engine's, the configured ones (globs
    /// expanded), and every other name (hard link) of each. `otherNames`
    /// finds a socket's other names given its identity and link count
    /// (the daemon keeps them between checks; a one-shot reader walks).
    public static func protected(engineSocket: String, protect: [String], host: HostPathInspector,
                                 otherNames: (ProtectedSocket, FileIdentity, Int) -> [String]) -> [ProtectedSocket] {
        let sockets = resolve([engineSocket] + protect, on: host)
        var links: [ProtectedSocket] = []
        for socket in sockets {
            guard let identity = socket.identity else { continue }
            let count = host.linkCount(socket.resolved)
            guard count > 1 else { continue }
            links += socket.hardLinks(otherNames(socket, identity, count))
        }
        return sockets + links
    }
}
