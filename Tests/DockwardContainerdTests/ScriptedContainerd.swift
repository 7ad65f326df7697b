@testable import DockwardContainerd
import DockwardCore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import SwiftProtobuf
import Synchronization

/// A containerd that says what the test scripts, over the same generated
/// services and a real gRPC server on a Unix socket: the runtime under test
/// speaks to it exactly as to containerd (HTTP/2, protobuf, the namespace
/// header). Containers, tasks and events are set by the test; the filters
/// of each subscription are applied as containerd applies them (the
/// filters ORed, the parts of one ANDed; `==` and `~=` only).
final class ScriptedContainerd: Sendable {
    struct State {
        var containers: [String: [String: Containerd_Services_Containers_V1_Container]] = [:]
        var tasks: [String: Containerd_Services_Tasks_V1_Process] = [:]
        var subscribers: [Int: (filters: [String], continuation: AsyncStream<Containerd_Services_Events_V1_Envelope>.Continuation)] = [:]
        var nextSubscriber = 0
        var subscriptions: [[String]] = []
        var namespaceHeaders: [String] = []
    }

    let socketPath: String
    let version: String
    let state = Mutex(State())
    private let server = Mutex<(GRPCServer<HTTP2ServerTransport.Posix>, Task<Void, Never>)?>(nil)

    init(socketPath: String, version: String = "v2.1.4") {
        self.socketPath = socketPath
        self.version = version
    }

