/// Where the engine listens. Only Unix sockets: dockward reads the local
/// engine and must never be pointed at a remote one by accident.
public struct DockerEndpoint: Equatable, Sendable {
    public let socketPath: String

    public init(socketPath: String) throws {
        guard socketPath.hasPrefix("/"), socketPath.count > 1 else {
            throw DockerClientError.invalidSocketPath(socketPath)
        }
        self.socketPath = socketPath
    }

    /// DOCKER_HOST=unix:///path overrides the configured socket, as it does for
    /// the docker CLI; other DOCKER_HOST schemes (tcp://, ssh://) are rejected.
    public static func resolve(configuredSocket: String, environment: [String: String]) throws -> DockerEndpoint {
        guard let host = environment["DOCKER_HOST"], !host.isEmpty else {
            return try DockerEndpoint(socketPath: configuredSocket)
        }
        let scheme = "unix://"
        guard host.hasPrefix(scheme) else {
            throw DockerClientError.unsupportedDockerHost(host)
        }
        return try DockerEndpoint(socketPath: String(host.dropFirst(scheme.count)))
    }
}
