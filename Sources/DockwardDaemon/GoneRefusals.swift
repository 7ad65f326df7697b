import DockwardCore

/// Refusals of containers whose cgroup was already gone when the refusal
/// was looked at (they likely died of it), waiting briefly for the engine
/// to name them, so the entry says `CONTAINER_NAME=web`. Those whose name
/// does not come within the deadline go out by id alone.
struct GoneRefusals {
    struct Waiting {
        var finding: PidsFinding
        var cgroupPath: String?
        var deadline: Int64
    }

    private var waiting: [ContainerID: Waiting] = [:]

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
