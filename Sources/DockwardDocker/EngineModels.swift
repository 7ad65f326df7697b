import DockwardCore

/// One row of `GET /containers/json`.
public struct ContainerSummary: Equatable, Sendable {
    public var id: ContainerID
    /// Names without Docker's leading slash.
    public var names: [String]
    public var image: String
    public var labels: [String: String]
    /// created, running, paused, restarting, exited, removing, dead.
    public var state: String

    public init(id: ContainerID, names: [String], image: String, labels: [String: String], state: String) {
        self.id = id
        self.names = names
        self.image = image
        self.labels = labels
        self.state = state
    }
}

// Wire shapes: only the fields dockward reads, optional wherever an engine
// version or container kind may leave them out or send null.

struct WireSummary: Decodable {
    var Id: String
    var Names: [String]?
    var Image: String?
    var Labels: [String: String]?
    var State: String?
}

struct WireInspect: Decodable {
    struct Mount: Decodable {
        var `Type`: String?
        var Name: String?
        var Driver: String?
        var Source: String?
        var Destination: String?
        var RW: Bool?
    }
    /// `HostConfig.Mounts`: the `--mount` requests as given, the only place
    /// a volume's inline driver options (`volume-opt=`) show.
    struct RequestedMount: Decodable {
        struct VolumeOptions: Decodable {
            struct DriverConfig: Decodable {
                var Name: String?
                var Options: [String: String]?
            }
            var DriverConfig: DriverConfig?
        }
        var `Type`: String?
        var Source: String?
        var Target: String?
        var ReadOnly: Bool?
        var VolumeOptions: VolumeOptions?
    }
    struct Device: Decodable { var PathOnHost: String? }
    struct HostConfig: Decodable {
        var Binds: [String]?
        var PidsLimit: Int64?
        var Privileged: Bool?
        var PidMode: String?
        var CapAdd: [String]?
        var Devices: [Device]?
        var Mounts: [RequestedMount]?
        var CgroupParent: String?
    }
    struct Config: Decodable {
        var Image: String?
        var Labels: [String: String]?
    }
    struct State: Decodable {
        var Status: String?
        var Pid: Int32?
    }

    var Id: String
    var Name: String?
    var Mounts: [Mount]?
    var HostConfig: HostConfig?
    var Config: Config?
    var State: State?
}

extension ContainerSummary {
    init?(_ wire: WireSummary) {
        guard let id = ContainerID(wire.Id) else { return nil }
        self.init(
            id: id,
            names: (wire.Names ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 },
            image: wire.Image ?? "",
            labels: wire.Labels ?? [:],
            state: wire.State ?? ""
        )
    }
}

extension ContainerDetails {
    init?(_ wire: WireInspect) {
        guard let id = ContainerID(wire.Id) else { return nil }
        let mounts = (wire.Mounts ?? []).map { m in
            MountPoint(
                kind: m.Type.flatMap(MountPoint.Kind.init(rawValue:)) ?? .unknown,
                source: m.Source ?? "",
                destination: m.Destination ?? "",
                // Every engine sends RW; if one did not, writable is the cautious guess for a guard.
                readWrite: m.RW ?? true
            )
        }
        let host = wire.HostConfig
        self.init(
            id: id,
            metadata: ContainerMetadata(
                name: wire.Name ?? "", image: wire.Config?.Image ?? "", labels: wire.Config?.Labels ?? [:]),
            mounts: mounts,
            binds: host?.Binds ?? [],
            state: wire.State?.Status ?? "",
            pidsLimit: host?.PidsLimit,
            volumes: Self.volumes(mounted: wire.Mounts ?? [], requested: host?.Mounts ?? []),
            privileged: host?.Privileged ?? false,
            pidMode: host?.PidMode ?? "",
            capAdd: host?.CapAdd ?? [],
            devices: (host?.Devices ?? []).compactMap(\.PathOnHost),
            mainPid: wire.State?.Pid.flatMap { $0 > 0 ? $0 : nil },
            cgroupParent: host?.CgroupParent ?? ""
        )
    }

