import DockwardCore

/// Docker's engine: its cgroup names, and its runtime over its API socket.
public struct DockerEngineModule: EngineModule {
    public init() {}
    public var name: String { "docker" }
    public var cgroupNaming: any CgroupNaming { DockerCgroupNaming() }
    public func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime {
        DockerRuntime(DockerEngineClient(endpoint: try DockerEndpoint(socketPath: endpoint.socketPath), logger: .init(label: "dockward.engine")))
    }
}

/// Podman: its own cgroup names; its Docker-compatible API is spoken by
/// the same runtime as Docker's.
public struct PodmanEngineModule: EngineModule {
    public init() {}
    public var name: String { "podman" }
    public var cgroupNaming: any CgroupNaming { PodmanCgroupNaming() }
    public func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime {
        try DockerEngineModule().runtime(endpoint)
    }
}
