import DockwardCore

/// Docker's cgroups: `docker/<id>` (the cgroupfs driver) and
/// `system.slice/docker-<id>.scope` (the systemd driver; rootless Docker's
/// scopes under `user.slice` have the same name).
public struct DockerCgroupNaming: CgroupNaming {
    public init() {}

    public var containerParents: [String] { ["docker", "system.slice"] }
    public var nestingParents: [String] { [] }

    public func holdsContainers(_ folderName: String) -> Bool { false }

    public func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID? {
        switch parent {
        case "docker": ContainerID(utf8: name)
        case "system.slice": name.containerID(between: "docker-", and: ".scope")
        default: ContainerID(utf8: name) ?? name.containerID(between: "docker-", and: ".scope")
        }
    }

    public func limitSubfolder(ofContainerFolderNamed name: String) -> String? { nil }
}

/// Podman's cgroups: `libpod_parent/libpod-<id>` (the cgroupfs manager),
/// `machine.slice/libpod-<id>.scope` (systemd's), a pod's containers one
/// level down in `machine.slice/machine-libpod_pod_<pod>.slice`, rootless
/// ones under `user.slice`. `libpod-conmon-<id>.scope` holds Podman's
/// monitor, not the container. Under systemd, crun puts the container's
/// processes and its limit in a `container` cgroup inside its scope (the
/// scope keeps systemd's DefaultTasksMax).
public struct PodmanCgroupNaming: CgroupNaming {
    public init() {}

    public var containerParents: [String] { ["libpod_parent", "machine.slice"] }
    public var nestingParents: [String] { ["machine.slice"] }

    public func holdsContainers(_ folderName: String) -> Bool {
        folderName.hasPrefix("machine-libpod_pod_") && folderName.hasSuffix(".slice")
    }

    public func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID? {
        // In its own parents, or anywhere a path was learned; never in Docker's.
        if let parent, !containerParents.contains(parent) { return nil }
        return name.containerID(between: "libpod-", and: ".scope") ?? name.containerID(between: "libpod-", and: "")
    }

    public func limitSubfolder(ofContainerFolderNamed name: String) -> String? {
        name.hasPrefix("libpod-") && name.hasSuffix(".scope") ? "container" : nil
    }
}
