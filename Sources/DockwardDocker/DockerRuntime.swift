import DockwardCore
import Logging

/// Docker's engine, and Podman's through its Docker-compatible API, as a
/// `ContainerRuntime`: the one place their API's shapes become dockward's
/// engine-neutral values. Calls go through `EngineAPI` (the HTTP client, or
/// the tests' scripted engine), so the translation is the same in both.
public final class DockerRuntime: ContainerRuntime {
    public let api: EngineAPI
    private let logger: Logger

    public init(_ api: EngineAPI, logger: Logger = Logger(label: "dockward.engine")) {
        self.api = api
        self.logger = logger
    }

    public var socketPath: String { api.socketPath }

    /// `GET /_ping` settles the API version (an engine that cannot be
    /// reached throws: the outage); `GET /info` and `/version` say what it
    /// is. An engine (or a socket proxy) that refuses those only leaves the
    /// data root and the product unknown.
    public func connect() async throws -> RuntimeInfo {
        let apiVersion = try await api.negotiate()
        do {
            let info = try await api.info()
            return RuntimeInfo(product: info.product, apiVersion: info.apiVersion ?? apiVersion, dataRoot: info.dataRoot)
        } catch where isRefusal(error) {
            logger.warning("the engine did not describe itself (GET /info): \(error); its data root is not watched")
            return RuntimeInfo(product: nil, apiVersion: apiVersion, dataRoot: nil)
        } catch {
            throw RuntimeDescribeFailed(apiVersion: apiVersion, underlying: error)
        }
    }

    public func listContainers() async throws -> [ContainerID] {
        try await api.listContainers(all: true).map(\.id)
    }

    /// The inspect, then each volume's driver options (`readVolumeOptions`).
    public func describe(_ id: ContainerID, refused: @escaping @Sendable (String) -> Void) async throws -> ContainerDetails? {
        guard var details = try await api.inspect(id) else { return nil }
        try await api.readVolumeOptions(&details) { volume, error in
            refused("cannot read volume \(volume.name) of container \(id.short): \(error)")
        }
        return details
    }

    /// Docker's events, typed. Both engines' words for a container gone
    /// (`destroy`, Podman's `remove`) are `removed`; events of other objects
    /// (images, networks) and actor ids that are no container id are `other`
    /// without an id: they still date the stream (where a reconnect resumes)
    /// and the event lag.
    public func events(sinceNano: Int64?) -> AsyncThrowingStream<RuntimeEvent, Error> {
        let raw = api.events(sinceNano: sinceNano)
        return AsyncThrowingStream { continuation in
            let reader = Task {
                do {
                    for try await event in raw {
                        continuation.yield(Self.typed(event))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }

    /// One engine event as dockward's.
    public static func typed(_ event: EngineEvent) -> RuntimeEvent {
        guard event.type == "container", let id = ContainerID(event.actorID) else {
            return RuntimeEvent(.other, id: nil, timeNano: event.timeNano)
        }
        let kind: RuntimeEvent.Kind = switch event.action {
        case "create": .created
        case "start": .started
        case "update": .updated
        case "die": .died
        case "destroy", "remove": .removed  // Podman's compat API says remove
        default: .other
        }
        return RuntimeEvent(kind, id: id, timeNano: event.timeNano)
    }

    public func namedVolume(_ name: String) async throws -> NamedVolume? { try await api.volume(named: name) }

    public func isRefusal(_ error: Error) -> Bool { DockerClientError.isRefusal(error) }

    public func shutdown() async throws { try await api.shutdown() }
}
