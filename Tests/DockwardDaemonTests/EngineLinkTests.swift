import DockwardCore
import DockwardDocker
import DockwardSystem
import Foundation
import XCTest
@testable import DockwardDaemon

/// The engine link through the real daemon, over a scripted engine whose
/// inspects can be held or made to fail: an inspect never holds the event
/// stream, a failed one is no outage, and the stream resumes from the last
/// event it saw.
final class EngineLinkTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    /// A daemon whose first listing is done, so containers added from here
    /// on reach it through their events.
    private func connectedDaemon() throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.waitUntil("the first listing") { d.engine.listings > 0 }
        return d
    }

    /// A container that mounts the engine's socket: one `socket-mount` entry once judged.
    private func addExposed(_ id: ContainerID, name: String) {
        engine.add(details(id, name: name, binds: [(host.engineSocket, "/var/run/docker.sock")]))
    }

    /// Waits until every inspect started has had its answer (or failure)
    /// handled on the daemon's queue, before asserting that one changed nothing.
    private func settle(_ d: DaemonUnderTest) {
        d.waitUntil("every answer handled") { d.daemon.engineAnswersHandled == d.daemon.engineInspectsStarted }
    }

    // MARK: An inspect never holds the stream

    func testAHeldInspectDoesNotDelayTheNextContainersVerdict() throws {
        let d = try connectedDaemon()
        let slow = IDs.make(0x51), quick = IDs.make(0x52)
        addExposed(slow, name: "slow")
        addExposed(quick, name: "quick")
        engine.hold(inspectOf: slow, for: 10)
        engine.emit("create", slow)
        d.waitUntil("the slow container's inspect to be held") { d.engine.heldInspections(of: slow) == 1 }

        let createdAt = SystemClock.monotonicNanos()
        engine.emit("create", quick)
        d.waitUntil("the quick container's verdict") { !d.writer.entries(.socketMount, for: quick).isEmpty }
        XCTAssertEqual(engine.heldInspections(of: slow), 1, "judged while the slow inspect is still held")
        XCTAssertEqual(d.writer.entries(.socketMount, for: slow), [])
        XCTAssertEqual(d.writer.entries(.engineLost), [], "a slow inspect is no outage")
        let entryAt = try XCTUnwrap(d.writer.timedEntries.first {
            $0.entry.kind == .socketMount && $0.entry.container?.id == quick
        }?.atNanos)
        let delay = Double(entryAt - createdAt) / 1e6
        print("create event to socket-mount entry, another inspect held: \(delay) ms")
        // Measured at about 1 ms, and under 2 ms with the two cores busy
        // four times over: the bound is far off, and only a verdict that
        // waited for the held inspect (10 s) could reach it.
        XCTAssertLessThan(delay, 100)

        engine.release(inspectOf: slow)
        d.waitUntil("the slow container's verdict") { !d.writer.entries(.socketMount, for: slow).isEmpty }
        XCTAssertEqual(d.writer.entries(.socketMount).map { $0.container?.id }, [quick, slow], "one verdict each, in answer order")
        XCTAssertEqual(d.writer.entries(.engineLost), [])
        XCTAssertEqual(engine.subscriptions.count, 1, "the event stream was never torn down")
    }

    // MARK: A failed inspect is no outage

    func testAnInspectThatCannotReachTheEngineIsRetriedAndIsNoOutage() throws {
        let d = try connectedDaemon()
        let id = IDs.make(0x53)
        addExposed(id, name: "flaky")
        engine.failInspect(of: id, times: 2,
                           with: DockerClientError.engineUnreachable(path: host.engineSocket, reason: "connection reset by peer"))
        engine.emit("create", id, timeNano: 1_700_000_000_000_000_053)
        d.waitUntil("the verdict after the retries", timeout: 10) { !d.writer.entries(.socketMount, for: id).isEmpty }
        XCTAssertEqual(engine.inspectRequests(of: id), 3, "two failures, then the answer")
        XCTAssertEqual(d.writer.entries(.engineLost), [], "the engine and its stream were fine")
        XCTAssertEqual(d.writer.entries(.engineBack), [])
        XCTAssertEqual(field(d.writer.entries(.socketMount, for: id).first, "ENGINE_EVENT_NANO"), "1700000000000000053",
                       "still the verdict of the create event")
        XCTAssertEqual(engine.subscriptions.count, 1, "the event stream was never torn down")
        XCTAssertTrue(DaemonActor.sync { d.daemon.statusLine }.contains("engine connected;"))
    }

    // MARK: Resubscribing from the last event

    func testResubscribingReplaysTheMissedEventsAndJudgesEachContainerOnce() throws {
        let d = try connectedDaemon()
        let before = IDs.make(0x54), during = IDs.make(0x55)
        let lastSeen = SystemClock.realtimeNanos()
        addExposed(before, name: "before")
        engine.emit("create", before, timeNano: lastSeen)
        d.waitUntil("the verdict before the drop") { !d.writer.entries(.socketMount, for: before).isEmpty }

        engine.setReachable(false)
        d.waitUntil("the outage") { !d.writer.entries(.engineLost).isEmpty }
        // Happens on the engine while no stream is open: only a replay brings the event.
        addExposed(during, name: "during")
        engine.emit("create", during, timeNano: lastSeen + 1_000)
        engine.setReachable(true)
        d.waitUntil("the verdict of the container made while away", timeout: 10) {
            !d.writer.entries(.socketMount, for: during).isEmpty
        }
        d.waitUntil("the listing on return") { d.engine.listings >= 2 }
        d.waitUntil("every inspect answered") {
            [before, during].allSatisfy { id in d.engine.inspected.filter { $0 == id }.count == d.engine.inspectRequests(of: id) }
        }
        settle(d)

        let subscriptions = engine.subscriptions
        XCTAssertEqual(subscriptions.count, 2)
        XCTAssertEqual(subscriptions.last?.since, lastSeen, "resubscribed from the last event seen")
        XCTAssertEqual(subscriptions.last?.replayed, 2, "the last event seen and the one missed")
        XCTAssertEqual(d.writer.entries(.socketMount, for: before).count, 1, "its replayed create is not judged again")
        XCTAssertEqual(d.writer.entries(.socketMount, for: during).count, 1, "replayed and listed: judged once")
        // The host-control watch would not repeat a verdict anyway: the link
        // itself asks the engine once per container.
        XCTAssertEqual(engine.inspectRequests(of: before), 1, "its replayed create asks nothing")
        XCTAssertEqual(engine.inspectRequests(of: during), 1, "one inspect for the listing and the replay")
    }

    // MARK: Destroy and stop while an inspect is held

    func testADestroyWhileTheInspectIsHeldLeavesNoStaleVerdict() throws {
        try destroyWhileHeld("destroy", gone: IDs.make(0x56), after: IDs.make(0x57))
    }

    /// Podman's compat API says `remove` where Docker says `destroy`.
    func testPodmansRemoveIsADestroy() throws {
        try destroyWhileHeld("remove", gone: IDs.make(0x5a), after: IDs.make(0x5b))
    }

    private func destroyWhileHeld(_ action: String, gone: ContainerID, after: ContainerID) throws {
        let d = try connectedDaemon()
        addExposed(gone, name: "short-lived")
        engine.hold(inspectOf: gone, for: 10)
        engine.emit("create", gone)
        d.waitUntil("the inspect to be held") { d.engine.heldInspections(of: gone) == 1 }
        engine.remove(gone)
        engine.emit(action, gone)
        // Events are read in order: once this one is judged, the destroy was read.
        addExposed(after, name: "after")
        engine.emit("create", after)
        d.waitUntil("the verdict of a container made after the destroy") { !d.writer.entries(.socketMount, for: after).isEmpty }

        // The held request now answers with what the engine said before the destroy.
        engine.release(inspectOf: gone)
        d.waitUntil("the held inspect to be answered") { d.engine.inspected.contains(gone) }
        settle(d)
        XCTAssertEqual(d.writer.entries(.socketMount, for: gone), [], "no verdict from the stale answer")
        XCTAssertNil(DaemonActor.sync { d.daemon.containerName(gone) }, "nothing cached of a destroyed container")
        XCTAssertEqual(d.writer.entries(.socketMount, for: after).count, 1)
    }

    func testStopWithAnInspectHeldCompletesAndDeliversNothingAfterwards() throws {
        let d = try connectedDaemon()
        let id = IDs.make(0x58)
        addExposed(id, name: "held")
        engine.hold(inspectOf: id, for: 10)
        engine.emit("create", id)
        d.waitUntil("the inspect to be held") { d.engine.heldInspections(of: id) == 1 }

        let stopped = DispatchSemaphore(value: 0)
        d.daemon.stop { stopped.signal() }
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success, "stop completes with the inspect still held")
        XCTAssertEqual(d.writer.entries.last?.kind, .daemonStopped)
        let atStop = d.writer.entries.count

        engine.release(inspectOf: id)
        d.waitUntil("the held inspect to be answered") { d.engine.inspected.contains(id) }
        settle(d)
        XCTAssertEqual(d.writer.entries.count, atStop, "nothing written after the stop: \(d.writer.entries.map(\.kind.rawValue))")
        XCTAssertNil(DaemonActor.sync { d.daemon.containerName(id) })
    }
}

