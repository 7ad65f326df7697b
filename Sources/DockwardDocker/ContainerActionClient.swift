import DockwardCore
import NIOHTTP1

/// The only requests an action client can make: POSTs that change one
/// container (`actions:` in the config). The watching client's
/// `EngineRequest` stays GET-only; these live apart, and no case carries an
/// id: the client they go through is bound to one container.
public enum ContainerActionRequest: Sendable, Equatable {
    /// `POST /containers/{id}/update` with `{"PidsLimit": N}`: the limit
    /// `docker inspect` shows (`HostConfig.PidsLimit`); the engine writes
    /// `pids.max` too.
    case updatePidsLimit(Int64)
    case pause
    /// Stop (SIGTERM, then SIGKILL after `timeoutSeconds`).
    case stop(timeoutSeconds: Int)
    /// SIGKILL.
    case kill

    public var method: HTTPMethod { .POST }

    /// Path and query for `id`, under `/v<apiVersion>`.
    public func path(apiVersion: String, id: ContainerID) -> String {
        // ContainerID is 64 lowercase hex, so it needs no escaping.
        let base = "/v\(apiVersion)/containers/\(id.full)"
        switch self {
        case .updatePidsLimit: return base + "/update"
        case .pause: return base + "/pause"
        case .stop(let t): return base + "/stop?t=\(max(0, t))"
        case .kill: return base + "/kill?signal=SIGKILL"
        }
    }

    /// The JSON body; only an update has one.
    public var body: [UInt8]? {
        guard case .updatePidsLimit(let n) = self else { return nil }
        return Array(#"{"PidsLimit":\#(n)}"#.utf8)
    }
}

/// What the daemon's containment asks of the engine for one container: a
/// seam, so the wiring runs in-process with a scripted client in tests.
public protocol ContainerActionAPI: Sendable {
    /// The one container this client may change.
    var id: ContainerID { get }
    /// Sends the request; throws `DockerClientError` when the engine cannot
    /// be reached (`engineUnreachable`, `socketMissing`) or refuses (`httpStatus`).
    func perform(_ request: ContainerActionRequest) async throws
}

/// An engine client that can only update, pause, stop or kill one
/// container, made by the daemon only while `actions.enabled` is true (one
/// per action). It shares the watching client's connections and negotiated
/// API version rather than opening its own.
public struct ContainerActionClient: ContainerActionAPI {
    public let id: ContainerID
    private let engine: DockerEngineClient

    public init(id: ContainerID, engine: DockerEngineClient) {
        self.id = id
        self.engine = engine
    }

    public func perform(_ request: ContainerActionRequest) async throws {
        let version = try await engine.currentVersion()
        let path = request.path(apiVersion: version, id: id)
        let response = try await engine.execute(method: request.method, path: path, body: request.body, using: engine.client)
        try await engine.ensureSuccess(response, request: "POST " + path)
        // The answer (`{"Warnings":[]}` or nothing) is read and dropped so the connection is reused.
        _ = try? await response.body.collect(upTo: 64 << 10)
    }
}
