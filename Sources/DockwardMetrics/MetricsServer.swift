import Dispatch
import DockwardCore
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

public enum MetricsServerError: Error, CustomStringConvertible {
    case badAddress(String)
    case cannotListen(address: String, reason: String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .badAddress(let a):
            "metrics.listen: expected \(ListenAddress.expected), got \"\(a)\""
        case .cannotListen(let a, let reason):
            "cannot listen for metrics on \(a): \(reason)"
        case .alreadyStarted:
            "the metrics server is already running"
        }
    }
}

/// A minimal HTTP/1.1 server for Prometheus: `GET /metrics` answers with
/// the registry rendered against a fresh snapshot of the containers; any
/// other path is 404, any other method 405. It binds exactly the address
/// it is given (keeping it on loopback is the config's job), on one event
/// loop thread of its own. The snapshot is taken on a separate serial
/// queue so a slow daemon queue never blocks the event loop.
///
/// What `start` makes and `stop` ends (the event loop, the listener, the
/// address bound) is under a `Mutex`; the event loop reads none of it.
public final class MetricsServer: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The address as configured, for errors; `address` is nil when it does
    /// not parse (the config loader refuses such text, so only a caller
    /// that skipped the loader sees `badAddress`).
    private let listenText: String
    private let address: ListenAddress?
    private let registry: MetricsRegistry
    private let snapshot: @Sendable () -> [ContainerMetrics]
    private let logger: Logger
    private let renderQueue = DispatchQueue(label: "dockward.metrics.render")
    private let gate = LoopGate()
    private struct Running {
        var group: MultiThreadedEventLoopGroup
        var channel: Channel
        var boundAddress: ListenAddress
    }
    private let running = Mutex<Running?>(nil)

    /// `listen` is `metrics.listen` as the config loader accepted it.
    public convenience init(listen: String, registry: MetricsRegistry,
                            snapshot: @escaping @Sendable () -> [ContainerMetrics], logger: Logger) {
        self.init(listenText: listen, address: ListenAddress(listen), registry: registry, snapshot: snapshot, logger: logger)
    }

    /// Binds `address` as given; port 0 (only reachable this way) lets the
    /// kernel pick a free port, which ``boundAddress`` then reports.
    public convenience init(address: ListenAddress, registry: MetricsRegistry,
                            snapshot: @escaping @Sendable () -> [ContainerMetrics], logger: Logger) {
        self.init(listenText: address.description, address: address, registry: registry, snapshot: snapshot, logger: logger)
    }

    private init(listenText: String, address: ListenAddress?, registry: MetricsRegistry,
                 snapshot: @escaping @Sendable () -> [ContainerMetrics], logger: Logger) {
        self.listenText = listenText
        self.address = address
        self.registry = registry
        self.snapshot = snapshot
        self.logger = logger
    }

    /// The address actually bound (with the real port when 0 was asked), once started.
    public var boundAddress: ListenAddress? { running.withLock { $0?.boundAddress } }

    /// Binds and starts serving; throws ``MetricsServerError`` naming the address.
    public func start() throws {
        guard running.withLock({ $0 == nil }) else { throw MetricsServerError.alreadyStarted }
        guard let address else { throw MetricsServerError.badAddress(listenText) }
        gate.reopen()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let registry = self.registry
        let snapshot = self.snapshot
        let renderQueue = self.renderQueue
        let gate = self.gate
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    // On the channel's event loop: the handler never leaves it.
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(
                        registry: registry, snapshot: snapshot, renderQueue: renderQueue, gate: gate, logger: logger))
                }
            }
            // TCP_NODELAY at IPPROTO_TCP: socketOption would set option 1 at
            // SOL_SOCKET, which is SO_DEBUG, refused (EACCES) without
            // CAP_NET_ADMIN, and NIO then closes every connection it accepts.
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
        do {
            let channel = try bootstrap.bind(host: address.host, port: address.port).wait()
            let bound = ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
            running.withLock { $0 = Running(group: group, channel: channel, boundAddress: bound) }
            logger.info("serving Prometheus metrics on http://\(bound)/metrics")
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsServerError.cannotListen(address: address.description, reason: "\(error)")
        }
    }

    /// Closes the listener and open connections and stops the event loop.
    /// Idempotent. Does not wait for a snapshot in progress (it may be
    /// waiting for the caller's own queue); its answer is dropped.
    public func stop() {
        guard let stopping = running.withLock({ r -> Running? in defer { r = nil }; return r }) else { return }
        gate.close()
        try? stopping.channel.close().wait()
        try? stopping.group.syncShutdownGracefully()
    }

    deinit { stop() }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: MetricsRegistry
    private let snapshot: @Sendable () -> [ContainerMetrics]
    private let renderQueue: DispatchQueue
    private let gate: LoopGate
    private let logger: Logger
    private var head: HTTPRequestHead?

    init(registry: MetricsRegistry, snapshot: @escaping @Sendable () -> [ContainerMetrics],
         renderQueue: DispatchQueue, gate: LoopGate, logger: Logger) {
        self.registry = registry
        self.snapshot = snapshot
        self.renderQueue = renderQueue
        self.gate = gate
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("metrics connection closed: \(error)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break  // no request here has a body worth reading
        case .end:
            guard let h = head else { return }
            head = nil
            respond(to: h, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            send(status: .notFound, body: Array("not found; metrics are at /metrics\n".utf8),
                 keepAlive: head.isKeepAlive, version: head.version, method: head.method, context: context)
            return
        }
        guard head.method == .GET else {
            send(status: .methodNotAllowed, body: Array("only GET\n".utf8), keepAlive: head.isKeepAlive,
                 version: head.version, method: head.method, context: context, extra: [("Allow", "GET")])
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let registry = self.registry
        let snapshot = self.snapshot
        let keepAlive = head.isKeepAlive
        let version = head.version
        let gate = self.gate
        renderQueue.async {
            guard gate.isOpen else { return }
            let body = registry.renderBytes(containers: snapshot())
            gate.ifOpen {
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.send(status: .ok, body: body, keepAlive: keepAlive, version: version, context: context,
                                 contentType: MetricsServer.contentType)
                }
            }
        }
    }

    private func send(status: HTTPResponseStatus, body: [UInt8], keepAlive: Bool, version: HTTPVersion,
                      method: HTTPMethod = .GET, context: ChannelHandlerContext, contentType: String = "text/plain; charset=utf-8",
                      extra: [(String, String)] = []) {
        guard context.channel.isActive else { return }
        let body = method == .HEAD ? [] : body  // HEAD: the headers only
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        for (k, v) in extra { headers.add(name: k, value: v) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Closed once the server stops, so a snapshot that finishes late does not
/// schedule work on an event loop that has shut down.
final class LoopGate: Sendable {
    private let open = Mutex(true)

    var isOpen: Bool { open.withLock { $0 } }

    func close() { open.withLock { $0 = false } }

    func reopen() { open.withLock { $0 = true } }

    /// Runs `body` only while open, holding the gate so `close()` waits for it.
    func ifOpen(_ body: () -> Void) {
        open.withLock { isOpen in if isOpen { body() } }
    }
}
