import DockwardCore
import DockwardHost

/// What a restart must not repeat: the alert episodes still open, per
/// container, and the host's. Kept small (only open episodes) and tied to
/// the boot: after a reboot every container's counters start afresh, so a
/// state from another boot is ignored.
struct SavedState: Codable, Equatable {
    static let currentFormat = 1

    struct ContainerState: Codable, Equatable {
        var pids: PidsEpisodes?
        var exposure: HostControlWatch.Verdict?
        /// Host-control classes reported besides the socket.
        var hostControl: [HostControlClass]?
        /// The containment action settled this episode (its name).
        var action: String?
        /// A pids limit set in `pids.max` the engine has not been told yet.
        var pendingPidsLimit: Int64?
    }

    /// An Alertmanager alert open at the save, as it was sent.
    struct OpenAlert: Codable, Equatable {
        /// `AlertEpisodeKey.text`.
        var key: String
        var labels: [String: String]
        var annotations: [String: String]
        /// Unix nanoseconds.
        var startsAt: Int64
    }

    var format = SavedState.currentFormat
    var bootID: String
    /// Keyed by the full 64-hex container id.
    var containers: [String: ContainerState] = [:]
    var hostPids: Priority?
    /// Absent in files written before the Alertmanager push.
    var alertmanager: [OpenAlert]?
    /// Cgroup folders where containers were found by asking the kernel (a
    /// `--cgroup-parent`): listed by the first scan after a restart, before
    /// the engine answers.
    var cgroupParents: [String]?

    /// Alerts that a restart would otherwise repeat.
    var openCount: Int {
        containers.values.reduce(hostPids == nil ? 0 : 1) { total, c in
            total + (c.pids?.openCount ?? 0) + (c.exposure.map { $0 == .clean ? 0 : 1 } ?? 0) + (c.hostControl?.count ?? 0)
        }
    }
}

/// The mapping between the state file and the parts whose state it keeps.
extension SavedState {
    /// What a save gathers: the pids watch's open episodes, the host-control
    /// watch's verdicts and containment's settled episodes and owed updates.
    init(bootID: String, pidsEpisodes: [ContainerID: PidsEpisodes], hostPids: Priority?,
         judgements: [ContainerID: HostControlWatch.Judgement],
         actions: [ContainerID: (settled: String?, pendingLimit: Int64?)]) {
        self.init(bootID: bootID)
        self.hostPids = hostPids
        for (id, episodes) in pidsEpisodes { containers[id.full, default: .init()].pids = episodes }
        for (id, judgement) in judgements {
            containers[id.full, default: .init()].exposure = judgement.socket
            if !judgement.classes.isEmpty { containers[id.full, default: .init()].hostControl = judgement.classes }
        }
        for (id, saved) in actions {
            containers[id.full, default: .init()].action = saved.settled
            containers[id.full, default: .init()].pendingPidsLimit = saved.pendingLimit
        }
    }

    private func byContainer<T>(_ value: (ContainerState) -> T?) -> [ContainerID: T] {
        var out: [ContainerID: T] = [:]
        for (key, saved) in containers {
            guard let id = ContainerID(key), let v = value(saved) else { continue }
            out[id] = v
        }
        return out
    }

    var pidsEpisodes: [ContainerID: PidsEpisodes] { byContainer(\.pids) }

    var judgements: [ContainerID: HostControlWatch.Judgement] {
        byContainer { saved in
            guard saved.exposure != nil || saved.hostControl != nil else { return nil }
            return HostControlWatch.Judgement(socket: saved.exposure ?? .clean, classes: saved.hostControl ?? [])
        }
    }

    var settledActions: [ContainerID: String] { byContainer(\.action) }

    var pendingPidsLimits: [ContainerID: Int64] { byContainer(\.pendingPidsLimit) }
}

extension StateFile {
    /// The state saved during this boot, in this format; anything else is
    /// ignored with its reason (alerts are then repeated, never lost).
    func load(bootID: String) -> StateFile.LoadResult<SavedState> {
        switch load(SavedState.self) {
        case .loaded(let state) where state.format != SavedState.currentFormat:
            return .ignored("format \(state.format), expected \(SavedState.currentFormat)")
        case .loaded(let state) where state.bootID != bootID:
            return .ignored("written during another boot")
        case let other:
            return other
        }
    }
}
