import DockwardCore

/// containerd's containers' cgroups on a Kubernetes node (the CRI plugin):
/// `cri-containerd-<id>.scope` in its pod's slice with the systemd driver,
/// the bare id in its pod's folder with cgroupfs (`KubernetesCgroups` has
/// the tree above them). Containers run by other clients of containerd
/// (nerdctl, Docker's own `moby` namespace) are found where their clients
/// put them, and where the kernel says their main process is.
public struct ContainerdCgroupNaming: KubeletTreeNaming {
    public init() {}

    public func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID? {
        if let id = name.containerID(between: "cri-containerd-", and: ".scope") { return id }
        // A bare id: the cgroupfs driver's, inside kubelet's tree only.
        guard let parent, KubernetesCgroups.nodeFolders.contains(parent) else { return nil }
        return ContainerID(utf8: name)
    }
}
