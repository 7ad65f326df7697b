import DockwardCore
import DockwardDocker
import Logging

/// The host-control watch: judges each container once, as the engine link
/// delivers its inspect data (from a `create`/`start` event, a listing at
/// connect, or the periodic re-listing): its mounts against the protected
/// sockets, and the other ways to the host (privileged, the host's PID
/// namespace with ptrace, the engine's state mounted, block devices). One
/// verdict per container, so at most one entry per container and kind.
/// Runs on the daemon's queue.
@DaemonActor
final class HostControlWatch {
    /// The socket part of a verdict. `unresolved`: no exposure found, but a
    /// mount's host path could not be resolved (reported once as
    /// `socket-mount-unresolved`).
    enum Verdict: String, Codable { case clean, exposed, allowed, unresolved }

    /// What was decided of one container, and so reported.
    struct Judgement: Equatable {
        var socket: Verdict
        /// Host-control classes reported (as alerts or allowed notices).
        var classes: [HostControlClass]

        var reportedCount: Int { (socket == .clean ? 0 : 1) + classes.count }
    }

    private var config: DockwardConfig
    private let engineSocket: String
    private let host: HostPathInspector
    private let outlet: AlertOutlet
    private let logger: Logger
    private var judgements: [ContainerID: Judgement] = [:]
    /// The engine's data root, from `GET /info` at each connection.
    private var engineDataRoot: String?
    /// Other names of each protected socket with more than one link, by
    /// the socket's identity and link count: searched again only when the
    /// count changes (a link made or removed).
    private var hardLinkNames: [FileIdentity: (linkCount: Int, names: [String])] = [:]

    init(config: DockwardConfig, engineSocket: String, host: HostPathInspector, outlet: AlertOutlet, logger: Logger) {
        self.config = config
        self.engineSocket = engineSocket
        self.host = host
        self.outlet = outlet
        self.logger = logger
    }

    func apply(_ newConfig: DockwardConfig) { config = newConfig }

    func engineDescribed(_ info: EngineInfo) {
        if engineDataRoot != info.dataRoot, let root = info.dataRoot {
            logger.info("the engine keeps its state in \(root)")
        }
        engineDataRoot = info.dataRoot
    }

    /// The protected sockets now: the engine's, the configured ones (globs
    /// expanded), and every other name (hard link) of each. Resolved afresh
    /// for each container: an engine restart recreates its socket with a
    /// new inode, and a few stat calls are nothing beside the inspect that
    /// brought the details.
    func protectedSockets() -> [ProtectedSocket] {
        let sockets = ProtectedSocket.resolve([engineSocket] + config.hostControl.protect, on: host)
        var links: [ProtectedSocket] = []
        for socket in sockets {
            guard let identity = socket.identity else { continue }
            let count = host.linkCount(socket.resolved)
            guard count > 1 else { continue }
            if hardLinkNames[identity]?.linkCount != count {
                let names = host.otherNames(of: socket.resolved, identity: identity, wanted: count - 1)
                hardLinkNames[identity] = (count, names)
                let found = names.isEmpty ? "none found" : names.joined(separator: ", ")
                logger.notice("\(socket.path) has \(count) names (hard links): protecting its other names too: \(found)")
            }
            links += socket.hardLinks(hardLinkNames[identity]?.names ?? [])
        }
        return sockets + links
    }

    /// The other names of the engine's own socket, for the start entry.
    func engineSocketHardLinks() -> [String] {
        protectedSockets().filter { $0.hardLinkOf != nil && $0.identity == host.identity(engineSocket) }.map(\.path)
    }

    /// The engine's data root and containerd's state folders.
    private var statePaths: [String] {
        (engineDataRoot.map { [$0] } ?? []) + HostControlAnalysis.containerdState
    }

    func judge(_ details: ContainerDetails, eventTimeNano: Int64?) {
        guard judgements[details.id] == nil else { return }
        let rule = config.hostControl.allow.first { $0.matches(details.metadata) }
        var judgement = Judgement(socket: judgeSocket(details, allowedBy: rule, eventTimeNano: eventTimeNano), classes: [])
        let findings = HostControlAnalysis.findings(details, checks: config.hostControl.checks,
                                                    statePaths: statePaths, host: host)
        for finding in findings {
            judgement.classes.append(finding.hostControlClass)
            outlet.send(.hostControl(details, finding, allowedBy: rule, eventTimeNano: eventTimeNano))
        }
        judgements[details.id] = judgement
    }

    private func judgeSocket(_ details: ContainerDetails, allowedBy rule: ContainerMatcher?, eventTimeNano: Int64?) -> Verdict {
        let found = SocketExposureAnalysis.exposures(mounts: details.mounts, binds: details.binds, volumes: details.volumes,
                                                     sockets: protectedSockets(), host: host)
        if let exposure = SocketExposureFinding(details: details, exposures: found, allowedBy: rule,
                                                eventTimeNano: eventTimeNano) {
            outlet.send(.socketExposure(exposure))
            return rule == nil ? .exposed : .allowed
        }
        // Nothing found is only clean when every path could be looked at;
        // a container an allow rule matches may reach the socket anyway.
        let unresolved = rule == nil
            ? SocketExposureAnalysis.unresolved(mounts: details.mounts, binds: details.binds, volumes: details.volumes,
                                                host: host)
            : []
        guard !unresolved.isEmpty else { return .clean }
        outlet.send(.socketUnresolved(details, unresolved, eventTimeNano: eventTimeNano))
        return .unresolved
    }

    func forget(_ id: ContainerID) { judgements[id] = nil }

    /// The container is still judged with this socket verdict.
    func isReported(_ id: ContainerID, _ verdict: Verdict) -> Bool { judgements[id]?.socket == verdict }

    /// The container is still judged with this host-control class.
    func isReported(_ id: ContainerID, _ hostControlClass: HostControlClass) -> Bool {
        judgements[id]?.classes.contains(hostControlClass) ?? false
    }

    /// After a full listing: judgements of containers the engine no longer has go.
    func listingCompleted(_ present: Set<ContainerID>, reason: String) {
        for id in judgements.keys where !present.contains(id) { judgements[id] = nil }
        let exposed = judgements.values.filter { $0.socket == .exposed || !$0.classes.isEmpty }.count
        logger.info("host-control watch (\(reason)): \(present.count) containers judged, \(exposed) can control the host")
    }

    // MARK: State carried across restarts

    /// Containers with something reported.
    var reported: [ContainerID: Judgement] { judgements.filter { $0.value.reportedCount > 0 } }

    /// Takes judgements from the last run: those containers are not reported
    /// again; a listing drops the ones that are gone.
    func resume(_ saved: [ContainerID: Judgement]) {
        for (id, judgement) in saved where judgement.reportedCount > 0 { judgements[id] = judgement }
    }
}
