public enum DockerClientError: Error, Equatable, CustomStringConvertible {
    case unsupportedDockerHost(String)
    case invalidSocketPath(String)
    case socketMissing(path: String)
    /// The socket exists but connecting or talking to it failed (refused, reset, timed out).
    case engineUnreachable(path: String, reason: String)
    /// A non-success status; `message` is the engine's `{"message": ...}` or the raw body.
    case httpStatus(code: Int, request: String, message: String)
    /// Unparseable JSON, a missing field, or an oversized body.
    case badResponse(request: String, reason: String)
    case versionTooOld(engine: String, minimum: String)
    /// The engine accepts nothing as old as the newest API dockward speaks.
    case versionTooNew(engine: String, engineMinimum: String, maximum: String, socket: String)

    public var description: String {
        switch self {
        case .unsupportedDockerHost(let host):
            return "DOCKER_HOST=\(host) is not supported: dockward only talks to a local engine over unix:///path"
        case .invalidSocketPath(let path):
            return "Docker socket path '\(path)' is not an absolute path"
        case .socketMissing(let path):
            return "Docker engine socket \(path) does not exist (is dockerd running?)"
        case .engineUnreachable(let path, let reason):
            return "cannot reach the Docker engine at \(path): \(reason)"
        case .httpStatus(let code, let request, let message):
            // The watching client's requests are GETs and give their path; an action client's say POST.
            return "Docker engine answered \(code) to \(request.hasPrefix("POST ") ? request : "GET " + request): \(message)"
        case .badResponse(let request, let reason):
            return "bad response from the Docker engine to GET \(request): \(reason)"
        case .versionTooOld(let engine, let minimum):
            return "Docker engine API version \(engine) is older than the minimum \(minimum) dockward supports"
        case .versionTooNew(let engine, let engineMinimum, let maximum, let socket):
            return "the engine accepts Docker API \(engineMinimum) to \(engine) and dockward speaks up to \(maximum): "
                + "dockward needs a release that speaks \(engineMinimum) or newer (the engine's own figures: "
                + "curl --unix-socket \(socket) http://docker/version, its ApiVersion and MinAPIVersion)"
        }
    }
}
