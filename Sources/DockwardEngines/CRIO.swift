import DockwardCore

/// CRI-O's containers' cgroups: `crio-<id>.scope` in its pod's slice with
/// the systemd manager, `crio-<id>` in its pod's folder with cgroupfs.
/// `crio-conmon-<id>` beside each holds CRI-O's monitor, not the container.
public struct CRIOCgroupNaming: KubeletTreeNaming {
    public init() {}

    public func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID? {
        name.containerID(between: "crio-", and: ".scope") ?? name.containerID(between: "crio-", and: "")
    }
}

/// CRI-O: its cgroup names are known (a node's containers are found and
/// watched, their refusals attributed), its API is not followed yet, so
/// names and pod identity come only from a containerd or Docker engine.
public struct CRIOEngineModule: EngineModule {
    public init() {}
    public var name: String { "cri-o" }
    public var cgroupNaming: any CgroupNaming { CRIOCgroupNaming() }
    public func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime {
        throw EngineNotFollowed(engine: name)
    }
}

/// An engine whose cgroups dockward knows but whose API it does not follow.
public struct EngineNotFollowed: Error, CustomStringConvertible {
    public let engine: String
    public init(engine: String) { self.engine = engine }
    public var description: String {
        "dockward knows \(engine)'s cgroups but does not follow its API yet: choose engine.kind docker, podman or containerd"
    }
}
