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
    /// The socket part of a verdict (`socket-mount-unresolved` is reported once).
    typealias Verdict = SocketVerdict

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

    func engineDescribed(_ info: RuntimeInfo) {
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
        ProtectedSocket.protected(engineSocket: engineSocket, protect: config.hostControl.protect, host: host) {
            socket, identity, count in
            if hardLinkNames[identity]?.linkCount != count {
                let names = host.otherNames(of: socket.resolved, identity: identity, wanted: count - 1)
                hardLinkNames[identity] = (count, names)
                let found = names.isEmpty ? "none found" : names.joined(separator: ", ")
                logger.notice("\(socket.path) has \(count) names (hard links): protecting its other names too: \(found)")
            }
            return hardLinkNames[identity]?.names ?? []
        }
    }

    /// The other names of the engine's own socket, for the start entry.
    func engineSocketHardLinks() -> [String] {
        protectedSockets().filter { $0.hardLinkOf != nil && $0.identity == host.identity(engineSocket) }.map(\.path)
    }

    func judge(_ details: ContainerDetails, eventTimeNano: Int64?) {
        guard judgements[details.id] == nil else { return }
        let verdict = HostControlVerdict.judge(details, hostControl: config.hostControl, sockets: protectedSockets(),
                                               statePaths: HostControlAnalysis.statePaths(engineDataRoot: engineDataRoot),
                                               host: host, eventTimeNano: eventTimeNano)
        for finding in verdict.findings { outlet.send(finding) }
        judgements[details.id] = Judgement(socket: verdict.socket, classes: verdict.classes)
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