/// The engine link by itself, over the scripted engine, with a recorder as
/// its observer: the bound on inspects at once, a listing that waits for
/// its inspects, and an inspect that times out.
final class EngineLinkAloneTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var observer: RecordingObserver!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
        observer = DaemonActor.sync { RecordingObserver() }
    }

    private func startLink(inspectionTimeout: Interval = EngineLink.inspectionTimeout) -> EngineLink {
        let engine = self.engine!, observer = self.observer!
        let link = DaemonActor.sync {
            let link = EngineLink(engine: DockerRuntime(engine, logger: DaemonUnderTest.logger), queue: DaemonActor.queue, resyncInterval: .minutes(5),
                                  clock: SystemClock.monotonicNanos, logger: DaemonUnderTest.logger,
                                  inspectionTimeout: inspectionTimeout)
            link.observer = observer
            link.start()
            return link
        }
        addTeardownBlock {
            let done = DispatchSemaphore(value: 0)
            DaemonActor.async { link.shutdown(deadline: SystemClock.monotonicNanos() + 5_000_000_000) { done.signal() } }
            _ = done.wait(timeout: .now() + 5)
        }
        return link
    }

    private var reports: [RecordingObserver.Report] {
        let observer = self.observer!
        return DaemonActor.sync { observer.reports }
    }

    private func waitUntil(_ what: String, timeout: TimeInterval = 5, file: StaticString = #filePath, line: UInt = #line,
                           _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("timed out waiting for \(what); reports: \(reports)", file: file, line: line)
    }

    func testAListingInspectsAFewAtOnceAndReportsOnceAllAreSettled() {
        let ids = (0x71...0x76).map(IDs.make)
        for (index, id) in ids.enumerated() {
            engine.add(details(id, name: "c\(index)", pidsLimit: index == 0 ? 50 : nil))
            engine.hold(inspectOf: id, for: 10)
        }
        let link = startLink()
        let bound = EngineLink.concurrentInspections
        let held = { ids.map { self.engine.heldInspections(of: $0) }.reduce(0, +) }
        waitUntil("\(bound) inspects under way") { held() == bound }
        XCTAssertEqual(DaemonActor.sync { link.inspectionsRunning }, bound, "no more than \(bound) at once")
        XCTAssertEqual(held(), bound)
        XCTAssertFalse(reports.contains { if case .listing = $0 { true } else { false } }, "the listing waits for its inspects")

        for id in ids { engine.release(inspectOf: id) }
        waitUntil("the listing") { self.reports.contains { if case .listing = $0 { true } else { false } } }
        let all = reports
        XCTAssertEqual(Set(all.compactMap { if case .inspected(let id) = $0 { id } else { nil } }), Set(ids))
        XCTAssertEqual(all.last, .listing(Set(ids)), "reported after every inspect: \(all)")
        XCTAssertFalse(all.contains(.lost))
        XCTAssertEqual(DaemonActor.sync { ids.map { link.hasOwnPidsLimit($0) } }, [true] + Array(repeating: false, count: 5),
                       "a pids limit of its own is told with the rest")
    }

    func testAnInspectThatTimesOutIsAskedAgainAndIsNoOutage() {
        let link = startLink(inspectionTimeout: .milliseconds(200))
        waitUntil("the first listing") { self.reports.contains { if case .listing = $0 { true } else { false } } }
        let id = IDs.make(0x61)
        engine.add(details(id, name: "slow"))
        engine.hold(inspectOf: id, for: 10)
        engine.emit("create", id, timeNano: 1_700_000_000_000_000_061)
        waitUntil("a second inspect after the first timed out") { self.engine.inspectRequests(of: id) >= 2 }
        XCTAssertFalse(reports.contains(.inspected(id)))

        // Both held requests answer now; one verdict.
        engine.release(inspectOf: id)
        waitUntil("the container's inspect data") { self.reports.contains(.inspected(id)) }
        waitUntil("every request answered") { self.engine.inspected.filter { $0 == id }.count == self.engine.inspectRequests(of: id) }
        waitUntil("every answer handled") { DaemonActor.sync { link.answersHandled } >= self.engine.inspectRequests(of: id) }
        XCTAssertEqual(reports.filter { $0 == .inspected(id) }.count, 1, "delivered once: \(reports)")
        XCTAssertFalse(reports.contains(.lost), "a slow inspect is no outage")
        XCTAssertEqual(engine.subscriptions.count, 1, "the event stream was never torn down")
        let observer = self.observer!
        XCTAssertEqual(DaemonActor.sync { observer.eventTimes[id] }, 1_700_000_000_000_000_061)
    }
}

/// What the engine link reported, in order; isolated to the daemon's queue.
@DaemonActor
final class RecordingObserver: EngineLinkObserver {
    enum Report: Equatable, Sendable {
        case connected, lost, described
        case inspected(ContainerID), unknown(ContainerID), gone(ContainerID)
        case listing(Set<ContainerID>)
    }

    var reports: [Report] = []
    var eventTimes: [ContainerID: Int64] = [:]

    func engineConnected(afterOutage outage: Int64?) { reports.append(.connected) }
    func engineLost(reason: String) { reports.append(.lost) }
    func engineDescribed(_ info: RuntimeInfo) { reports.append(.described) }
    func containerInspected(_ details: ContainerDetails, eventTimeNano: Int64?) {
        reports.append(.inspected(details.id))
        eventTimes[details.id] = eventTimeNano
    }
    func containerUnknown(_ id: ContainerID) { reports.append(.unknown(id)) }
    func containerGone(_ id: ContainerID) { reports.append(.gone(id)) }
    func listingCompleted(_ present: Set<ContainerID>, reason: String) { reports.append(.listing(present)) }
    func engineEventArrived(timeNano: Int64) {}
}
