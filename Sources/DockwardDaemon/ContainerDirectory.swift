import Dispatch
import DockwardCore
import DockwardDocker
import Logging

/// Names, images and labels of containers, asked of the engine once each and
/// cached. The pids watch never waits on it: while the engine is away,
/// containers are watched by id alone and asked about when it returns.
final class ContainerDirectory {
    /// First retry after an engine failure, doubling up to the cap, so a dead
    /// engine costs one connect attempt every half minute, not one per poll.
    static let firstRetry = Interval.seconds(1)
    static let maxRetry = Interval.seconds(30)

    private enum State {
        case up
        case down(since: Int64, nextTry: Int64, backoff: Interval)
    }

    private let client: DockerEngineClient
    private let queue: DispatchQueue
    private let logger: Logger
    /// Called on `queue` when a lookup ends: metadata, or nil when the engine
    /// does not know the id or cannot be reached.
    var onResolved: (ContainerID, ContainerMetadata?) -> Void = { _, _ in }

    private var known: [ContainerID: ContainerMetadata] = [:]
    private var inFlight: Set<ContainerID> = []
    /// Ids to ask about once the engine is back.
    private var waitingForEngine: Set<ContainerID> = []
    private var state: State = .up
    private var probing = false

    init(client: DockerEngineClient, queue: DispatchQueue, logger: Logger) {
        self.client = client
        self.queue = queue
        self.logger = logger
    }

    var isEngineUp: Bool { if case .up = state { return true }; return false }

    func metadata(for id: ContainerID) -> ContainerMetadata? { known[id] }

    /// Learns metadata from elsewhere (an engine event), saving a request.
    func record(_ id: ContainerID, _ metadata: ContainerMetadata) {
        let isNew = known[id] != metadata
        known[id] = metadata
        waitingForEngine.remove(id)
        if isNew { onResolved(id, metadata) }
    }

    func forget(_ id: ContainerID) {
        known[id] = nil
        waitingForEngine.remove(id)
    }

    /// Asks the engine about `id` unless it is known, being asked, or the
    /// engine is down (then it is asked when the engine returns).
    func lookUp(_ id: ContainerID) {
        if let m = known[id] { onResolved(id, m); return }
        guard !inFlight.contains(id) else { return }
        guard isEngineUp else {
            waitingForEngine.insert(id)
            onResolved(id, nil)
            return
        }
        inFlight.insert(id)
        Task { [client, queue] in
            do {
                if client.negotiatedVersion == nil { _ = try await client.negotiate() }
                let details = try await client.inspect(id)
                queue.async { self.finish(id, .success(details?.metadata)) }
            } catch {
                queue.async { self.finish(id, .failure(error)) }
            }
        }
    }

    private func finish(_ id: ContainerID, _ result: Result<ContainerMetadata?, Error>) {
        inFlight.remove(id)
        switch result {
        case .success(let metadata):
            markUp()
            if let metadata { known[id] = metadata }
            onResolved(id, metadata)
        case .failure(let error):
            markDown(error)
            waitingForEngine.insert(id)
            onResolved(id, nil)
        }
    }

    /// Called every poll: retries a down engine when its backoff has passed.
    func tick(now: Int64) {
        guard case .down(_, let nextTry, _) = state, now >= nextTry, !probing else { return }
        probing = true
        Task { [client, queue] in
            let result: Result<String, Error>
            do { result = .success(try await client.negotiate()) } catch { result = .failure(error) }
            queue.async {
                self.probing = false
                switch result {
                case .success:
                    self.markUp()
                    let ids = self.waitingForEngine
                    self.waitingForEngine.removeAll()
                    for id in ids { self.lookUp(id) }
                case .failure(let error):
                    self.markDown(error)
                }
            }
        }
    }

    private func markUp() {
        if case .down(let since, _, _) = state {
            let outage = Double(MonotonicClock.now() - since) / 1e9
            logger.notice("Docker engine reachable again at \(client.endpoint.socketPath) after \(Int(outage.rounded())) s")
        }
        state = .up
    }

    private func markDown(_ error: Error) {
        let now = MonotonicClock.now()
        switch state {
        case .up:
            // Logged once per outage, not once per retry.
            logger.warning("Docker engine unreachable at \(client.endpoint.socketPath): \(error); watching containers by id, retrying with backoff")
            state = .down(since: now, nextTry: now + Self.firstRetry.nanoseconds, backoff: Self.firstRetry)
        case .down(let since, _, let backoff):
            let next = Interval(nanoseconds: min(backoff.nanoseconds * 2, Self.maxRetry.nanoseconds))
            state = .down(since: since, nextTry: now + next.nanoseconds, backoff: next)
        }
    }
}
