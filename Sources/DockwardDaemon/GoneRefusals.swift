import DockwardCore

/// The one bookkeeping of containers that refused forks and are gone (most
/// died of it): refusals found with the cgroup already gone, waiting
/// briefly for the engine to name them (so the entry says
/// `CONTAINER_NAME=web`; those whose name does not come within the deadline
/// go out by id alone); and containers whose refusal was said and that are
/// gone (they went while their exhausted episode was open, or their refusal
/// was first found with the cgroup gone), remembered for a while, since
/// another word of that refusal can reach dockward after the cgroup went
/// (the kernel's line through the journal, seconds late; a line for another
/// cgroup of the container) and is then said already.
struct GoneRefusals {
    /// How long a container reported exhausted is remembered once gone.
    static let reportedMemory = Interval.minutes(5)

    struct Waiting {
        var finding: PidsFinding
        var cgroupPath: String?
        var deadline: Int64
    }

    private var waiting: [ContainerID: Waiting] = [:]
    /// When each went (or was found gone), its refusal said.
    private var reportedAndGone: [ContainerID: Int64] = [:]

    /// `id`'s refusal is said and its cgroup is gone at `now`.
    mutating func reportedAndGone(_ id: ContainerID, at now: Int64) { reportedAndGone[id] = now }

    /// Whether `id`'s refusal was said already (and it is gone).
    func wasReported(_ id: ContainerID) -> Bool { reportedAndGone[id] != nil }

    /// Forgets those gone longer than `reportedMemory` before `now`.
    mutating func forgetOldReports(at now: Int64) {
        guard !reportedAndGone.isEmpty else { return }
        let oldest = now - Self.reportedMemory.nanoseconds
        reportedAndGone = reportedAndGone.filter { $0.value > oldest }
    }

    mutating func hold(_ id: ContainerID, _ refusal: Waiting) { waiting[id] = refusal }

    /// The one waiting for this container's name, if any.
    mutating func take(_ id: ContainerID) -> Waiting? { waiting.removeValue(forKey: id) }

    /// Those past their deadline at `now`.
    mutating func takeExpired(at now: Int64) -> [(ContainerID, Waiting)] {
        guard !waiting.isEmpty else { return [] }
        let expired = waiting.filter { now >= $0.value.deadline }.sorted { $0.key < $1.key }
        for (id, _) in expired { waiting[id] = nil }
        return expired.map { ($0.key, $0.value) }
    }
}
