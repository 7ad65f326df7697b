/// The limit that refused a container's forks when it is not the
/// container's own: a slice or parent cgroup above it whose `pids.max` was
/// reached (a `--cgroup-parent` slice's `TasksMax`, a daemon-wide
/// `cgroup-parent`, the user manager's `TasksMax` of rootless Docker), or a
/// sub-cgroup below it with a limit of its own.
public struct RefusingLimit: Equatable, Sendable {
    public enum Place: String, Sendable {
        /// A cgroup above the container's.
        case parent
        /// A cgroup inside the container's (systemd or an engine inside it).
        case subgroup
    }

    /// The cgroup whose limit was hit, relative to the hierarchy root as the
    /// kernel prints it (`/acme.slice`).
    public var cgroup: String
    public var limit: Int64
    public var place: Place

    public init(cgroup: String, limit: Int64, place: Place) {
        self.cgroup = cgroup
        self.limit = limit
        self.place = place
    }
}

/// One cgroup on the path from the cgroup that forked up to the hierarchy
/// root, as read from its files.
public struct CgroupLimitReading: Equatable, Sendable {
    /// Relative to the hierarchy root (`/acme.slice`).
    public var cgroup: String
    /// `pids.max`, or nil for "max".
    public var limit: Int64?
    public var current: Int64
    /// The `max` count of `pids.events.local` (Linux 6.11+ on cgroup v2:
    /// refusals this cgroup's own limit caused), nil where the file is missing.
    public var localRefusals: Int64?

    public init(cgroup: String, limit: Int64?, current: Int64, localRefusals: Int64? = nil) {
        self.cgroup = cgroup
        self.limit = limit
        self.current = current
        self.localRefusals = localRefusals
    }

    /// At its limit, or one below it (a refused fork's task is already
    /// gone when the files are read; a bomb holds the count there).
    var isAtLimit: Bool { limit.map { current >= $0 - 1 } ?? false }
}

public enum RefusingLimitFinder {
    /// Which limit refused a fork in the container's subtree. `chain` runs
    /// from the cgroup that forked (the container's own, or one below it)
    /// up to the hierarchy root's child, and holds the container's own
    /// cgroup at `containerIndex`. Nil when the container's own limit is the
    /// one (or nothing can be told): the entry then speaks of its own limit.
    ///
    /// The lowest cgroup at its limit is the one: the kernel charges a fork
    /// from the cgroup that forked upwards and stops at the first limit it
    /// would exceed. Where the kernel keeps `pids.events.local` (6.11+ on
    /// v2), a cgroup at its limit whose own limit has refused forks comes
    /// first, and with none at its limit any more (the burst is over) the
    /// lowest whose own limit has refused.
    public static func find(chain: [CgroupLimitReading], containerIndex: Int) -> RefusingLimit? {
        guard chain.indices.contains(containerIndex) else { return nil }
        let refusedHere = { (r: CgroupLimitReading) in (r.localRefusals ?? 0) > 0 && r.limit != nil }
        let hit = chain.firstIndex { $0.isAtLimit && refusedHere($0) }
            ?? chain.firstIndex { $0.isAtLimit && $0.localRefusals == nil }
            ?? chain.firstIndex(where: refusedHere)
        guard let index = hit, index != containerIndex, let limit = chain[index].limit else { return nil }
        return RefusingLimit(cgroup: chain[index].cgroup, limit: limit,
                             place: index > containerIndex ? .parent : .subgroup)
    }
}