    /// Listens on the socket (again, after `stop`), and returns once it does.
    func start() async throws {
        unlink(socketPath)
        let transport = HTTP2ServerTransport.Posix(address: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        let services: [any RegistrableRPCService] = [
            Events(owner: self), Containers(owner: self), Tasks(owner: self), Version(owner: self), Namespaces(owner: self),
        ]
        let server = GRPCServer(transport: transport, services: services)
        let task = Task { _ = try? await server.serve() }
        self.server.withLock { $0 = (server, task) }
        _ = try await transport.listeningAddress
    }

    /// Stops serving, ending every subscription as a containerd restart does.
    func stop() async {
        let running = server.withLock { current -> (GRPCServer<HTTP2ServerTransport.Posix>, Task<Void, Never>)? in
            defer { current = nil }
            return current
        }
        state.withLock { state in
            for (_, subscriber) in state.subscribers { subscriber.continuation.finish() }
            state.subscribers = [:]
        }
        guard let (server, task) = running else { return }
        server.beginGracefulShutdown()
        await task.value
    }

    // MARK: What the test scripts

    /// Adds (or replaces) a container, with a task in `status` (nil: none).
    func add(_ id: String, namespace: String = "k8s.io", labels: [String: String] = [:], image: String = "busybox:latest",
             spec: String = "{}", taskStatus: Int32? = 2, pid: UInt32 = 4242) {
        var container = Containerd_Services_Containers_V1_Container()
        container.id = id
        container.labels = labels
        container.image = image
        container.spec.typeURL = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
        container.spec.value = Data(spec.utf8)
        state.withLock { state in
            state.containers[namespace, default: [:]][id] = container
            if let taskStatus {
                var process = Containerd_Services_Tasks_V1_Process()
                process.containerID = id
                process.pid = pid
                process.status = taskStatus
                state.tasks[id] = process
            } else {
                state.tasks[id] = nil
            }
        }
    }

    func remove(_ id: String, namespace: String = "k8s.io") {
        state.withLock { state in
            state.containers[namespace]?[id] = nil
            state.tasks[id] = nil
        }
    }

    /// Sends an event to every subscription whose filters take it.
    func publish(_ topic: String, namespace: String = "k8s.io", payload: some SwiftProtobuf.Message, timeNano: Int64 = 1_700_000_000_123_456_789) throws {
        var envelope = Containerd_Services_Events_V1_Envelope()
        envelope.topic = topic
        envelope.namespace = namespace
        envelope.timestamp = Google_Protobuf_Timestamp(seconds: timeNano / 1_000_000_000, nanos: Int32(timeNano % 1_000_000_000))
        envelope.event = try Google_Protobuf_Any(message: payload)
        publish(envelope)
    }

    func publish(_ envelope: Containerd_Services_Events_V1_Envelope) {
        state.withLock { state in
            for (_, subscriber) in state.subscribers where Self.accepts(subscriber.filters, envelope) {
                subscriber.continuation.yield(envelope)
            }
        }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// containerd's filter rule for the two operators the runtime uses.
    static func accepts(_ filters: [String], _ envelope: Containerd_Services_Events_V1_Envelope) -> Bool {
        guard !filters.isEmpty else { return true }
        return filters.contains { filter in
            filter.split(separator: ",").allSatisfy { part in
                if let range = part.range(of: "~=") {
                    let field = part[..<range.lowerBound], pattern = part[range.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    let value = field == "topic" ? envelope.topic : envelope.namespace
                    return value.range(of: pattern, options: .regularExpression) != nil
                }
                if let range = part.range(of: "==") {
                    let field = part[..<range.lowerBound], wanted = String(part[range.upperBound...])
                    return (field == "topic" ? envelope.topic : envelope.namespace) == wanted
                }
                return false
            }
        }
    }

    // MARK: The services

    func namespace(_ metadata: Metadata) throws -> String {
        guard let namespace = metadata[stringValues: ContainerdRuntime.namespaceHeader].first(where: { _ in true }) else {
            throw RPCError(code: .failedPrecondition, message: "namespace is required")
        }
        state.withLock { $0.namespaceHeaders.append(namespace) }
        return namespace
    }

    struct Events: Containerd_Services_Events_V1_Events.ServiceProtocol {
        let owner: ScriptedContainerd
        func subscribe(request: ServerRequest<Containerd_Services_Events_V1_SubscribeRequest>,
                       context: ServerContext) async throws -> StreamingServerResponse<Containerd_Services_Events_V1_Envelope> {
            let (stream, continuation) = AsyncStream<Containerd_Services_Events_V1_Envelope>.makeStream()
            let filters = request.message.filters
            let key = owner.state.withLock { state in
                let key = state.nextSubscriber
                state.nextSubscriber += 1
                state.subscribers[key] = (filters, continuation)
                state.subscriptions.append(filters)
                return key
            }
            let owner = self.owner
            return StreamingServerResponse { writer in
                defer { _ = owner.state.withLock { $0.subscribers.removeValue(forKey: key) } }
                for await envelope in stream { try await writer.write(envelope) }
                return [:]
            }
        }
    }

    struct Containers: Containerd_Services_Containers_V1_Containers.ServiceProtocol {
        let owner: ScriptedContainerd
        func get(request: ServerRequest<Containerd_Services_Containers_V1_GetContainerRequest>,
                 context: ServerContext) async throws -> ServerResponse<Containerd_Services_Containers_V1_GetContainerResponse> {
            let namespace = try owner.namespace(request.metadata)
            guard let container = owner.state.withLock({ $0.containers[namespace]?[request.message.id] }) else {
                throw RPCError(code: .notFound, message: "container \"\(request.message.id)\" in namespace \"\(namespace)\": not found")
            }
            var answer = Containerd_Services_Containers_V1_GetContainerResponse()
            answer.container = container
            return ServerResponse(message: answer)
        }

        func list(request: ServerRequest<Containerd_Services_Containers_V1_ListContainersRequest>,
                  context: ServerContext) async throws -> ServerResponse<Containerd_Services_Containers_V1_ListContainersResponse> {
            let namespace = try owner.namespace(request.metadata)
            var answer = Containerd_Services_Containers_V1_ListContainersResponse()
            answer.containers = owner.state.withLock { ($0.containers[namespace] ?? [:]).values.sorted { $0.id < $1.id } }
            return ServerResponse(message: answer)
        }
    }

    struct Tasks: Containerd_Services_Tasks_V1_Tasks.ServiceProtocol {
        let owner: ScriptedContainerd
        func get(request: ServerRequest<Containerd_Services_Tasks_V1_GetRequest>,
                 context: ServerContext) async throws -> ServerResponse<Containerd_Services_Tasks_V1_GetResponse> {
            _ = try owner.namespace(request.metadata)
            guard let process = owner.state.withLock({ $0.tasks[request.message.containerID] }) else {
                throw RPCError(code: .notFound, message: "no running task found: not found")
            }
            var answer = Containerd_Services_Tasks_V1_GetResponse()
            answer.process = process
            return ServerResponse(message: answer)
        }
    }

    struct Version: Containerd_Services_Version_V1_Version.ServiceProtocol {
        let owner: ScriptedContainerd
        func version(request: ServerRequest<Google_Protobuf_Empty>,
                     context: ServerContext) async throws -> ServerResponse<Containerd_Services_Version_V1_VersionResponse> {
            var answer = Containerd_Services_Version_V1_VersionResponse()
            answer.version = owner.version
            answer.revision = "scripted"
            return ServerResponse(message: answer)
        }
    }

    struct Namespaces: Containerd_Services_Namespaces_V1_Namespaces.ServiceProtocol {
        let owner: ScriptedContainerd
        func list(request: ServerRequest<Containerd_Services_Namespaces_V1_ListNamespacesRequest>,
                  context: ServerContext) async throws -> ServerResponse<Containerd_Services_Namespaces_V1_ListNamespacesResponse> {
            var answer = Containerd_Services_Namespaces_V1_ListNamespacesResponse()
            answer.namespaces = owner.state.withLock { $0.containers.keys.sorted() }.map {
                var namespace = Containerd_Services_Namespaces_V1_Namespace()
                namespace.name = $0
                return namespace
            }
            return ServerResponse(message: answer)
        }
    }
}
