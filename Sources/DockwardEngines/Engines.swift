import DockwardContainerd
import DockwardCore
import DockwardDocker
import Logging

/// The engines dockward knows, one line each: an engine is its module
/// (its runtime and its cgroup names) and its line here.
public enum Engines {
    public static let registered: [any EngineModule] = [
        DockerEngineModule(),
        PodmanEngineModule(),
        ContainerdEngineModule(),
        CRIOEngineModule(),
    ]

    /// Every registered engine's cgroup names, as the cgroup reader takes them.
    public static func cgroupNames(_ engines: [any EngineModule] = registered) -> CgroupNames {
        CgroupNames(engines.map(\.cgroupNaming))
    }
}

/// The engine `engine.kind` names, as the daemon and `audit` follow it:
/// its runtime, and for Docker's API (Podman's compat API too) the client
/// the daemon's actions go through; containerd's containers are contained
/// through `pids.max` alone.
public struct FollowedEngine {
    public let runtime: ContainerRuntime
    public let dockerAPI: DockerEngineClient?

    public static func make(_ config: DockwardConfig, environment: [String: String], logger: Logger) throws -> FollowedEngine {
        switch config.engineKind {
        case .docker, .podman:
            // DOCKER_HOST applies to Docker's socket only, when engine.socket names none.
            let endpoint = config.engineSocket != nil || config.engineKind == .podman
                ? try DockerEndpoint(socketPath: config.engineSocketPath)
                : try DockerEndpoint.resolve(configuredSocket: config.dockerSocket, environment: environment)
            let engine = DockerEngineClient(endpoint: endpoint, logger: logger)
            return FollowedEngine(runtime: DockerRuntime(engine, logger: logger), dockerAPI: engine)
        case .containerd:
            let module = ContainerdEngineModule()
            let endpoint = EngineEndpoint(socketPath: config.engineSocketPath, namespaces: config.engineNamespaces)
            return FollowedEngine(runtime: try module.runtime(endpoint), dockerAPI: nil)
        }
    }
}
