/// A container as dockward knows it: the 64-hex id found in the cgroup tree,
/// plus what the engine tells about it once it has been asked.
public struct ContainerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The id's 256 bits, most significant first: 32 bytes inline rather
    /// than a 64-character string on the heap (over a megabyte at 10,000
    /// containers, where the id is a dictionary key and in every watch).
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// Accepts exactly 64 lowercase hex characters; anything else is not a container id.
    public init?(_ text: some StringProtocol) {
        self.init(utf8: text.utf8)
    }

    /// The same from raw bytes (a directory entry's name), without a String.
    public init?<Bytes: Collection>(utf8 bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 64 else { return nil }
        var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for c in bytes {
            guard let nibble = ContainerID.nibble(c) else { return nil }
            switch i / 16 {
            case 0: w.0 = w.0 << 4 | UInt64(nibble)
            case 1: w.1 = w.1 << 4 | UInt64(nibble)
            case 2: w.2 = w.2 << 4 | UInt64(nibble)
            default: w.3 = w.3 << 4 | UInt64(nibble)
            }
            i += 1
        }
        words = w
    }

    /// The full 64-character lowercase hex id (built on each call: cold paths only).
    public var full: String {
        [words.0, words.1, words.2, words.3].map(Self.hex16).joined()
    }

    /// The 12-character form Docker prints and its journald log driver uses.
    public var short: String { String(Self.hex16(words.0).prefix(12)) }
    public var description: String { short }

    public static func == (a: ContainerID, b: ContainerID) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// The same order as the hex strings'.
    public static func < (a: ContainerID, b: ContainerID) -> Bool {
        (a.words.0, a.words.1, a.words.2, a.words.3) < (b.words.0, b.words.1, b.words.2, b.words.3)
    }

    private static func hex16(_ w: UInt64) -> String {
        let s = String(w, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { return c - UInt8(ascii: "0") }
        if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f") { return c - UInt8(ascii: "a") + 10 }
        return nil
    }

    /// How dockward names a container to people (alert text, the metrics
    /// `container` label): the engine's name, else the short id. An empty
    /// name counts as none, so a label or a sentence never has a blank where
    /// the container should be.
    public func displayName(name: String?) -> String {
        if let name, !name.isEmpty { return name }
        return short
    }
}

/// What the engine says about a container; fetched once and cached.
public struct ContainerMetadata: Equatable, Sendable {
    /// The name without Docker's leading slash; `namespace/pod/container`
    /// for a Kubernetes pod's container.
    public var name: String
    public var image: String
    public var labels: [String: String]
    /// The pod it belongs to, from the labels kubelet gives every container
    /// it creates (`io.kubernetes.pod.*`); nil outside Kubernetes.
    public var pod: PodIdentity?
    /// A pod's sandbox (its pause container): the pod's namespaces, no
    /// workload. Never judged or reported.
    public var isSandbox: Bool

    public init(name: String, image: String, labels: [String: String] = [:], pod: PodIdentity? = nil,
                isSandbox: Bool = false) {
        self.name = name.hasPrefix("/") ? String(name.dropFirst()) : name
        self.image = image
        self.labels = labels
        self.pod = pod
        self.isSandbox = isSandbox
    }
}

/// Who a Kubernetes container is: the labels kubelet puts on every
/// container (and sandbox) it asks the runtime for. The names
/// kube-state-metrics and the Prometheus Operator's rules use.
public struct PodIdentity: Equatable, Hashable, Sendable {
    public var namespace: String
    public var pod: String
    public var podUID: String
    /// The container's name in the pod spec; empty for a sandbox.
    public var container: String

    public init(namespace: String, pod: String, podUID: String, container: String) {
        self.namespace = namespace
        self.pod = pod
        self.podUID = podUID
        self.container = container
    }

    public static let namespaceLabel = "io.kubernetes.pod.namespace"
    public static let podLabel = "io.kubernetes.pod.name"
    public static let podUIDLabel = "io.kubernetes.pod.uid"
    public static let containerLabel = "io.kubernetes.container.name"

    /// From a container's labels: nil unless it names a pod and its namespace.
    public init?(labels: [String: String]) {
        guard let namespace = labels[Self.namespaceLabel], !namespace.isEmpty,
              let pod = labels[Self.podLabel], !pod.isEmpty else { return nil }
        self.init(namespace: namespace, pod: pod, podUID: labels[Self.podUIDLabel] ?? "",
                  container: labels[Self.containerLabel] ?? "")
    }

    /// `namespace/pod`, as kubectl and the alerts name a pod.
    public var podName: String { "\(namespace)/\(pod)" }

    /// `namespace/pod/container` (`namespace/pod` for a sandbox).
    public var fullName: String { container.isEmpty ? podName : "\(podName)/\(container)" }

