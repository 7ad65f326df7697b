import AsyncHTTPClient
import DockwardCore
import DockwardSystem
import NIOCore
import NIOHTTP1
import Synchronization

/// What the delivery tells the daemon. It comes from the delivery's tasks
/// or from inside `submit`, on any thread: the receiver hops to its own
/// queue and must not block.
public enum AlertmanagerDeliveryEvent: Equatable, Sendable {
    /// The first failed attempt of an outage (the first attempt ever, or the
    /// first after a success): no answer, or 5xx / 429. Retries are silent.
    case lost(url: String, reason: String)
    /// The first answer after `lost`; `outage` in nanoseconds since it.
    case back(url: String, outage: Int64)
    /// The Alertmanager refused a batch (4xx other than 429, or a
    /// redirect): its alerts are given up and counted failed. Once per batch.
    case rejected(url: String, status: Int, alerts: Int, reason: String)
    /// `count` new alerts found the queue at `queue_capacity` and were not kept.
    case dropped(url: String, count: Int)
    /// The URL's figures after they changed.
    case stats(url: String, AlertmanagerDeliveryStats)
    /// A reload took the URL out; its pending alerts are gone with it.
    case removed(url: String)
}

/// Pushes alert states to every configured Alertmanager (API v2), off the
/// daemon's queue: `submit` only merges under a lock and wakes the senders,
/// so an Alertmanager that is slow, down or refusing never holds a poll.
///
/// Per URL there is a queue of pending states keyed by the alert's identity
/// (its label set), where the latest state wins, and one sender task that
/// POSTs them in batches, removes what was delivered, and backs off while
/// the Alertmanager cannot be reached. Each URL has its own HTTP client, so
/// one's connection pool and `server_name` mapping never touch another's.
///
/// Its state is behind one lock, not on the daemon's queue: the senders
/// would otherwise hop to the queue for every answer, and the daemon's
/// stop could not wait for the last delivery on the queue it runs on.
/// `flush` or `shutdown` must end it: each client has to be shut down.
public final class AlertmanagerDelivery: Sendable {
    /// Alertmanager takes any number of alerts per POST; Prometheus sends at
    /// most `max_batch_size` (1000 by default) so one huge body never waits
    /// behind a slow parse or hits a proxy's size limit.
    static let maxBatch = 1000
    /// The first retry after a failed attempt, doubling to `resend_interval`:
    /// a restart of Alertmanager is caught in a second or two, and a dead one
    /// costs no more than the resends an open episode makes anyway.
    static let firstRetry = Interval.seconds(1)
    /// Of a refusal's body, what is kept as its reason (Alertmanager's
    /// answers are one line; a proxy's error page is not worth more).
    static let reasonLimit = 512

    private struct Entry: Sendable {
        var alert: AlertmanagerAlert
        /// Order of arrival; tells a state from the one that replaced it.
        var serial: UInt64
    }

    private enum Reachability {
        case untried
        case up
        case down(since: Int64)
    }

    /// One Alertmanager.
    private struct Queue {
        var endpoint: AlertmanagerEndpoint
        var client: HTTPClient
        var sender: Task<Void, Never>?
        var wake: AsyncStream<Void>.Continuation
        /// Which sender is this queue's: a replaced one may still answer.
        var generation: UInt64
        var pending: [String: Entry] = [:]
        var stats = AlertmanagerDeliveryStats()
        var reachability = Reachability.untried
        /// POSTs settled, whatever their outcome.
        var attempts = 0

        /// Merges `alerts` (identity first); returns how many new ones found no room.
        mutating func merge(_ alerts: [(identity: String, alert: AlertmanagerAlert)], serial: inout UInt64,
                            capacity: Int) -> Int {
            var dropped = 0
            for (identity, alert) in alerts {
                serial += 1
                if pending[identity] != nil || pending.count < capacity {
                    pending[identity] = Entry(alert: alert, serial: serial)
                } else {
                    dropped += 1
                }
            }
            stats.dropped += dropped
            stats.pending = pending.count
            return dropped
        }

