import DockwardCore
import DockwardSystem
import Logging

/// The host-control watch: judges each container once, as the engine link
/// delivers its inspect data (from a `create`/`start` event, a listing at
/// connect, or the periodic re-listing): its mounts against the protected
/// sockets, and the other ways to the host (privileged, the host's PID
/// namespace with ptrace, the engine's state mounted, block devices). One
/// verdict per container, so at most one entry per container and kind.
/// Its state lives on the daemon's queue; the verdict itself, which
/// resolves host paths (realpath, stat, a hard-link walk on a mount that
/// may hang), is made in a task off the queue from a snapshot of what it
/// rests on, and comes back to the queue to be said: a stuck mount source
/// delays that container's verdict, never a poll or the watchdog.
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
    /// dockward's own container, when it runs in one: its socket findings
    /// become one `self-exempt` entry.
    private let own: OwnContainer?
    private var judgements: [ContainerID: Judgement] = [:]
    /// The engine's data root, from `GET /info` at each connection.
    private var engineDataRoot: String?
    /// Other names of each protected socket with more than one link, by
    /// the socket's identity and link count: searched again only when the
    /// count changes (a link made or removed).
    private var hardLinkNames: [FileIdentity: HardLinks] = [:]
    /// Containers whose verdict is being made off the queue, by the
    /// request's number: a container forgotten meanwhile gets none.
    private var judging: [ContainerID: Int] = [:]
    private var nextJudgement = 0
    /// Verdicts being made now (a test waits for none before it asserts).
    var verdictsUnderWay: Int { judging.count }

    struct HardLinks: Sendable {
        var linkCount: Int
        var names: [String]
    }

    init(config: DockwardConfig, engineSocket: String, host: HostPathInspector, outlet: AlertOutlet, logger: Logger,
         own: OwnContainer? = nil) {
        self.own = own
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
    nonisolated static func protectedSockets(engineSocket: String, protect: [String], host: HostPathInspector,
                                             known: inout [FileIdentity: HardLinks], logger: Logger) -> [ProtectedSocket] {
        ProtectedSocket.protected(engineSocket: engineSocket, protect: protect, host: host) { socket, identity, count in
            if known[identity]?.linkCount != count {
                let names = host.otherNames(of: socket.resolved, identity: identity, wanted: count - 1)
                known[identity] = HardLinks(linkCount: count, names: names)
                let found = names.isEmpty ? "none found" : names.joined(separator: ", ")
                logger.notice("\(socket.path) has \(count) names (hard links): protecting its other names too: \(found)")
            }
            return known[identity]?.names ?? []
        }
    }

    /// The other names of the engine's own socket, for the start entry
    /// (read once, at start, before anything is polled).
    func engineSocketHardLinks() -> [String] {
        let sockets = Self.protectedSockets(engineSocket: engineSocket, protect: config.hostControl.protect, host: host,
                                            known: &hardLinkNames, logger: logger)
        return sockets.filter { $0.hardLinkOf != nil && $0.identity == host.identity(engineSocket) }.map(\.path)
    }

    /// Judges the container off the queue (it resolves host paths), then
    /// says the verdict on the queue, once.
    func judge(_ details: ContainerDetails, eventTimeNano: Int64?) {
        guard judgements[details.id] == nil, judging[details.id] == nil else { return }
        nextJudgement += 1
        let number = nextJudgement
        judging[details.id] = number
        let hostControl = config.hostControl, engineSocket = self.engineSocket, host = self.host, logger = self.logger
        let statePaths = HostControlAnalysis.statePaths(engineDataRoot: engineDataRoot)
        var known = hardLinkNames
        Task.detached(priority: WorkPriority.tasks) { [weak self] in
            let sockets = Self.protectedSockets(engineSocket: engineSocket, protect: hostControl.protect, host: host,
                                                known: &known, logger: logger)
            let verdict = HostControlVerdict.judge(details, hostControl: hostControl, sockets: sockets,
                                                   statePaths: statePaths, host: host, eventTimeNano: eventTimeNano)
            await self?.judged(details, number, verdict, hardLinks: known)
        }
    }

    private func judged(_ details: ContainerDetails, _ number: Int, _ verdict: HostControlVerdict,
                        hardLinks: [FileIdentity: HardLinks]) {
        let id = details.id
        hardLinkNames.merge(hardLinks) { _, found in found }
        guard judging[id] == number else { return }  // forgotten (removed) meanwhile
        judging[id] = nil
        let (findings, socket) = Self.exemptingOwn(verdict, details: details, own: own)
        for finding in findings { outlet.send(finding) }
        judgements[id] = Judgement(socket: socket, classes: verdict.classes)
    }

    /// The socket kinds dockward's own container is exempted from.
    nonisolated static let exemptKinds: Set<EntryKind> = [.socketMount, .socketMountUnresolved]

    /// For dockward's own container (by the kernel's word, `OwnContainer`),
    /// its socket findings become one `self-exempt` entry and its socket
    /// verdict clean; for every other container, the verdict as it is.
    nonisolated static func exemptingOwn(_ verdict: HostControlVerdict, details: ContainerDetails,
                                         own: OwnContainer?) -> (findings: [Finding], socket: Verdict) {
        guard let own, own.id == details.id else { return (verdict.findings, verdict.socket) }
        let exempted = verdict.findings.filter { exemptKinds.contains($0.kind) }
        guard !exempted.isEmpty else { return (verdict.findings, verdict.socket) }
        var socketPath: String?
        for case .socketExposure(let s) in exempted { socketPath = socketPath ?? s.exposures.first?.socket }
        let exemption = SelfExemption(details: details, own: own, exempted: exempted.map(\.kind), socket: socketPath)
        return ([.selfExempt(exemption)] + verdict.findings.filter { !exemptKinds.contains($0.kind) }, .clean)
    }

    func forget(_ id: ContainerID) {
        judgements[id] = nil
        judging[id] = nil
    }

    /// A stop: verdicts still being made are not said (the next start
    /// judges those containers again).
    func shutdown() { judging.removeAll() }

    /// The container is still judged with this socket verdict.
    func isReported(_ id: ContainerID, _ verdict: Verdict) -> Bool { judgements[id]?.socket == verdict }

    /// The container is still judged with this host-control class.
    func isReported(_ id: ContainerID, _ hostControlClass: HostControlClass) -> Bool {
        judgements[id]?.classes.contains(hostControlClass) ?? false
    }

    /// After a full listing: judgements of containers the engine no longer has go.
    func listingCompleted(_ present: Set<ContainerID>, reason: String) {
        for id in judgements.keys where !present.contains(id) { judgements[id] = nil }
        for id in judging.keys where !present.contains(id) { judging[id] = nil }
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
