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
        var Source: String?
        var Destination: String?
        var RW: Bool?
    }
    struct HostConfig: Decodable {
        var Binds: [String]?
        var PidsLimit: Int64?
    }
    struct Config: Decodable {
        var Image: String?
        var Labels: [String: String]?
    }
    struct State: Decodable { var Status: String? }

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
        self.init(
            id: id,
            metadata: ContainerMetadata(
                name: wire.Name ?? "", image: wire.Config?.Image ?? "", labels: wire.Config?.Labels ?? [:]),
            mounts: mounts,
            binds: wire.HostConfig?.Binds ?? [],
            state: wire.State?.Status ?? "",
            pidsLimit: wire.HostConfig?.PidsLimit
        )
    }
}

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
