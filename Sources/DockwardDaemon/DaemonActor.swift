import Dispatch

/// The daemon's one serial queue as a global actor, so the compiler checks
/// the one-queue claim: every part that holds the daemon's mutable state is
/// `@DaemonActor`, and code off the queue can reach that state only by
/// hopping onto it (an `await`, or `DaemonActor.run` from a Dispatch
/// handler that is on the queue already, which is checked). The actor's
/// executor is the queue itself, so Dispatch sources, timers and the
/// engine link's tasks all run in one order on one thread at a time.
@globalActor public actor DaemonActor {
    public static let shared = DaemonActor()
    /// Timers, read sources and signal sources are made on this queue.
    public static let queue = DispatchQueue(label: "dockward.daemon")
    private static let executor = QueueExecutor(queue: queue)

    public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }

    /// Runs `body` isolated to the daemon, from code that Dispatch runs on
    /// the daemon's queue (a source's handler, `queue.sync`). Traps when
    /// called anywhere else: the isolation is checked, not assumed.
    public static func run<T: Sendable>(_ body: @DaemonActor () throws -> T) rethrows -> T {
        dispatchPrecondition(condition: .onQueue(queue))
        // On the queue, so on the actor's executor: what MainActor.assumeIsolated does for the main queue.
        return try withoutActuallyEscaping(body) { isolated in
            try unsafeBitCast(isolated, to: (() throws -> T).self)()
        }
    }

    /// Runs `body` on the daemon's queue, later, in order with the rest.
    public nonisolated static func async(_ body: @escaping @Sendable @DaemonActor () -> Void) {
        queue.async { run(body) }
    }

    /// Runs `body` on the daemon's queue and waits; never call it from the queue.
    public nonisolated static func sync<T: Sendable>(_ body: @DaemonActor () throws -> T) rethrows -> T {
        try queue.sync { try run(body) }
    }
}

/// Jobs of the daemon's actor go onto its Dispatch queue.
private final class QueueExecutor: SerialExecutor {
    let queue: DispatchQueue

    init(queue: DispatchQueue) { self.queue = queue }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    func checkIsolated() { dispatchPrecondition(condition: .onQueue(queue)) }
}