        /// The next batch: the oldest states, or at stop the resolved ones
        /// first (a firing alert left behind expires at its `endsAt`; a
        /// resolution left behind keeps it firing until then).
        func batch(resolvedFirst now: Int64?) -> [(identity: String, entry: Entry)] {
            var all = pending.map { (identity: $0.key, entry: $0.value) }
            if let now {
                all.sort {
                    let (a, b) = ($0.entry.alert.isResolved(at: now), $1.entry.alert.isResolved(at: now))
                    return a != b ? a : $0.entry.serial < $1.entry.serial
                }
            } else {
                all.sort { $0.entry.serial < $1.entry.serial }
            }
            return Array(all.prefix(AlertmanagerDelivery.maxBatch))
        }

        /// Takes out what a batch delivered or gave up, unless a newer state
        /// of the same alert came in meanwhile (that one still has to go).
        mutating func remove(_ batch: [(identity: String, entry: Entry)]) {
            for (identity, entry) in batch where pending[identity]?.serial == entry.serial {
                pending.removeValue(forKey: identity)
            }
            stats.pending = pending.count
        }
    }

    private struct State {
        /// For `queue_capacity` and `resend_interval`, read at each use.
        var config: AlertmanagerConfig
        /// Keyed by the configured URL, in the config's order.
        var queues: [String: Queue] = [:]
        var order: [String] = []
        var serial: UInt64 = 0
        var generation: UInt64 = 0
        /// Senders of replaced or removed queues, until their client is shut down.
        var retiring: [UInt64: Task<Void, Never>] = [:]
        /// Set by `flush`: the senders are stopped and a reload starts none.
        var isStopping = false
        /// Set by the first `shutdown()`; later calls wait for the same one.
        var shutdown: Task<Void, Never>?
    }

    private enum Outcome {
        case delivered
        case rejected(status: Int, reason: String)
        case retry(reason: String)
        case cancelled
    }

    private let state: Mutex<State>
    private let report: @Sendable (AlertmanagerDeliveryEvent) -> Void

    /// Starts a sender per URL of `config`.
    init(config: AlertmanagerConfig, credentials: AlertmanagerCredentials,
         report: @escaping @Sendable (AlertmanagerDeliveryEvent) -> Void) {
        self.report = report
        state = Mutex(State(config: config))
        apply(config, credentials: credentials)
    }

    // MARK: The daemon's side

    /// Queues `alerts` for every Alertmanager and wakes the senders. Never
    /// blocks beyond the merge: call it from the daemon's queue.
    public func submit(_ alerts: [AlertmanagerAlert]) {
        guard !alerts.isEmpty else { return }
        // The identities are built before the lock, once for every URL.
        let keyed = alerts.map { (identity: $0.identity, alert: $0) }
        let events: [AlertmanagerDeliveryEvent] = state.withLock { s in
            guard s.shutdown == nil else { return [] }
            var events: [AlertmanagerDeliveryEvent] = []
            let capacity = max(0, s.config.queueCapacity)
            for url in s.order {
                let dropped = s.queues[url]!.merge(keyed, serial: &s.serial, capacity: capacity)
                let queue = s.queues[url]!
                queue.wake.yield()
                if dropped > 0 { events.append(.dropped(url: queue.endpoint.displayURL, count: dropped)) }
                events.append(.stats(url: queue.endpoint.displayURL, queue.stats))
            }
            return events
        }
        events.forEach(report)
    }

    /// Each URL's figures, by configured URL; nil for a URL not configured.
    func stats(for url: String) -> AlertmanagerDeliveryStats? {
        state.withLock { $0.queues[url]?.stats }
    }

    /// POSTs to `url` settled so far, whatever their outcome.
    func attempts(for url: String) -> Int { state.withLock { $0.queues[url]?.attempts ?? 0 } }

