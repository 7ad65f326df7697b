import DockwardCore
import Logging

/// The socket-exposure watch: judges each container's mounts once, as the
/// engine link delivers its inspect data (from a `create`/`start` event, a
/// listing at connect, or the periodic re-listing). One verdict per
/// container, so one entry per container. Runs on the daemon's queue.
final class SocketWatch {
    /// `unresolved`: no exposure found, but a mount's host path could not be
    /// resolved (reported once as `socket-mount-unresolved`).
    enum Verdict: String, Codable { case clean, exposed, allowed, unresolved }

    private var config: DockwardConfig
    private let engineSocket: String
    private let host: HostPathInspector
    private let outlet: AlertOutlet
    private let logger: Logger
    private var verdicts: [ContainerID: Verdict] = [:]

    init(config: DockwardConfig, engineSocket: String, host: HostPathInspector, outlet: AlertOutlet, logger: Logger) {
        self.config = config
        self.engineSocket = engineSocket
        self.host = host
        self.outlet = outlet
        self.logger = logger
    }

    func apply(_ newConfig: DockwardConfig) { config = newConfig }

    func judge(_ details: ContainerDetails, eventTimeNano: Int64?) {
        guard verdicts[details.id] == nil else { return }
        // Resolved afresh for each container: an engine restart recreates its
        // socket with a new inode, and a few stat calls are nothing beside
        // the inspect that brought the details.
        let sockets = ProtectedSocket.resolve([engineSocket] + config.hostControl.protect, on: host)
        let found = SocketExposureAnalysis.exposures(mounts: details.mounts, binds: details.binds,
                                                     sockets: sockets, host: host)
        let rule = config.hostControl.allow.first { $0.matches(details.metadata) }
        guard let entry = AlertText.socketExposure(details: details, exposures: found, allowedBy: rule,
                                                   eventTimeNano: eventTimeNano) else {
            // Nothing found is only clean when every path could be looked at;
            // a container an allow rule matches may reach the socket anyway.
            let unresolved = rule == nil
                ? SocketExposureAnalysis.unresolved(mounts: details.mounts, binds: details.binds, host: host) : []
            if let entry = AlertText.socketUnresolved(details: details, unresolved: unresolved,
                                                      eventTimeNano: eventTimeNano) {
                verdicts[details.id] = .unresolved
                outlet.send(entry)
            } else {
                verdicts[details.id] = .clean
            }
            return
        }
        verdicts[details.id] = rule == nil ? .exposed : .allowed
        outlet.send(entry)
    }

    func forget(_ id: ContainerID) { verdicts[id] = nil }

    /// After a full listing: verdicts of containers the engine no longer has go.
    func listingCompleted(_ present: Set<ContainerID>, reason: String) {
        for id in verdicts.keys where !present.contains(id) { verdicts[id] = nil }
        let exposed = verdicts.values.filter { $0 == .exposed }.count
        logger.info("socket watch (\(reason)): \(present.count) containers judged, \(exposed) exposed")
    }

    // MARK: State carried across restarts

    /// Containers already reported (exposed or allowed).
    var reported: [ContainerID: Verdict] { verdicts.filter { $0.value != .clean } }

    /// Takes verdicts from the last run: those containers are not reported
    /// again; a listing drops the ones that are gone.
    func resume(_ saved: [ContainerID: Verdict]) {
        for (id, verdict) in saved where verdict != .clean { verdicts[id] = verdict }
    }
}
