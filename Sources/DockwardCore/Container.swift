/// A container as dockward knows it: the 64-hex id found in the cgroup tree,
/// plus what the engine tells about it once it has been asked.
public struct ContainerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The full 64-character lowercase hex id.
    public let full: String

    /// Accepts exactly 64 lowercase hex characters; anything else is not a container id.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 64, text.utf8.allSatisfy(ContainerID.isLowerHex) else { return nil }
        self.full = String(text)
    }

    /// The 12-character form Docker prints and its journald log driver uses.
    public var short: String { String(full.prefix(12)) }
    public var description: String { short }
    public static func < (a: ContainerID, b: ContainerID) -> Bool { a.full < b.full }

    /// How dockward names a container to people (alert text, the metrics
    /// `container` label): the engine's name, else the short id. An empty
    /// name counts as none, so a label or a sentence never has a blank where
    /// the container should be.
    public func displayName(name: String?) -> String {
        if let name, !name.isEmpty { return name }
        return short
    }

    @inline(__always)
    static func isLowerHex(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }
}

/// What the engine says about a container; fetched once and cached.
public struct ContainerMetadata: Equatable, Sendable {
    /// The name without Docker's leading slash.
    public var name: String
    public var image: String
    public var labels: [String: String]

    public init(name: String, image: String, labels: [String: String] = [:]) {
        self.name = name.hasPrefix("/") ? String(name.dropFirst()) : name
        self.image = image
        self.labels = labels
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

    public init(kind: Kind, source: String, destination: String, readWrite: Bool) {
        self.kind = kind
        self.source = source
        self.destination = destination
        self.readWrite = readWrite
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

    /// True when the container asked for a pids limit of its own.
    public var hasOwnPidsLimit: Bool { (pidsLimit ?? 0) > 0 }

    public init(id: ContainerID, metadata: ContainerMetadata, mounts: [MountPoint], binds: [String], state: String,
                pidsLimit: Int64? = nil) {
        self.id = id
        self.metadata = metadata
        self.mounts = mounts
        self.binds = binds
        self.state = state
        self.pidsLimit = pidsLimit
    }
}
