import AsyncHTTPClient
import DockwardCore
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Read-only Docker Engine API client over the engine's Unix socket. Its
/// one mutable field, the negotiated API version, is under a `Mutex`; the
/// HTTP clients are thread-safe.
public final class DockerEngineClient: Sendable {
    /// Oldest API we speak (Docker 19.03, and Podman 4.0 and 4.1's compat
    /// API); newer engines may refuse anything below 1.44.
    public static let minimumAPIVersion = "1.40"
    /// Newest API whose fields we have checked (Docker 29.0; from 1.52 the
    /// events lose their legacy `status`/`id`/`from`, which the decoder does
    /// not need); newer engines are asked for this one.
    public static let maximumAPIVersion = "1.52"

    public let endpoint: DockerEndpoint
    private let logger: Logger
    /// Short requests: bounded connect, idle-read and overall time.
    let client: HTTPClient
    /// `/events` is silent for hours on a quiet host, so it gets no read timeout.
    private let streamClient: HTTPClient
    private let requestTimeout: TimeAmount = .seconds(30)
    private let negotiated = Mutex<String?>(nil)

    public init(endpoint: DockerEndpoint, logger: Logger, eventLoopGroup: EventLoopGroup = HTTPClient.defaultEventLoopGroup) {
        self.endpoint = endpoint
        self.logger = logger
        let requestConfig = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: requestTimeout)
        )
        let streamConfig = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: nil)
        )
        self.client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: requestConfig, backgroundActivityLogger: logger)
        self.streamClient = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: streamConfig, backgroundActivityLogger: logger)
    }

    /// The version negotiated by the last `negotiate()`, if any.
    public var negotiatedVersion: String? {
        negotiated.withLock { $0 }
    }

    /// GET /_ping; settles on min(engine's Api-Version, our maximum) and
    /// remembers it for later calls. An engine newer than our maximum is
    /// asked its oldest API too (`/version`'s MinAPIVersion): Docker 29.0
    /// refuses every version below 1.44 with a 400, and an engine that one
    /// day refuses our newest is said as such, both versions named, rather
    /// than as the 400 of whichever request came first.
    public func negotiate() async throws -> String {
        let request = EngineRequest.ping
        let response = try await send(request, apiVersion: "", using: client)
        // Docker's own client trusts Api-Version even on a failed ping.
        guard let header = response.headers.first(name: "Api-Version") else {
            try await ensureSuccess(response, request: request.path(apiVersion: ""))
            throw DockerClientError.versionTooOld(engine: "unknown (no Api-Version header)", minimum: Self.minimumAPIVersion)
        }
        guard let engine = APIVersion(header) else {
            throw DockerClientError.badResponse(request: "/_ping", reason: "unparseable Api-Version '\(header)'")
        }
        let minimum = APIVersion(Self.minimumAPIVersion)!
        guard engine >= minimum else {
            throw DockerClientError.versionTooOld(engine: header, minimum: Self.minimumAPIVersion)
        }
        let maximum = APIVersion(Self.maximumAPIVersion)!
        if engine > maximum, let oldest = try await oldestAccepted(), oldest > maximum {
            throw DockerClientError.versionTooNew(engine: header, engineMinimum: oldest.description,
                                                  maximum: Self.maximumAPIVersion, socket: endpoint.socketPath)
        }
        let version = min(engine, maximum).description
        negotiated.withLock { $0 = version }
        logger.debug("negotiated Docker API version", metadata: ["engine": "\(header)", "using": "\(version)"])
        return version
    }

    /// `/version`'s MinAPIVersion; nil when the engine does not say or the
    /// answer does not parse: the requests that follow then say what the
    /// engine thinks.
    private func oldestAccepted() async throws -> APIVersion? {
        let request = EngineRequest.version
        let response = try await send(request, apiVersion: "", using: client)
        guard (200..<300).contains(response.status.code) else {
            // Read and dropped, so the connection is reused.
            _ = try? await response.body.collect(upTo: 64 << 10)
            return nil
        }
        guard let body = try? await collect(response, maxBytes: 1 << 20, request: request.path(apiVersion: "")),
              let wire = try? decode(body, request: request.path(apiVersion: "")) as WireVersion,
              let text = wire.MinAPIVersion else { return nil }
        return APIVersion(text)
    }

    public func listContainers(all: Bool) async throws -> [ContainerSummary] {
        let (path, body) = try await fetch(.listContainers(all: all), maxBytes: 64 << 20)
        guard let body else { throw DockerClientError.httpStatus(code: 404, request: path, message: "not found") }
        let wire: [WireSummary] = try decode(body, request: path)
        return wire.compactMap { row in
            guard let summary = ContainerSummary(row) else {
                logger.warning("engine listed a container with an unexpected id", metadata: ["id": "\(row.Id)"])
                return nil
            }
            return summary
        }
    }

    /// nil when the engine no longer knows the container (404).
    public func inspect(_ id: ContainerID) async throws -> ContainerDetails? {
        let (path, body) = try await fetch(.inspect(id), maxBytes: 16 << 20)
        guard let body else { return nil }
        let wire: WireInspect = try decode(body, request: path)
        guard let details = ContainerDetails(wire), details.id == id else {
            throw DockerClientError.badResponse(request: path, reason: "inspect returned id '\(wire.Id)'")
        }
        return details
    }

    /// A volume's driver and options; nil when the engine has no such volume.
    public func volume(named name: String) async throws -> VolumeInfo? {
        let (path, body) = try await fetch(.volume(name: name), maxBytes: 1 << 20)
        guard let body else { return nil }
        let wire: WireVolume = try decode(body, request: path)
        return VolumeInfo(driver: wire.Driver ?? "", options: wire.Options ?? [:])
    }

    public func info() async throws -> EngineInfo {
        let (path, body) = try await fetch(.info, maxBytes: 4 << 20)
        guard let body else { throw DockerClientError.httpStatus(code: 404, request: path, message: "not found") }
        let wire: WireInfo = try decode(body, request: path)
        // What the engine is, from /version; one that will not say is still described.
        var version: WireVersion?
        if let (versionPath, versionBody) = try? await fetch(.version, maxBytes: 1 << 20), let versionBody {
            version = try? decode(versionBody, request: versionPath)
        }
        return EngineInfo(wire, version, apiVersion: negotiatedVersion)
    }

    /// Container events since `sinceNano` (replayed by the engine) and then live.
    /// Finishes when the engine closes the stream and throws when the connection
    /// fails; the caller reconnects from the last `timeNano` it saw. Lines that
    /// do not decode are logged and skipped. The request is made on first
    /// iteration and cancelled when the stream is dropped or its task cancelled;
    /// events are read from the socket only as fast as they are consumed.
    public func events(sinceNano: Int64?) -> AsyncThrowingStream<EngineEvent, Error> {
        let state = EventStreamState(client: self, request: .events(sinceNano: sinceNano))
        return AsyncThrowingStream(unfolding: { try await state.next() })
    }

    public func shutdown() async throws {
        try await client.shutdown()
        try await streamClient.shutdown()
    }

    // MARK: - The one way out

    func currentVersion() async throws -> String {
        if let version = negotiatedVersion { return version }
        return try await negotiate()
    }

    /// The watching client's requests: always a GET without a body, from an
    /// `EngineRequest`.
    private func send(_ request: EngineRequest, apiVersion: String, using http: HTTPClient) async throws -> HTTPClientResponse {
        try await execute(method: request.method, path: request.path(apiVersion: apiVersion), body: nil, using: http)
    }

    /// The only place an HTTP request to the engine is built, for this
    /// client's `EngineRequest`s (GET) and a `ContainerActionClient`'s
    /// `ContainerActionRequest`s (POST), which share its connections and
    /// negotiated version. Module-internal: nothing outside can send a
    /// method or a path of its own.
    func execute(method: HTTPMethod, path: String, body: [UInt8]?, using http: HTTPClient) async throws -> HTTPClientResponse {
        guard FileManager.default.fileExists(atPath: endpoint.socketPath) else {
            throw DockerClientError.socketMissing(path: endpoint.socketPath)
        }
        guard let url = URL(httpURLWithSocketPath: endpoint.socketPath, uri: path) else {
            throw DockerClientError.invalidSocketPath(endpoint.socketPath)
        }
        var http1 = HTTPClientRequest(url: url.absoluteString)
        http1.method = method
        // AHC sends no Host over a Unix socket, and Go's HTTP/1.1 server rejects a request without one.
        http1.headers.add(name: "Host", value: "docker")
        http1.headers.add(name: "Accept", value: "application/json")
        if let body {
            http1.headers.add(name: "Content-Type", value: "application/json")
            http1.body = .bytes(body)
        }
        do {
            return try await http.execute(http1, timeout: requestTimeout, logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch {
            throw DockerClientError.engineUnreachable(path: endpoint.socketPath, reason: "\(error)")
        }
    }

    fileprivate func openStream(_ request: EngineRequest) async throws -> HTTPClientResponse {
        let version = try await currentVersion()
        let response = try await send(request, apiVersion: version, using: streamClient)
        try await ensureSuccess(response, request: request.path(apiVersion: version))
        return response
    }

    /// A 2xx body, or nil for 404; anything else becomes `httpStatus`.
    private func fetch(_ request: EngineRequest, maxBytes: Int) async throws -> (path: String, body: ByteBuffer?) {
        let version = try await currentVersion()
        let path = request.path(apiVersion: version)
        let response = try await send(request, apiVersion: version, using: client)
        if response.status == .notFound {
            return (path, nil)
        }
        try await ensureSuccess(response, request: path)
        return (path, try await collect(response, maxBytes: maxBytes, request: path))
    }

    func ensureSuccess(_ response: HTTPClientResponse, request: String) async throws {
        guard !(200..<300).contains(response.status.code) else { return }
        var message = response.status.reasonPhrase
        if var body = try? await response.body.collect(upTo: 64 << 10),
           let text = body.readString(length: body.readableBytes), !text.isEmpty {
            struct EngineMessage: Decodable { var message: String }
            if let decoded = try? JSONDecoder().decode(EngineMessage.self, from: Data(text.utf8)) {
                message = decoded.message
            } else {
                message = text.trimmingWhitespace()
            }
        }
        throw DockerClientError.httpStatus(code: Int(response.status.code), request: request, message: message)
    }

    private func collect(_ response: HTTPClientResponse, maxBytes: Int, request: String) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw DockerClientError.badResponse(request: request, reason: "body larger than \(maxBytes) bytes")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw DockerClientError.engineUnreachable(path: endpoint.socketPath, reason: "\(error)")
        }
    }

    private func decode<T: Decodable>(_ body: ByteBuffer, request: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw DockerClientError.badResponse(request: request, reason: "\(error)")
        }
    }

    fileprivate func logUndecodable(_ error: EventDecodeError) {
        logger.warning("skipped an undecodable engine event", metadata: ["error": "\(error)"])
    }

    fileprivate func mapStreamError(_ error: Error) -> Error {
        if error is CancellationError || error is DockerClientError { return error }
        if let error = error as? HTTPClientError, error == .cancelled { return CancellationError() }
        return DockerClientError.engineUnreachable(path: endpoint.socketPath, reason: "event stream: \(error)")
    }
}

