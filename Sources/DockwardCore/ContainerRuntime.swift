/// A container engine as dockward follows it, whatever it is: the engine
/// link (the daemon), `audit` and `check-compose` speak only this. An
/// engine module implements it over the engine's own API (the Docker
/// module speaks Docker's HTTP API, which Podman's compat API speaks too)
/// and translates everything into the engine-neutral values below, so the
/// wiring never sees an engine's action strings, endpoints or errors.
/// Nothing here can change a container.
public protocol ContainerRuntime: AnyObject, Sendable {
    /// The engine's API socket: named in messages, and protected as a socket
    /// that controls the host.
    var socketPath: String { get }
    /// Reaches the engine and learns what it is. Throws when it cannot be
    /// reached or will not talk to dockward: that is an outage.
    func connect() async throws -> RuntimeInfo
    /// Every container, running, stopped and created.
    func listContainers() async throws -> [ContainerID]
    /// One container as the engine-neutral spec, its volumes' driver
    /// options read from the engine; nil when the engine does not know it.
    /// A part the engine would not describe (a socket proxy may forbid a
    /// volume's endpoint) is told to `refused` in a sentence, and the
    /// container is described without it.
    func describe(_ id: ContainerID, refused: @escaping @Sendable (String) -> Void) async throws -> ContainerDetails?
    /// The engine's container events from `sinceNano` (unix nanoseconds,
    /// the engine's clock), then live; finishes or throws when the
    /// connection ends.
    func events(sinceNano: Int64?) -> AsyncThrowingStream<RuntimeEvent, Error>
    /// A named volume as the engine keeps it (`check-compose` asks for the
    /// volumes a file uses that exist already); nil when the engine has none
    /// of that name, or has no named volumes at all.
    func namedVolume(_ name: String) async throws -> NamedVolume?
    /// Whether `error` is an answer, though not the one asked for (the
    /// engine is there: no outage), rather than an engine out of reach.
    func isRefusal(_ error: Error) -> Bool
    /// Closes every connection; called once, at shutdown.
    func shutdown() async throws
}

/// The engine answered its ping but not what it is (a timeout, a broken
/// answer; a refusal only leaves the facts unknown). `connect` throws it:
/// the daemon counts it an outage and connects again, while a one-shot
/// command may go on without the data root.
public struct RuntimeDescribeFailed: Error, CustomStringConvertible {
    public var apiVersion: String
    public var underlying: Error
    public init(apiVersion: String, underlying: Error) {
        self.apiVersion = apiVersion
        self.underlying = underlying
    }
    public var description: String { "\(underlying)" }
}

/// What an engine says of itself when dockward connects.
public struct RuntimeInfo: Equatable, Sendable {
    /// "Docker 20.10.24", "Podman 4.3.1"; nil when it would not say.
    public var product: String?
    /// The API version dockward speaks with it.
    public var apiVersion: String?
    /// Where it keeps its state (images, layers, volumes), protected like
    /// its socket; nil when it would not say.
    public var dataRoot: String?

    public init(product: String?, apiVersion: String?, dataRoot: String?) {
        self.product = product
        self.apiVersion = apiVersion
        self.dataRoot = dataRoot
    }
}

/// A volume's driver and options as the engine keeps them: the local driver
/// can bind any host folder under a volume's name.
public struct NamedVolume: Equatable, Sendable {
    public var driver: String
    public var options: [String: String]
    public init(driver: String, options: [String: String]) {
        self.driver = driver
        self.options = options
    }
}

/// One container event, typed: what the engine module made of the engine's
/// own words (Docker's `destroy` and Podman's `remove` are both `removed`).
public struct RuntimeEvent: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Made, not yet started: the earliest moment to judge its spec.
        case created
        /// Started: its main process now tells where its cgroup is.
        case started
        /// Its resources changed (a pids limit given with `docker update`).
        case updated
        /// Its main process ended.
        case died
        /// Gone from the engine.
        case removed
        /// Anything else the engine says of a container (exec, health, ...).
        case other
    }

    public var kind: Kind
    /// The container; nil for an event of another object (an image, a
    /// network), which is `other` and still dates the stream.
    public var id: ContainerID?
    /// When it happened, unix nanoseconds by the engine's clock: the point
    /// a reconnect resumes from, and the event lag's measure.
    public var timeNano: Int64

    public init(_ kind: Kind, id: ContainerID?, timeNano: Int64) {
        self.kind = kind
        self.id = id
        self.timeNano = timeNano
    }
}

/// An engine dockward can follow, as one module gives it: its name, how it
/// names its containers' cgroups, and its runtime. Adding an engine is a
/// module that implements this and one line in the list of registered
/// engines (`Engines.registered`, DockwardEngines).
public protocol EngineModule: Sendable {
    /// `docker`, `podman`: in logs, and in the config once it chooses engines.
    var name: String { get }
    /// How it names its containers' cgroups (every registered engine's are
    /// scanned, whichever engine is followed: a host may run two).
    var cgroupNaming: any CgroupNaming { get }
    /// Its runtime, for the engine at `endpoint` (throws for an endpoint it cannot use).
    func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime
}

extension EngineModule {
    /// Its runtime for the engine listening on `socketPath`, every namespace.
    public func runtime(socketPath: String) throws -> ContainerRuntime {
        try runtime(EngineEndpoint(socketPath: socketPath))
    }
}

/// Where an engine listens and what of it to follow (`engine:` in the config).
public struct EngineEndpoint: Equatable, Sendable {
    public var socketPath: String
    /// containerd's namespaces to follow (`k8s.io` is kubelet's, `moby`
    /// Docker's own); empty: every one. Engines without namespaces ignore it.
    public var namespaces: [String]

    public init(socketPath: String, namespaces: [String] = []) {
        self.socketPath = socketPath
        self.namespaces = namespaces
    }
}
