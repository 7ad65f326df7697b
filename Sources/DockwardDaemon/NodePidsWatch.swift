import DockwardCore
import DockwardHost
import Logging

/// The node's pid.available (min(pid_max, threads-max) - tasks), judged
/// against kubelet's eviction threshold after each pids poll, on the
/// host sample the pids watch read. Owns the threshold (kubelet's file,
/// read at start and at each reload, or `node_pids.threshold`) and the
/// node's detector. With no threshold known a poll does nothing here:
/// no trend is kept and no pod is counted.
@DaemonActor
final class NodePidsWatch {
    private(set) var threshold: NodePidsThreshold?
    private(set) var detector: NodePidsDetector
    private var settings: NodePidsConfig
    private let outlet: AlertOutlet
    private let logger: Logger

    init(config: DockwardConfig, outlet: AlertOutlet, logger: Logger) {
        settings = config.nodePids
        detector = NodePidsDetector(window: config.pids.forecastWindow)
        self.outlet = outlet
        self.logger = logger
        threshold = Self.resolve(config.nodePids, logger: logger)
    }

    /// A reload: kubelet's file is read again; the trend and an open episode stay.
    func apply(_ config: DockwardConfig) {
        settings = config.nodePids
        detector.adopt(window: config.pids.forecastWindow)
        threshold = Self.resolve(config.nodePids, logger: logger)
        if threshold == nil { detector.forget() }
    }

    /// The node's open node-pids-pressure episode.
    var episodeIsOpen: Bool { detector.openPriority != nil }

    /// After the pids watch's poll. `pods` is asked only when a finding is said.
    func poll(host: HostPidsSample?, at now: Int64, timing: AlertTiming, pods: () -> [PodTasks]) {
        guard let threshold, let host else { return }
        let findings = detector.observe(host, at: now, threshold: threshold, horizon: settings.forecastHorizon,
                                        timing: timing)
        guard !findings.isEmpty else { return }
        let top = pods()
        for var f in findings {
            if f.kind == .nodePidsPressure { f.topPods = top }
            outlet.send(.nodePids(f))
        }
    }

    /// kubelet's thresholds when its file has one; a broken file is a
    /// warning and the configured threshold applies.
    static func resolve(_ settings: NodePidsConfig, logger: Logger) -> NodePidsThreshold? {
        var kubelet: KubeletPidsSettings?
        switch KubeletConfigFile.read(path: settings.kubeletConfig) {
        case .missing: break
        case .loaded(let read): kubelet = read
        case .broken(let reason):
            logger.warning("kubelet config \(settings.kubeletConfig): \(reason); node_pids.threshold (\(settings.threshold)) applies")
        }
        let resolved = NodePidsThreshold.resolve(kubelet: kubelet, kubeletPath: settings.kubeletConfig,
                                                 configured: settings.threshold)
        if let resolved {
            logger.info("node pids: pid.available forecast against \(resolved.thresholds.map(\.description).joined(separator: ", ")) (\(resolved.source.text))")
        }
        return resolved
    }
}

extension PidsWatch {
    /// Each watched container's last count, by pod, for `NODE_TOP_PODS`.
    func topPods() -> [PodTasks] {
        PodTasks.top(cgroups.pollOrder.compactMap { w in
            w.lastSample.map { (metadata: w.metadata, displayName: w.ref.displayName, tasks: $0.current) }
        })
    }
}