/// Pull-based state behind `events`; the stream calls `next()` serially,
/// which is what makes the unchecked Sendable sound.
private final class EventStreamState: @unchecked Sendable {
    private let client: DockerEngineClient
    private let request: EngineRequest
    private var body: HTTPClientResponse.Body.AsyncIterator?
    private var decoder = EventStreamDecoder()
    private var pending: [EngineEvent] = []
    private var pendingIndex = 0
    private var finished = false

    init(client: DockerEngineClient, request: EngineRequest) {
        self.client = client
        self.request = request
    }

    func next() async throws -> EngineEvent? {
        do {
            while true {
                if pendingIndex < pending.count {
                    defer { pendingIndex += 1 }
                    return pending[pendingIndex]
                }
                if finished { return nil }
                if body == nil {
                    body = try await client.openStream(request).body.makeAsyncIterator()
                }
                guard let chunk = try await body!.next() else {
                    finished = true
                    body = nil
                    return nil
                }
                pending.removeAll(keepingCapacity: true)
                pendingIndex = 0
                for result in chunk.withUnsafeReadableBytes({ decoder.feed($0) }) {
                    switch result {
                    case .success(let event): pending.append(event)
                    case .failure(let error): client.logUndecodable(error)
                    }
                }
            }
        } catch {
            finished = true
            body = nil
            throw client.mapStreamError(error)
        }
    }
}