    /// Every configured URL's figures, by display URL (the metrics' label).
    var allStats: [(url: String, stats: AlertmanagerDeliveryStats)] {
        state.withLock { s in s.order.compactMap { s.queues[$0].map { ($0.endpoint.displayURL, $0.stats) } } }
    }

    /// Takes a reloaded section and freshly read credentials: a new URL gets
    /// a queue and a sender, a removed one loses both (and its pending
    /// alerts), and a URL whose endpoint changed (TLS, auth, timeout,
    /// prefix) gets a new client and sender with its queue kept. The old
    /// client is shut down once its sender has stopped.
    func apply(_ config: AlertmanagerConfig, credentials: AlertmanagerCredentials) {
        let events: [AlertmanagerDeliveryEvent] = state.withLock { s in
            guard s.shutdown == nil, !s.isStopping else { return [] }
            s.config = config
            var wanted: [String] = []
            for url in config.urls where !wanted.contains(url) { wanted.append(url) }
            var events: [AlertmanagerDeliveryEvent] = []
            for url in s.order where !wanted.contains(url) {
                let queue = s.queues.removeValue(forKey: url)!
                retire(queue, in: &s)
                events.append(.removed(url: queue.endpoint.displayURL))
            }
            for url in wanted {
                let endpoint = AlertmanagerEndpoint(url: url, config: config, credentials: credentials)
                if let old = s.queues[url], old.endpoint == endpoint { continue }
                s.generation += 1
                let (stream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                        configuration: endpoint.clientConfiguration)
                var queue: Queue
                if let old = s.queues[url] {
                    retire(old, in: &s)
                    queue = old
                    queue.endpoint = endpoint
                    queue.client = client
                    queue.wake = wake
                    queue.generation = s.generation
                } else {
                    queue = Queue(endpoint: endpoint, client: client, wake: wake, generation: s.generation)
                }
                let generation = s.generation
                queue.sender = Task(priority: WorkPriority.tasks) { [self] in
                    await send(url: url, generation: generation, wakes: stream)
                }
                wake.yield()
                s.queues[url] = queue
            }
            s.order = wanted
            return events
        }
        events.forEach(report)
    }

