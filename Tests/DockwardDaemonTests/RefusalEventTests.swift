import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// Refused forks as the kernel tells them (a FIFO stands in for /dev/kmsg),
/// between polls: the entry is written without waiting for the next tick.
final class RefusalEventTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var kernel: FixtureHost.KernelLog!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
        kernel = try FixtureHost.KernelLog(in: host.root)
    }

    private func makeDaemon(config: String = "pids:\n  poll_interval: 5s\n", kernelLog: Bool = true) throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: config, kernelLog: kernelLog ? kernel.path : nil)
        addTeardownBlock { d.stop() }
        return d
    }

    /// A daemon watching one named container at `current` of `max`, polled once.
    private func watching(_ id: ContainerID, name: String, current: Int, max: Int,
                          kernelLog: Bool = true, firstPoll: Interval = .seconds(1)) throws -> DaemonUnderTest {
        engine.add(details(id, name: name))
        try host.setPids(id, current: current, max: max)
        let d = try makeDaemon(kernelLog: kernelLog)
        d.start()
        d.waitForNames([id])
        d.tick(advancing: firstPoll)
        return d
    }

    private func refusal(_ id: ContainerID, sequence: Int = 1000) {
        kernel.record("cgroup: fork rejected by pids controller in /docker/\(id.full)", sequence: sequence)
    }

    func testRefusalIsAnEntryWithoutWaitingForThePoll() throws {
        let id = IDs.make(20)
        let d = try watching(id, name: "bomb", current: 3, max: 50)
        try host.setPids(id, current: 50, max: 50, refused: 17)
        kernel.record("eth0: link up")
        refusal(id)
        d.waitUntil("the refusal entry, no poll in between") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        let entry = d.writer.entries(.pidsExhausted, for: id)
        XCTAssertEqual(entry.count, 1)
        XCTAssertEqual(entry.first?.container?.metadata?.name, "bomb")
        XCTAssertEqual(field(entry.first, "PIDS_REJECTED"), "17")
        XCTAssertEqual(field(entry.first, "PIDS_CURRENT"), "50")

        // From now on its pids.events is read every poll (the kernel says it once).
        try host.setPids(id, current: 50, max: 50, refused: 99)
        d.tick(advancing: .minutes(11))
        d.tick()
        let reminder = d.writer.entries(.pidsExhausted, for: id).last
        XCTAssertEqual(field(reminder, "DOCKWARD_REMINDER"), "1")
        XCTAssertEqual(field(reminder, "PIDS_REJECTED"), "99")
    }

    func testContainerThatDiedOfItIsReportedWithItsName() throws {
        let id = IDs.make(21)
        let d = try watching(id, name: "leaky", current: 299, max: 300)
        try host.removeCgroup(id)  // it failed to fork and exited at once
        refusal(id)
        d.waitUntil("the entry for a container already gone") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        let entry = try XCTUnwrap(d.writer.entries(.pidsExhausted, for: id).first)
        XCTAssertEqual(entry.container?.metadata?.name, "leaky", "the name from the engine's record")
        XCTAssertEqual(entry.container?.metadata?.image, "local/busybox:test")
        XCTAssertEqual(field(entry, "CGROUP_GONE"), "1")
        XCTAssertEqual(field(entry, "PIDS_MAX"), "300", "the last limit known")
        XCTAssertEqual(entry.priority, .crit)
    }

    /// Reported while it ran, then gone (it died at its limit): the kernel's
    /// line that comes late, through the journal, is no second entry,
    /// whether a poll has dropped the container by then or the line finds
    /// its cgroup gone.
    ///
    /// And a refusal whose first word came with the cgroup already gone (the
    /// entry says CGROUP_GONE=1 and the limit last read): a second word of
    /// it (a line for another cgroup of the container, or read late) is no
    /// second entry either. Seen in a guest: two entries for one Podman
    /// container that died at its limit.
    func testALateKernelLineForAContainerReportedBeforeItWentIsNoSecondEntry() throws {
        enum Order { case pollDropsItFirst, lineFindsItGone, firstWordFindsItGone }
        for (n, order) in [(27, Order.pollDropsItFirst), (29, .lineFindsItGone), (31, .firstWordFindsItGone)] {
            let id = IDs.make(n)
            // A second container whose refusal, told after the late line,
            // shows that line was read (the kernel's lines are read in order).
            let marker = IDs.make(n + 40)
            engine.add(details(marker, name: "marker"))
            try host.setPids(marker, current: 3, max: 30)
            let d = try watching(id, name: "dies", current: 3, max: 30)
            d.waitForNames([marker])
            if order != .firstWordFindsItGone { try host.setPids(id, current: 30, max: 30, refused: 1) }
            if order == .firstWordFindsItGone { try host.removeCgroup(id) }
            refusal(id)
            d.waitUntil("the first entry") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
            if order != .firstWordFindsItGone { try host.removeCgroup(id) }
            if order == .pollDropsItFirst {
                d.tick(advancing: .seconds(5))
                d.tick()
                d.waitUntil("the poll to drop it") { d.daemon.watchedContainerCount == 1 }
            }
            refusal(id, sequence: 1001)
            // A second entry would be written once the engine's record is
            // asked for (answered in milliseconds) or the name's grace (2 s)
            // ends: the manual clock moves past it and a poll takes what expired.
            try host.setPids(marker, current: 30, max: 30, refused: 1)
            refusal(marker, sequence: 1002)
            d.waitUntil("the line after it read") { !d.writer.entries(.pidsExhausted, for: marker).isEmpty }
            d.tick(advancing: .seconds(3))
            d.tick()
            let entries = d.writer.entries(.pidsExhausted, for: id)
            XCTAssertEqual(entries.count, 1, "\(order)")
            XCTAssertEqual(field(entries.first, "CGROUP_GONE"), order == .firstWordFindsItGone ? "1" : nil, "\(order)")
            XCTAssertEqual(field(entries.first, "PIDS_MAX"), "30", "\(order)")
            d.stop()
        }
    }

    /// Gone before dockward ever saw its cgroup or its name: the engine's
    /// record still names it.
    func testContainerGoneBeforeItWasEverSeenIsNamedByTheEngine() throws {
        let d = try makeDaemon()
        d.start()
        d.waitUntil("the engine to connect") { d.daemon.statusLine.contains("engine connected;") }
        d.tick()
        let id = IDs.make(26)
        engine.add(details(id, name: "brief", state: "exited"))  // no event, no cgroup: all over already
        refusal(id)
        d.waitUntil("the entry, named") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        let entry = d.writer.entries(.pidsExhausted, for: id).first
        XCTAssertEqual(entry?.container?.metadata?.name, "brief")
        XCTAssertEqual(field(entry, "CGROUP_GONE"), "1")
    }

    func testNewContainerRefusingBeforeItsFirstPoll() throws {
        let d = try makeDaemon()
        d.start()
        d.tick()
        let id = IDs.make(22)
        engine.add(details(id, name: "fast"))
        engine.emit("create", id)
        d.waitForNames([id])
        try host.setPids(id, current: 20, max: 20, refused: 4)  // its cgroup appeared after the last poll
        refusal(id)
        d.waitUntil("the refusal of a container not yet polled") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        XCTAssertEqual(field(d.writer.entries(.pidsExhausted, for: id).first, "PIDS_REJECTED"), "4")
        XCTAssertEqual(DaemonActor.sync { d.daemon.watchedContainerCount }, 1)
    }

    func testLinesAboutOtherCgroupsAreSkipped() throws {
        let id = IDs.make(23)
        let d = try watching(id, name: "calm", current: 3, max: 50)
        kernel.record("cgroup: fork rejected by pids controller in /dockward-test-12447416558195105468")
        kernel.record("cgroup: fork rejected by pids controller in /docker/\(IDs.make(99).full)")  // not watched, gone
        kernel.record("cgroup: fork rejected by pids controller in ")
        // Positive control: a real refusal after them is still seen.
        try host.setPids(id, current: 50, max: 50, refused: 1)
        refusal(id)
        d.waitUntil("the one real refusal") { !d.writer.entries(.pidsExhausted, for: id).isEmpty }
        XCTAssertEqual(d.writer.entries(.pidsExhausted).filter { $0.container?.id != IDs.make(99) }.count, 1)
    }

    /// Without the kernel's word, refusals are still seen: at the next poll.
    func testWithoutKernelMessagesTheNextPollSeesRefusals() throws {
        let id = IDs.make(24)
        let d = try watching(id, name: "bomb", current: 3, max: 50, kernelLog: false, firstPoll: .seconds(5))
        try host.setPids(id, current: 50, max: 50, refused: 8)
        // Whatever the queue had to do is done: with no kernel lines, no
        // part reads pids.events between polls.
        _ = DaemonActor.sync { d.daemon.watchedContainerCount }
        XCTAssertTrue(d.writer.entries(.pidsExhausted).isEmpty, "nothing tells it between polls")
        d.tick()
        XCTAssertEqual(field(d.writer.entries(.pidsExhausted, for: id).first, "PIDS_REJECTED"), "8")
    }

    /// `docker update --pids-limit` writes pids.max: the next poll uses it.
    func testLimitWrittenIsReadAtTheNextPoll() throws {
        let id = IDs.make(25)
        engine.add(details(id, name: "web"))
        try host.setPids(id, current: 45, max: 1000)
        let d = try makeDaemon(config: "pids:\n  high_for: 2s\n")
        d.start()
        d.waitForNames([id])
        d.ticks(4)
        XCTAssertTrue(d.writer.entries(.pidsHigh).isEmpty, "45 of 1000")
        try FixtureHost.write("50\n", to: host.hierarchy + "/docker/\(id.full)/pids.max")
        Thread.sleep(forTimeInterval: 0.1)  // the inotify event reaches the queue
        d.ticks(4)
        XCTAssertEqual(field(d.writer.entries(.pidsHigh, for: id).first, "PIDS_MAX"), "50", "45 of 50 now")
    }
}
