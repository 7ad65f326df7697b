import DockwardContainerd
import DockwardCore
import DockwardDocker

/// The engines dockward knows, one line each: an engine is its module
/// (its runtime and its cgroup names) and its line here.
public enum Engines {
    public static let registered: [any EngineModule] = [
        DockerEngineModule(),
        PodmanEngineModule(),
        ContainerdEngineModule(),
        CRIOEngineModule(),
    ]

    /// The registered engine of that name (`engine.kind`), or nil.
    public static func named(_ name: String) -> (any EngineModule)? {
        registered.first { $0.name == name }
    }

    /// Every registered engine's cgroup names, as the cgroup reader takes them.
    public static func cgroupNames(_ engines: [any EngineModule] = registered) -> CgroupNames {
        CgroupNames(engines.map(\.cgroupNaming))
    }
}