    /// At stop: stops the senders, makes one more attempt at every pending
    /// state (resolutions first), bounded by `limit` in all, then shuts the
    /// clients down. Returns what was left undelivered, by display URL
    /// (only URLs with something left).
    @discardableResult
    func flush(within limit: Interval) async -> [String: Int] {
        let deadline = SystemClock.monotonicNanos() + limit.nanoseconds
        let senders: [Task<Void, Never>] = state.withLock { s in
            guard s.shutdown == nil else { return [] }
            s.isStopping = true
            var senders: [Task<Void, Never>] = []
            for url in s.order {
                if let sender = s.queues[url]?.sender { sender.cancel(); senders.append(sender) }
                s.queues[url]?.sender = nil
                s.queues[url]?.wake.finish()
            }
            return senders
        }
        for sender in senders { await sender.value }
        let urls = state.withLock { s in s.shutdown == nil ? s.order : [] }
        if !urls.isEmpty {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { each in
                        for url in urls { each.addTask { await self.drain(url: url, deadline: deadline) } }
                    }
                }
                group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, limit.nanoseconds))) }
                // Whichever ends first: every queue tried, or the time is up
                // (then the requests under way are cancelled).
                _ = await group.next()
                group.cancelAll()
            }
        }
        let left: [String: Int] = state.withLock { s in
            var left: [String: Int] = [:]
            for url in s.order { if let q = s.queues[url], !q.pending.isEmpty { left[q.endpoint.displayURL] = q.pending.count } }
            return left
        }
        await shutdown()
        return left
    }

    /// Stops every sender (what is pending stays unsent) and shuts every
    /// client down. Safe to call more than once and concurrently: later
    /// calls wait for the first. `submit` and `apply` do nothing after it.
    func shutdown() async {
        let task: Task<Void, Never> = state.withLock { s in
            if let running = s.shutdown { return running }
            var senders: [Task<Void, Never>] = Array(s.retiring.values)
            var clients: [HTTPClient] = []
            for url in s.order {
                guard let queue = s.queues[url] else { continue }
                queue.sender?.cancel()
                queue.wake.finish()
                if let sender = queue.sender { senders.append(sender) }
                s.queues[url]?.sender = nil
                clients.append(queue.client)
            }
            let task = Task {
                for sender in senders { await sender.value }
                for client in clients { try? await client.shutdown() }
            }
            s.shutdown = task
            return task
        }
        await task.value
    }

    // MARK: Senders

    /// Stops `queue`'s sender and shuts its client down once it has
    /// stopped; kept in `retiring` so `shutdown` can wait for it.
    private func retire(_ queue: Queue, in s: inout State) {
        queue.sender?.cancel()
        queue.wake.finish()
        s.generation += 1
        let id = s.generation
        let sender = queue.sender, client = queue.client
        s.retiring[id] = Task(priority: WorkPriority.tasks) { [self] in
            await sender?.value
            try? await client.shutdown()
            state.withLock { _ = $0.retiring.removeValue(forKey: id) }
        }
    }

    /// One URL's sender: waits for pending states, POSTs them batch by
    /// batch, backs off after a failure. Ends when cancelled (a reload, the
    /// stop) or when its queue is no longer its own.
    private func send(url: String, generation: UInt64, wakes: AsyncStream<Void>) async {
        var wakeups = wakes.makeAsyncIterator()
        var delay = Self.firstRetry
        while !Task.isCancelled {
            let work: (endpoint: AlertmanagerEndpoint, client: HTTPClient, batch: [(identity: String, entry: Entry)])? =
                state.withLock { s in
                    guard let q = s.queues[url], q.generation == generation else { return nil }
                    return (q.endpoint, q.client, q.batch(resolvedFirst: nil))
                }
            guard let work else { return }
            if work.batch.isEmpty {
                // Nothing to send: sleep until `submit` (or the end) wakes us.
                guard await wakeups.next() != nil else { return }
                continue
            }
            let outcome = await post(work.batch, to: work.endpoint, using: work.client, timeout: work.endpoint.timeout)
            settle(outcome, of: work.batch, url: url)
            switch outcome {
            case .cancelled:
                return
            case .retry:
                let cap = state.withLock { $0.config.resendInterval }
                let wait = min(delay, max(cap, .milliseconds(1)))
                try? await Task.sleep(nanoseconds: UInt64(wait.nanoseconds))
                delay = min(Interval(nanoseconds: delay.nanoseconds * 2), max(cap, .milliseconds(1)))
            case .delivered, .rejected:
                delay = Self.firstRetry
            }
        }
    }

    /// At stop, one try for each batch of `url`'s queue until one fails or
    /// the deadline comes; no backoff, no second try.
    private func drain(url: String, deadline: Int64) async {
        while !Task.isCancelled {
            let now = SystemClock.realtimeNanos()
            let work: (endpoint: AlertmanagerEndpoint, client: HTTPClient, batch: [(identity: String, entry: Entry)])? =
                state.withLock { s in
                    guard let q = s.queues[url] else { return nil }
                    return (q.endpoint, q.client, q.batch(resolvedFirst: now))
                }
            guard let work, !work.batch.isEmpty else { return }
            let left = deadline - SystemClock.monotonicNanos()
            guard left > 0 else { return }
            let timeout = Interval(nanoseconds: min(work.endpoint.timeout.nanoseconds, left))
            let outcome = await post(work.batch, to: work.endpoint, using: work.client, timeout: timeout)
            settle(outcome, of: work.batch, url: url)
            switch outcome {
            case .delivered, .rejected: continue
            case .retry, .cancelled: return
            }
        }
    }

    /// Books one attempt's outcome into the queue and says what changed.
    private func settle(_ outcome: Outcome, of batch: [(identity: String, entry: Entry)], url: String) {
        let events: [AlertmanagerDeliveryEvent] = state.withLock { s in
            guard s.queues[url] != nil else { return [] }
            s.queues[url]!.attempts += 1
            let display = s.queues[url]!.endpoint.displayURL
            var events: [AlertmanagerDeliveryEvent] = []
            let now = SystemClock.monotonicNanos()
            func answered() {
                if case let .down(since) = s.queues[url]!.reachability {
                    events.append(.back(url: display, outage: now - since))
                }
                s.queues[url]!.reachability = .up
            }
            switch outcome {
            case .cancelled:
                return []
            case .delivered:
                s.queues[url]!.remove(batch)
                s.queues[url]!.stats.sent += batch.count
                answered()
            case let .rejected(status, reason):
                s.queues[url]!.remove(batch)
                s.queues[url]!.stats.failed += batch.count
                // An answer, even a refusal, means the Alertmanager is there.
                answered()
                events.append(.rejected(url: display, status: status, alerts: batch.count, reason: reason))
            case let .retry(reason):
                switch s.queues[url]!.reachability {
                case .down: break
                case .untried, .up:
                    s.queues[url]!.reachability = .down(since: now)
                    events.append(.lost(url: display, reason: reason))
                }
            }
            events.append(.stats(url: display, s.queues[url]!.stats))
            return events
        }
        events.forEach(report)
    }

    /// One POST of one batch, classified.
    private func post(_ batch: [(identity: String, entry: Entry)], to endpoint: AlertmanagerEndpoint,
                      using client: HTTPClient, timeout: Interval) async -> Outcome {
        guard let requestURL = endpoint.requestURL else {
            return .retry(reason: "\(endpoint.displayURL) is not an http:// or https:// URL with a host")
        }
        var request = HTTPClientRequest(url: requestURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "dockward/\(DockwardVersion.current)")
        if let authorization = endpoint.authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(bytes: AlertmanagerAlert.body(batch.map(\.entry.alert))))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            // Read to the end, so the connection can be used again; keep a line of it.
            var text: [UInt8] = []
            for try await chunk in response.body where text.count < Self.reasonLimit {
                text.append(contentsOf: chunk.readableBytesView.prefix(Self.reasonLimit - text.count))
            }
            let status = Int(response.status.code)
            let reason = Self.reason(status: response.status, body: text)
            switch status {
            case 200..<300: return .delivered
            case 429, 500..<600: return .retry(reason: reason)
            default: return .rejected(status: status, reason: reason)
            }
        } catch {
            if Task.isCancelled { return .cancelled }
            if let error = error as? HTTPClientError, error == .deadlineExceeded {
                return .retry(reason: "no answer within \(timeout)")
            }
            return .retry(reason: "\(error)")
        }
    }

    /// `HTTP 400 Bad Request: "start time must be before end time"`.
    private static func reason(status: HTTPResponseStatus, body: [UInt8]) -> String {
        let text = String(decoding: body, as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.trimmingPrefix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return "HTTP \(status.code) \(status.reasonPhrase)" + (text.isEmpty ? "" : ": \(text)")
    }
}

extension AlertmanagerDelivery: AlertmanagerSubmitter {
    /// The delivery for `config`, its secret files read now: throws naming
    /// the one that cannot be read (`AlertmanagerDeliveryFactory`).
    public static func make(_ config: AlertmanagerConfig,
                            report: @escaping @Sendable (AlertmanagerDeliveryEvent) -> Void) throws -> AlertmanagerSubmitter {
        AlertmanagerDelivery(config: config, credentials: try AlertmanagerCredentials.read(for: config), report: report)
    }

    /// A reload: the secrets are read again, then the queues follow the new URLs.
    public func apply(_ config: AlertmanagerConfig) throws {
        apply(config, credentials: try AlertmanagerCredentials.read(for: config))
    }

    public func finish(within grace: Interval, done: @escaping @Sendable () -> Void) {
        Task {
            _ = await flush(within: grace)
            done()
        }
    }
}
