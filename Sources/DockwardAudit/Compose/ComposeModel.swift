/// A Compose project reduced to what decides host control and pids
/// limits, normalised as `docker compose config` prints it: absolute host
/// paths, interpolated values, files merged, `extends` resolved. Each value
/// keeps where it was written.
public struct ComposeProject: Equatable, Sendable {
    public var name: String
    /// The folder relative paths are resolved against (the first file's).
    public var directory: String
    public var files: [String]
    /// In file order.
    public var services: [ComposeService]
    public var volumes: [String: ComposeVolume]
    /// Variables referenced but set nowhere (Compose's blank-string warning).
    public var unsetVariables: [String]
    /// `COMPOSE_PROFILES` from the environment, else the project's `.env`
    /// (Compose v2 reads it there too).
    public var environmentProfiles: [String] = []

    public func service(_ name: String) -> ComposeService? { services.first { $0.name == name } }
}

public struct ComposeService: Equatable, Sendable {
    public var name: String
    /// The service's key.
    public var location: SourceLocation
    public var image: String?
    public var containerName: String?
    public var labels: [String: String] = [:]
    public var volumes: [ComposeMount] = []
    public var volumesFrom: [ComposeVolumesFrom] = []
    public var privileged: Located<Bool>?
    public var pid: Located<String>?
    public var capAdd: [Located<String>] = []
    public var devices: [ComposeDevice] = []
    public var pidsLimit: Located<Int64>?
    /// `deploy.resources.limits.pids`.
    public var deployPidsLimit: Located<Int64>?
    public var profiles: [String] = []
    public var networkMode: String?
    public var extends: ComposeExtends?

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// Started by `up` with these profiles: a service with none always is.
    public func isActive(profiles active: Set<String>) -> Bool {
        profiles.isEmpty || profiles.contains { active.contains($0) || active.contains("*") }
    }

    /// The limit the container will ask for: `pids_limit`, else
    /// `deploy.resources.limits.pids`.
    public var ownPidsLimit: Located<Int64>? { pidsLimit ?? deployPidsLimit }
}

public struct Located<Value: Equatable & Sendable>: Equatable, Sendable {
    public var value: Value
    public var location: SourceLocation
    public init(_ value: Value, _ location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

/// One entry of a service's `volumes`, short or long syntax.
public struct ComposeMount: Equatable, Sendable {
    public enum Kind: String, Sendable { case bind, volume, tmpfs, npipe }
    public var type: Kind
    /// An absolute host path (bind), a volume's key in the file (volume),
    /// nil for an anonymous volume or a tmpfs.
    public var source: String?
    public var target: String
    public var readOnly: Bool
    public var location: SourceLocation
}

public struct ComposeDevice: Equatable, Sendable {
    public var hostPath: String
    public var containerPath: String
    public var permissions: String
    public var location: SourceLocation
}

/// `volumes_from`: `service:NAME`, `NAME` (a service), or `container:NAME`.
public struct ComposeVolumesFrom: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        case service(String)
        case container(String)
    }
    public var source: Source
    public var readOnly: Bool
    public var location: SourceLocation

    /// The entry as merges compare it, where it was written aside.
    var written: String {
        switch source {
        case .service(let name): "\(name):\(readOnly ? "ro" : "rw")"
        case .container(let name): "container:\(name):\(readOnly ? "ro" : "rw")"
        }
    }
}

public struct ComposeExtends: Equatable, Sendable {
    public var service: String
    /// Absolute; nil: the same file.
    public var file: String?
    public var location: SourceLocation
}

/// A top-level `include:` entry: another project whose services and
/// volumes join this one.
public struct ComposeInclude: Equatable, Sendable {
    /// Absolute, merged in order.
    public var paths: [String]
    /// Absolute; nil: the first path's folder.
    public var projectDirectory: String?
    /// Absolute; nil: `.env` of the project folder, if there is one.
    public var envFiles: [String]?
    public var location: SourceLocation
}

/// A top-level `volumes:` entry.
public struct ComposeVolume: Equatable, Sendable {
    public var key: String
    /// The engine's name for it: `name:`, else `<project>_<key>`, an
    /// external one's `name:` or key.
    public var engineName: String
    public var driver: String?
    public var driverOptions: [String: String]
    public var external: Bool
    public var location: SourceLocation
}
