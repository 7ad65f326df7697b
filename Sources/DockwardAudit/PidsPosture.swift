import DockwardCore

/// A container's pids posture as one look at its cgroup shows it: its
/// limit and where it comes from, what it runs now, the kernel's peak, and
/// a limit to set.
public struct PidsPosture: Equatable, Sendable {
    /// Whose limit `pids.max` holds.
    public enum Source: String, Sendable {
        /// The container asked for it (`--pids-limit`, `pids_limit`).
        case own
        /// A number it did not ask for: a ceiling set around it
        /// (systemd's `DefaultTasksMax` on its scope, a parent cgroup).
        case inherited
        /// `max`: only the host's process table stops it.
        case none
    }

    public var container: ContainerRef
    public var state: String
    /// nil when the container has no cgroup now (not running).
    public var reading: Reading?

    public struct Reading: Equatable, Sendable {
        /// nil: `max`.
        public var limit: Int64?
        public var source: Source
        public var current: Int64
        /// `pids.peak`, where the kernel keeps one.
        public var peak: Int64?
        public var refusedForks: Int64
        public var suggestedLimit: Int64
    }

    public init(container: ContainerRef, state: String, reading: Reading?) {
        self.container = container
        self.state = state
        self.reading = reading
    }

    /// Headroom of the suggestion: twice what the container needed at most
    /// (its peak, or its count now where the kernel keeps no peak), at
    /// least `minimumHeadroom` above it, rounded up to a multiple of
    /// `granularity`. Never below what it runs now: a limit under the
    /// current count refuses its next fork at once.
    public static let minimumHeadroom: Int64 = 64
    public static let granularity: Int64 = 64
    public static let suggestionRule = "twice the peak (or the count now where the kernel keeps no peak), "
        + "at least \(minimumHeadroom) above it, rounded up to a multiple of \(granularity)"

    public static func suggestedLimit(current: Int64, peak: Int64?) -> Int64 {
        let need = max(current, peak ?? current, 1)
        let wanted = need + max(need, minimumHeadroom)
        return (wanted + granularity - 1) / granularity * granularity
    }

    /// The posture of a sample, by the daemon's own rule for "no limit of
    /// its own" (`ContainerPidsDetector.unlimitedFinding`).
    public static func reading(_ sample: PidsSample, hasOwnLimit: Bool) -> Reading {
        let unlimited = ContainerPidsDetector.unlimitedFinding(sample, hasOwnLimit: hasOwnLimit, host: nil, ceilingOrigin: nil)
        let source: Source = unlimited == nil ? .own : (unlimited!.limitIsInherited ? .inherited : .none)
        return Reading(limit: sample.isUnlimited ? nil : sample.limit, source: source, current: sample.current,
                       peak: sample.peak, refusedForks: sample.refusedForks,
                       suggestedLimit: suggestedLimit(current: sample.current, peak: sample.peak))
    }

    /// The posture as journal-style fields, for `--json`.
    public var fields: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [("DOCKWARD_POSTURE", "pids"),
                                                    ("CONTAINER_ID", container.id.short),
                                                    ("CONTAINER_ID_FULL", container.id.full)]
        if let m = container.metadata {
            out.append(("CONTAINER_NAME", m.name))
            out.append(("IMAGE_NAME", m.image))
            if let service = m.labels[HostAudit.serviceLabel] { out.append(("COMPOSE_SERVICE", service)) }
        }
        if let p = container.cgroupPath { out.append(("CGROUP_PATH", p)) }
        out.append(("CONTAINER_STATE", state))
        guard let r = reading else { return out }
        out.append(("PIDS_CURRENT", String(r.current)))
        out.append(("PIDS_MAX", r.limit.map(String.init) ?? "max"))
        out.append(("PIDS_MAX_SOURCE", r.source.rawValue))
        if let peak = r.peak { out.append(("PIDS_PEAK", String(peak))) }
        out.append(("PIDS_REJECTED", String(r.refusedForks)))
        out.append(("PIDS_SUGGESTED_LIMIT", String(r.suggestedLimit)))
        return out
    }
}
