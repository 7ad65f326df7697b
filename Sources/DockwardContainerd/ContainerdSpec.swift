import DockwardCore
import FoundationEssentials

/// A containerd container as dockward's engine-neutral details: its record
/// (labels, image) and its OCI runtime spec (the JSON containerd keeps,
/// written by the CRI plugin for kubelet, or by Docker's and nerdctl's
/// clients). The spec is what the runtime was told to do, so it is what
/// the container can reach: bind sources as the runtime mounts them (the
/// CRI plugin has already resolved a `hostPath`'s symlinks), capabilities,
/// namespaces, devices, the pids limit and the cgroup.
public enum ContainerdSpec {
    /// The CRI plugin's mark on the containers it makes: `sandbox` for a
    /// pod's pause container, `container` for a workload.
    public static let criKindLabel = "io.cri-containerd.kind"
    /// nerdctl's name for a container it ran.
    public static let nerdctlNameLabel = "nerdctl/name"

    /// The capabilities a container gets by default (containerd's and
    /// Docker's defaults, the same 14): any other one in its bounding set
    /// was added.
    static let defaultCapabilities: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    // The spec's wire shape: only what dockward reads, all optional.
    struct Wire: Decodable {
        struct Mount: Decodable {
            var destination: String?
            var type: String?
            var source: String?
            var options: [String]?
        }
        struct Process: Decodable {
            struct Capabilities: Decodable { var bounding: [String]? }
            var capabilities: Capabilities?
        }
        var annotations: [String: String]?
        struct Linux: Decodable {
            struct Namespace: Decodable {
                var type: String?
                var path: String?
            }
            struct Device: Decodable { var path: String? }
            struct Resources: Decodable {
                struct Pids: Decodable { var limit: Int64? }
                var pids: Pids?
            }
            var namespaces: [Namespace]?
            var devices: [Device]?
            var resources: Resources?
            var cgroupsPath: String?
            var maskedPaths: [String]?
        }
        var mounts: [Mount]?
        var process: Process?
        var linux: Linux?
    }

    /// The details of a container from its record and spec JSON. `state`
    /// and `mainPid` come from its task (nil: it has none). Throws when
    /// the spec is not JSON of the OCI shape.
    public static func details(id: ContainerID, labels: [String: String], image: String, specJSON: Data,
                               state: String, mainPid: Int32?) throws -> ContainerDetails {
        let spec = specJSON.isEmpty ? Wire() : try JSONDecoder().decode(Wire.self, from: specJSON)
        let pod = PodIdentity(labels: labels)
        let isSandbox = labels[criKindLabel] == "sandbox"
        let name = pod?.fullName ?? labels[nerdctlNameLabel] ?? ""
        let metadata = ContainerMetadata(name: name, image: image, labels: labels, pod: pod, isSandbox: isSandbox)
        let bounding = spec.process?.capabilities?.bounding ?? []
        let added = bounding.filter { !defaultCapabilities.contains($0) }.sorted()
        let namespaces = spec.linux?.namespaces ?? []
        // No pid namespace of its own: the host's processes are its own.
        // One given by path is another container's (its pod's sandbox).
        let pidMode: String
        if let pidNamespace = namespaces.first(where: { $0.type == "pid" }) {
            pidMode = (pidNamespace.path ?? "").isEmpty ? "" : "shared"
        } else {
            pidMode = spec.linux == nil ? "" : "host"
        }
        // The CRI plugin's privileged container: every capability, and no
        // paths masked from it (an unprivileged one always has some).
        let privileged = bounding.contains("CAP_SYS_ADMIN") && (spec.linux?.maskedPaths ?? []).isEmpty
            && spec.linux != nil
        let own = OwnFiles(id: id, sandboxID: spec.annotations?[sandboxIDAnnotation], podUID: pod?.podUID)
        let mounts = (spec.mounts ?? []).compactMap(mountPoint).filter { !own.contains($0.source) }
        return ContainerDetails(
            id: id, metadata: metadata, mounts: mounts, binds: [],
            state: state, pidsLimit: spec.linux?.resources?.pids?.limit, volumes: [], privileged: privileged,
            pidMode: pidMode, capAdd: added.map { String($0.dropFirst("CAP_".count)) },
            devices: (spec.linux?.devices ?? []).compactMap(\.path), mainPid: mainPid,
            cgroupParent: cgroupParent(ofCgroupsPath: spec.linux?.cgroupsPath ?? ""))
    }

    /// The CRI plugin's note of the sandbox a container runs in.
    static let sandboxIDAnnotation = "io.kubernetes.cri.sandbox-id"

    /// The files the CRI plugin and kubelet make for one container and bind
    /// into it: its sandbox's hostname, resolv.conf and /dev/shm in the
    /// plugin's state, and its pod's own folder in kubelet's (etc-hosts,
    /// the termination log, secrets, config maps, emptyDirs). Binds of
    /// them are the pod's own, not a host path it was given; any other
    /// source in those folders (another pod's, the folder itself) is.
    struct OwnFiles {
        var prefixes: [String] = []
        var infixes: [String] = []

        init(id: ContainerID, sandboxID: String?, podUID: String?) {
            let cri = "/io.containerd.grpc.v1.cri/"
            infixes.append(cri + "containers/\(id.full)/")
            if let sandboxID, !sandboxID.isEmpty, !sandboxID.contains("/") { infixes.append(cri + "sandboxes/\(sandboxID)/") }
            if let podUID, !podUID.isEmpty, !podUID.contains("/"), podUID != "..", podUID != "." {
                prefixes.append("/var/lib/kubelet/pods/\(podUID)/")
            }
        }

        func contains(_ source: String) -> Bool {
            guard !source.contains("/../"), !source.hasSuffix("/..") else { return false }
            return prefixes.contains { source.hasPrefix($0) } || infixes.contains { source.contains($0) }
        }
    }

    /// A bind mount of the spec as a mount point; nil for the rest (proc,
    /// tmpfs, sysfs, ...), which reach nothing of the host's.
    static func mountPoint(_ m: Wire.Mount) -> MountPoint? {
        let options = m.options ?? []
        guard let source = m.source, source.hasPrefix("/"), let destination = m.destination,
              m.type == "bind" || options.contains("bind") || options.contains("rbind") else { return nil }
        return MountPoint(kind: .bind, source: source, destination: destination, readWrite: !options.contains("ro"))
    }

    /// The parent a spec's `linux.cgroupsPath` places the container in, in
    /// the form `ContainerDetails.cgroupParent` takes: the slice of the
    /// systemd driver's `slice:prefix:name` (`kubepods-burstable-pod<uid>.slice`),
    /// or the folder above a cgroupfs path (`/kubepods/burstable/pod<uid>`).
    public static func cgroupParent(ofCgroupsPath path: String) -> String {
        if !path.hasPrefix("/") {
            let parts = path.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].hasSuffix(".slice") else { return "" }
            return String(parts[0])
        }
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "" }
        return String(path[..<slash])
    }
}
