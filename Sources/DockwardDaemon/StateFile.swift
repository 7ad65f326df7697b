import DockwardCore
import DockwardSystem
import Foundation
import Glibc

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

/// The state file in the service's state directory (`StateDirectory=dockward`,
/// so `$STATE_DIRECTORY`). Written atomically (a temporary file, fsync,
/// rename); a missing, truncated or garbled file is reported and ignored:
/// alerts are then repeated, never lost.
struct StateFile {
    static let fileName = "state.json"
    /// Far above any real state (a few hundred bytes per alerting container).
    static let maxBytes = 16 << 20

    let path: String

    init(directory: String) {
        path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
    }

    enum LoadResult: Equatable {
        case none
        case loaded(SavedState)
        /// Unusable; the reason is for the log.
        case ignored(String)
    }

    func load(bootID: String) -> LoadResult {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return errno == ENOENT ? .none : .ignored("cannot open: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: Self.maxBytes + 1) ?? Data() } catch {
            return .ignored("cannot read: \(error.localizedDescription)")
        }
        guard data.count <= Self.maxBytes else { return .ignored("larger than \(Self.maxBytes) bytes") }
        let state: SavedState
        do { state = try JSONDecoder().decode(SavedState.self, from: data) } catch {
            return .ignored("not a dockward state file (\(Self.describe(error)))")
        }
        guard state.format == SavedState.currentFormat else { return .ignored("format \(state.format), expected \(SavedState.currentFormat)") }
        guard state.bootID == bootID else { return .ignored("written during another boot") }
        return .loaded(state)
    }

    func save(_ state: SavedState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(state)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var ok = FileDescriptorWriter.writeAll(fd, [UInt8](data))
        // The rename must not land before the data: fsync first, or a crash
        // could leave an empty file under the real name.
        ok = ok && fsync(fd) == 0
        let savedErrno = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let code = ok ? errno : savedErrno
            unlink(temporary)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
    }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`), or "" when unreadable.
    static func currentBootID(procRoot: String = "/proc") -> String {
        let text = (try? String(contentsOfFile: procRoot + "/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
