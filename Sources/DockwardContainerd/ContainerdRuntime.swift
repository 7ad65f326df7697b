import DockwardCore
import FoundationEssentials
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Logging
import SwiftProtobuf
import Synchronization

/// containerd as a `ContainerRuntime`: its own gRPC API over its Unix
/// socket (the event service, containers with their OCI specs, tasks,
/// namespaces), never the CRI API, whose event channel (containerd 1.x's
/// `GetContainerEvents`) is one shared queue a second reader steals
/// kubelet's events from. Read-only: no call here changes anything.
///
/// containerd keeps no past events: a (re)subscription starts now, and
/// the engine link's listing after each one finds what came in between.
public final class ContainerdRuntime: ContainerRuntime {
    public let socketPath: String
    /// The namespaces followed; empty: every one, listed at each listing.
    public let namespaces: [String]
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, Never>
    private let logger: Logger
    /// The namespace of each container seen (an id is unique per namespace
    /// only; kubelet's are random 64-hex, so the first home found is kept).
    private let homes = Mutex<[ContainerID: String]>([:])

    /// A call that takes longer is an engine out of reach.
    static let callTimeout = Duration.seconds(10)
    /// The header containerd reads a call's namespace from.
    static let namespaceHeader = "containerd-namespace"

    public init(socketPath: String, namespaces: [String] = [], logger: Logger = Logger(label: "dockward.engine")) throws {
        self.socketPath = socketPath
        self.namespaces = namespaces
        self.logger = logger
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socketPath),
                                                       transportSecurity: .plaintext)
        let client = GRPCClient(transport: transport)
        self.client = client
        // Keeps the connection, and makes it again after containerd restarts.
        connections = Task { try? await client.runConnections() }
    }

    /// A listing's answer carries every container's OCI spec (10-20 KB
    /// each): far past gRPC's usual 4 MiB on a node with a few hundred.
    /// containerd's own client takes 16 MiB; a listing may take more.
    static let maxAnswerBytes = 64 << 20

    private var unaryOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = Self.callTimeout
        options.waitForReady = false  // fail at once while containerd is down: an outage
        options.maxResponseMessageBytes = Self.maxAnswerBytes
        // The NIO transport bounds a stream's inbound messages by this one.
        options.maxRequestMessageBytes = Self.maxAnswerBytes
        return options
    }

    private func metadata(_ namespace: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString(namespace, forKey: Self.namespaceHeader)
        return metadata
    }

    /// `containerd <version>` from its version service.
    public func connect() async throws -> RuntimeInfo {
        let version = try await Containerd_Services_Version_V1_Version.Client(wrapping: client)
            .version(Google_Protobuf_Empty(), options: unaryOptions)
        return RuntimeInfo(product: "containerd \(version.version)", apiVersion: nil, dataRoot: nil)
    }

    /// The configured namespaces, or every one containerd has now.
    func followedNamespaces() async throws -> [String] {
        guard namespaces.isEmpty else { return namespaces }
        let answer = try await Containerd_Services_Namespaces_V1_Namespaces.Client(wrapping: client)
            .list(Containerd_Services_Namespaces_V1_ListNamespacesRequest(), options: unaryOptions)
        return answer.namespaces.map(\.name).sorted()
    }

    /// Every container of the followed namespaces whose id is a container
    /// id as dockward knows them (64 hex digits: kubelet's, Docker's,
    /// nerdctl's); others (`ctr run` with a name) are logged once and skipped.
    public func listContainers() async throws -> [ContainerID] {
        let containers = Containerd_Services_Containers_V1_Containers.Client(wrapping: client)
        var ids: [ContainerID] = []
        var found: [ContainerID: String] = [:]
        for namespace in try await followedNamespaces() {
            let answer = try await containers.list(Containerd_Services_Containers_V1_ListContainersRequest(),
                                                   metadata: metadata(namespace), options: unaryOptions)
            for container in answer.containers {
                guard let id = ContainerID(container.id) else {
                    logger.debug("containerd container \(namespace)/\(container.id) has no 64-hex id: not followed")
                    continue
                }
                if found[id] == nil { found[id] = namespace; ids.append(id) }
            }
        }
        homes.withLock { homes in
            homes = homes.merging(found) { _, listed in listed }
        }
        return ids
    }

    /// The container's record and spec, and its task's state and pid.
    public func describe(_ id: ContainerID, refused: @escaping @Sendable (String) -> Void) async throws -> ContainerDetails? {
        let known = homes.withLock { $0[id] }
        let candidates: [String]
        if let known { candidates = [known] } else { candidates = try await followedNamespaces() }
        let containers = Containerd_Services_Containers_V1_Containers.Client(wrapping: client)
        for namespace in candidates {
            var request = Containerd_Services_Containers_V1_GetContainerRequest()
            request.id = id.full
            let record: Containerd_Services_Containers_V1_Container
            do {
                record = try await containers.get(request, metadata: metadata(namespace), options: unaryOptions).container
            } catch let error as RPCError where error.code == .notFound {
                continue
            }
            homes.withLock { $0[id] = namespace }
            let task = try await self.task(of: id, in: namespace)
            do {
                return try ContainerdSpec.details(id: id, labels: record.labels, image: record.image,
                                                  specJSON: record.spec.value, state: task.state, mainPid: task.pid)
            } catch {
                throw ContainerdSpecUnreadable(id: id, namespace: namespace, underlying: error)
            }
        }
        return nil
    }

    /// Its task's state as Docker words it (`running`, `exited`, ...), and
    /// its main process while it runs; `created` without a task.
    func task(of id: ContainerID, in namespace: String) async throws -> (state: String, pid: Int32?) {
        var request = Containerd_Services_Tasks_V1_GetRequest()
        request.containerID = id.full
        do {
            let process = try await Containerd_Services_Tasks_V1_Tasks.Client(wrapping: client)
                .get(request, metadata: metadata(namespace), options: unaryOptions).process
            let state = Self.stateWords[Int(process.status)] ?? "unknown"
            return (state, state == "running" && process.pid > 0 ? Int32(clamping: process.pid) : nil)
        } catch let error as RPCError where error.code == .notFound {
            return ("created", nil)
        }
    }

    /// containerd's task status by number (api/types/task/task.proto).
    static let stateWords: [Int: String] = [1: "created", 2: "running", 3: "exited", 4: "paused", 5: "pausing"]

    /// The event filters: container and task topics, in the followed
    /// namespaces (containerd ORs the filters and ANDs each one's parts).
    var subscriptionFilters: [String] {
        let topics = [#"topic~="^/containers/""#, #"topic~="^/tasks/""#]
        guard !namespaces.isEmpty else { return topics }
        return namespaces.flatMap { namespace in topics.map { "namespace==\(namespace),\($0)" } }
    }

    /// containerd's events from now (it keeps none past: `sinceNano` cannot
    /// be honoured, and the listing after each subscription makes up for it).
    public func events(sinceNano: Int64?) -> AsyncThrowingStream<RuntimeEvent, Error> {
        var subscription = Containerd_Services_Events_V1_SubscribeRequest()
        subscription.filters = subscriptionFilters
        let request = subscription
        let events = Containerd_Services_Events_V1_Events.Client(wrapping: client)
        var streamOptions = CallOptions.defaults
        streamOptions.waitForReady = false
        let options = streamOptions
        return AsyncThrowingStream { continuation in
            let reader = Task {
                do {
                    try await events.subscribe(request, options: options) { response in
                        for try await envelope in response.messages {
                            let event = self.typed(envelope)
                            continuation.yield(event)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }

    /// One envelope as dockward's event; remembers where a new container
    /// lives. A payload that does not decode is logged and dates the stream.
    func typed(_ envelope: Containerd_Services_Events_V1_Envelope) -> RuntimeEvent {
        let event = ContainerdEvents.typed(envelope)
        if event.kind == .other, event.id == nil, ContainerdEvents.followedTopics.contains(envelope.topic) {
            logger.warning("skipped a containerd event on \(envelope.topic) in \(envelope.namespace) whose payload does not decode")
        }
        if let id = event.id, !envelope.namespace.isEmpty {
            if event.kind == .created { homes.withLock { $0[id] = envelope.namespace } }
            if event.kind == .removed { homes.withLock { _ = $0.removeValue(forKey: id) } }
        }
        return event
    }

    /// containerd has no named volumes: every mount is a bind in the spec.
    public func namedVolume(_ name: String) async throws -> NamedVolume? { nil }

    /// An answer (not the one asked for) rather than containerd out of reach.
    public func isRefusal(_ error: Error) -> Bool {
        guard let error = error as? RPCError else { return error is ContainerdSpecUnreadable }
        switch error.code {
        case .unavailable, .deadlineExceeded, .cancelled, .aborted, .resourceExhausted: return false
        default: return true
        }
    }

    public func shutdown() async throws {
        client.beginGracefulShutdown()
        await connections.value
    }
}

/// A container whose spec containerd gave is not an OCI spec dockward can read.
public struct ContainerdSpecUnreadable: Error, CustomStringConvertible {
    public let id: ContainerID
    public let namespace: String
    public let underlying: Error
    public var description: String {
        "containerd's spec of container \(namespace)/\(id.short) is not an OCI runtime spec: \(underlying)"
    }
}

/// containerd's event envelopes as dockward's events: pure, so the
/// scripted streams of the tests and the fuzzers read them the same way.
public enum ContainerdEvents {
    /// The topics with a container in their payload.
    public static let followedTopics: Set<String> = [
        "/containers/create", "/containers/update", "/containers/delete",
        "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete", "/tasks/oom",
    ]

    static func typed(_ envelope: Containerd_Services_Events_V1_Envelope) -> RuntimeEvent {
        let time = envelope.hasTimestamp
            ? envelope.timestamp.seconds * 1_000_000_000 + Int64(envelope.timestamp.nanos) : 0
        let payload = envelope.event.value
        func id(_ text: String) -> ContainerID? { ContainerID(text) }
        let typed: (RuntimeEvent.Kind, ContainerID?)?
        do {
            switch envelope.topic {
            case "/containers/create":
                typed = (.created, id(try Containerd_Events_ContainerCreate(serializedBytes: payload).id))
            case "/containers/update":
                typed = (.updated, id(try Containerd_Events_ContainerUpdate(serializedBytes: payload).id))
            case "/containers/delete":
                typed = (.removed, id(try Containerd_Events_ContainerDelete(serializedBytes: payload).id))
            case "/tasks/create":
                typed = (.other, id(try Containerd_Events_TaskCreate(serializedBytes: payload).containerID))
            case "/tasks/start":
                typed = (.started, id(try Containerd_Events_TaskStart(serializedBytes: payload).containerID))
            case "/tasks/exit":
                // An exec's process ending is no death of the container.
                let exit = try Containerd_Events_TaskExit(serializedBytes: payload)
                typed = (exit.id.isEmpty || exit.id == exit.containerID ? .died : .other, id(exit.containerID))
            case "/tasks/delete":
                typed = (.other, id(try Containerd_Events_TaskDelete(serializedBytes: payload).containerID))
            case "/tasks/oom":
                typed = (.other, id(try Containerd_Events_TaskOOM(serializedBytes: payload).containerID))
            default:
                typed = nil
            }
        } catch {
            typed = nil
        }
        guard let (kind, id) = typed, let id else { return RuntimeEvent(.other, id: nil, timeNano: time) }
        return RuntimeEvent(kind, id: id, timeNano: time)
    }
}

/// containerd: its runtime over its gRPC socket, and the CRI plugin's
/// cgroup names.
public struct ContainerdEngineModule: EngineModule {
    public init() {}
    public var name: String { "containerd" }
    public var cgroupNaming: any CgroupNaming { ContainerdCgroupNaming() }
    public func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime {
        try ContainerdRuntime(socketPath: endpoint.socketPath, namespaces: endpoint.namespaces)
    }
}
