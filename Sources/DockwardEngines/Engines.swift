import DockwardCore
import DockwardDocker

/// The engines dockward knows, one line each: an engine is its module
/// (its runtime and its cgroup names) and its line here.
public enum Engines {
    public static let registered: [any EngineModule] = [
        DockerEngineModule(),
        PodmanEngineModule(),
    ]

    /// Every registered engine's cgroup names, as the cgroup reader takes them.
    public static func cgroupNames(_ engines: [any EngineModule] = registered) -> CgroupNames {
        CgroupNames(engines.map(\.cgroupNaming))
    }
}
