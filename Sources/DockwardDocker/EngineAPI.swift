import DockwardCore

/// What the daemon asks of the Docker engine: the read-only calls of
/// `DockerEngineClient`, as a seam so the wiring can be driven in-process by
/// a fake engine in tests. Nothing here can change a container.
public protocol EngineAPI: AnyObject, Sendable {
    /// The Unix socket the engine listens on, for messages and the exposure check.
    var socketPath: String { get }
    /// `GET /_ping`: settles the API version; throws when the engine cannot be reached.
    func negotiate() async throws -> String
    /// `GET /containers/json?all=…`.
    func listContainers(all: Bool) async throws -> [ContainerSummary]
    /// `GET /containers/{id}/json`; nil when the engine does not know the id.
    func inspect(_ id: ContainerID) async throws -> ContainerDetails?
    /// `GET /volumes/{name}`; nil when the engine has no such volume.
    func volume(named name: String) async throws -> VolumeInfo?
    /// `GET /info` and `GET /version`: where the engine keeps its state, and
    /// what it is (Docker or Podman, and its version).
    func info() async throws -> EngineInfo
    /// `GET /events` from `sinceNano`, then live; finishes or throws when the
    /// connection ends.
    func events(sinceNano: Int64?) -> AsyncThrowingStream<EngineEvent, Error>
    /// Closes every connection; called once, at shutdown.
    func shutdown() async throws
}

extension DockerEngineClient: EngineAPI {
    public var socketPath: String { endpoint.socketPath }
}

extension EngineAPI {
    /// Each volume's driver options as the engine keeps them: the local
    /// driver can bind any host folder under a volume's name. The volume's
    /// own options win over the container's inline ones (`volume-opt=` is
    /// ignored when the volume already existed); a volume gone meanwhile
    /// keeps the inline ones, if any. A volume the engine (or a socket
    /// proxy) refuses to describe is handed to `refused` and the container
    /// is judged on its inline options.
    public func readVolumeOptions(_ details: inout ContainerDetails,
                                  refused: @Sendable (VolumeMount, Error) -> Void) async throws {
        for index in details.volumes.indices {
            let volume = details.volumes[index]
            guard !volume.name.isEmpty else { continue }
            let found: VolumeInfo?
            do { found = try await self.volume(named: volume.name) } catch where DockerClientError.isRefusal(error) {
                refused(volume, error)
                continue
            }
            guard let found else { continue }
            details.volumes[index].driver = found.driver
            details.volumes[index].options = found.options
        }
    }
}

extension DockerClientError {
    /// An answer, though not the one asked for: the engine is there.
    public static func isRefusal(_ error: Error) -> Bool {
        switch error {
        case DockerClientError.httpStatus, DockerClientError.badResponse: true
        default: false
        }
    }
}