    /// The container's volumes: those the engine mounted (`Mounts`, which
    /// name each volume, anonymous ones too), with the inline driver options
    /// of the `--mount` request for the same target; requested volumes not
    /// (yet) among the mounted ones as well.
    static func volumes(mounted: [WireInspect.Mount], requested: [WireInspect.RequestedMount]) -> [VolumeMount] {
        let requestedVolumes = requested.filter { $0.Type == "volume" }
        var out: [VolumeMount] = []
        var targets = Set<String>()
        for m in mounted where m.Type == "volume" {
            let destination = m.Destination ?? ""
            let request = requestedVolumes.first { $0.Target == destination }
            out.append(VolumeMount(name: m.Name ?? request?.Source ?? "", destination: destination,
                                   driver: m.Driver ?? request?.VolumeOptions?.DriverConfig?.Name ?? "local",
                                   readWrite: m.RW ?? true, options: request?.VolumeOptions?.DriverConfig?.Options))
            targets.insert(destination)
        }
        for r in requestedVolumes where !targets.contains(r.Target ?? "") {
            out.append(VolumeMount(name: r.Source ?? "", destination: r.Target ?? "",
                                   driver: r.VolumeOptions?.DriverConfig?.Name ?? "local",
                                   readWrite: !(r.ReadOnly ?? false), options: r.VolumeOptions?.DriverConfig?.Options))
        }
        return out
    }
}

/// `GET /volumes/{name}`: the driver and its options.
struct WireVolume: Decodable {
    var Name: String?
    var Driver: String?
    var Options: [String: String]?
}

/// `GET /info`, the one field read.
struct WireInfo: Decodable {
    var DockerRootDir: String?
}

/// `GET /version`: Docker names its first component "Engine", Podman's
/// compat API "Podman Engine".
struct WireVersion: Decodable {
    struct Component: Decodable { var Name: String? }
    var Version: String?
    var Components: [Component]?
    var ApiVersion: String?
    /// The oldest API the engine still accepts (Docker 29.0: 1.44).
    var MinAPIVersion: String?
}

/// What the engine says of itself: where it keeps its state, and what it is.
public struct EngineInfo: Equatable, Sendable {
    /// Which engine answers on the socket.
    public enum Kind: String, Sendable { case docker, podman }

    /// `DockerRootDir`: images, containers' layers and configs, volumes
    /// (Podman: its `graphRoot`, `/var/lib/containers/storage`).
    public var dataRoot: String?
    public var kind: Kind?
    /// The engine's own version (`20.10.24`, `4.3.1`), not the API's.
    public var version: String?
    /// The API version dockward speaks with it.
    public var apiVersion: String?

    public init(dataRoot: String?, kind: Kind? = nil, version: String? = nil, apiVersion: String? = nil) {
        self.dataRoot = dataRoot
        self.kind = kind
        self.version = version
        self.apiVersion = apiVersion
    }

    /// "Docker 20.10.24", "Podman 4.3.1", or nil when unknown.
    public var product: String? {
        guard let kind else { return nil }
        let name = kind == .podman ? "Podman" : "Docker"
        return version.map { "\(name) \($0)" } ?? name
    }
}

extension EngineInfo {
    init(_ info: WireInfo, _ version: WireVersion?, apiVersion: String?) {
        let first = version?.Components?.first?.Name ?? ""
        self.init(dataRoot: info.DockerRootDir.flatMap { $0.hasPrefix("/") ? $0 : nil },
                  kind: version.map { _ in first.hasPrefix("Podman") ? .podman : .docker },
                  version: version?.Version, apiVersion: apiVersion)
    }
}

/// `GET /volumes/{name}`, as the engine-neutral value.
public typealias VolumeInfo = NamedVolume

/// `major.minor` API versions, compared numerically ("1.9" < "1.41").
struct APIVersion: Comparable, CustomStringConvertible {
    var major: Int
    var minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else {
            return nil
        }
        self.init(major: major, minor: minor)
    }

    var description: String { "\(major).\(minor)" }
    static func < (a: APIVersion, b: APIVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}