    /// The journal fields every entry about the container carries.
    public var journalFields: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [("K8S_NAMESPACE", namespace), ("K8S_POD", pod)]
        if !container.isEmpty { out.append(("K8S_CONTAINER", container)) }
        if !podUID.isEmpty { out.append(("K8S_POD_UID", podUID)) }
        return out
    }
}

/// One mount of a container, as the engine's inspect data describes it
/// (`Mounts[]`, or a parsed `HostConfig.Binds` entry).
public struct MountPoint: Equatable, Sendable {
    public enum Kind: String, Sendable { case bind, volume, tmpfs, npipe, cluster, image, unknown }
    public var kind: Kind
    /// Host path of the mounted thing; empty for tmpfs.
    public var source: String
    public var destination: String
    public var readWrite: Bool
    /// For a volume that binds a host folder: the volume's name (`source`
    /// is then the folder it binds).
    public var viaVolume: String?

    public init(kind: Kind, source: String, destination: String, readWrite: Bool, viaVolume: String? = nil) {
        self.kind = kind
        self.source = source
        self.destination = destination
        self.readWrite = readWrite
        self.viaVolume = viaVolume
    }
}

/// A volume mounted into a container, with the options that decide what it
/// really holds: the local driver's `type=none,o=bind,device=/path` makes a
/// "volume" a bind of a host folder, though the container's `Mounts` entry
/// shows only the volume's `_data` folder.
public struct VolumeMount: Equatable, Sendable {
    public var name: String
    public var destination: String
    public var driver: String
    public var readWrite: Bool
    /// The driver's options: the volume's (`GET /volumes/{name}`), else the
    /// container's inline ones (`--mount volume-opt=...`); nil when neither
    /// could be read.
    public var options: [String: String]?

    public init(name: String, destination: String, driver: String, readWrite: Bool, options: [String: String]? = nil) {
        self.name = name
        self.destination = destination
        self.driver = driver
        self.readWrite = readWrite
        self.options = options
    }

    /// The host folder (or file) the volume binds: the local driver with
    /// `o` holding `bind` or `rbind` and an absolute `device`. Any `type`
    /// counts (`none` is usual): with a bind option the kernel binds.
    public var hostBind: MountPoint? {
        guard driver == "local" || driver.isEmpty, let options, let device = options["device"], device.hasPrefix("/"),
              let o = options["o"] else { return nil }
        let flags = o.split(separator: ",").map { String($0.filter { $0 != " " }) }
        guard flags.contains("bind") || flags.contains("rbind") else { return nil }
        return MountPoint(kind: .bind, source: device, destination: destination,
                          readWrite: readWrite && !flags.contains("ro"), viaVolume: name.isEmpty ? "(anonymous)" : name)
    }
}

/// A container's inspect data, reduced to what dockward needs.
public struct ContainerDetails: Equatable, Sendable {
    public var id: ContainerID
    public var metadata: ContainerMetadata
    public var mounts: [MountPoint]
    /// `HostConfig.Binds` entries as written (`src:dst[:opts]`).
    public var binds: [String]
    /// `State.Status`: created, running, exited, ...
    public var state: String
    /// `HostConfig.PidsLimit`: the limit the container asked for; nil, 0 or
    /// -1 when it asked for none.
    public var pidsLimit: Int64?
    /// Named and anonymous volumes, with their driver options once known.
    public var volumes: [VolumeMount]
    /// `HostConfig.Privileged`.
    public var privileged: Bool
    /// `HostConfig.PidMode`: empty (its own), `host`, or `container:<id>`.
    public var pidMode: String
    /// `HostConfig.CapAdd` as given (`SYS_PTRACE`, `CAP_SYS_ADMIN`, `ALL`).
    public var capAdd: [String]
    /// `HostConfig.Devices[].PathOnHost`.
    public var devices: [String]
    /// `State.Pid`: its main process (in the engine's pid namespace), nil
    /// while it is not running.
    public var mainPid: Int32?
    /// `HostConfig.CgroupParent`: the parent the container was given
    /// (`--cgroup-parent`: a slice such as `acme.slice` with the systemd
    /// driver, a path such as `/acme` with cgroupfs), empty for the engine's own.
    public var cgroupParent: String

    /// True when the container asked for a pids limit of its own.
    public var hasOwnPidsLimit: Bool { (pidsLimit ?? 0) > 0 }

    public init(id: ContainerID, metadata: ContainerMetadata, mounts: [MountPoint], binds: [String], state: String,
                pidsLimit: Int64? = nil, volumes: [VolumeMount] = [], privileged: Bool = false, pidMode: String = "",
                capAdd: [String] = [], devices: [String] = [], mainPid: Int32? = nil, cgroupParent: String = "") {
        self.id = id
        self.metadata = metadata
        self.mounts = mounts
        self.binds = binds
        self.state = state
        self.pidsLimit = pidsLimit
        self.volumes = volumes
        self.privileged = privileged
        self.pidMode = pidMode
        self.capAdd = capAdd
        self.devices = devices
        self.mainPid = mainPid
        self.cgroupParent = cgroupParent
    }
}
