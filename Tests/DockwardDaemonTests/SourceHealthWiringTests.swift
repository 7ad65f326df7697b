import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// The fallbacks, visible: each source's state reaches `/metrics`
/// (`dockward_source_up`, `dockward_refusal_source`) and the STATUS line,
/// read from the parts that own the sources.
final class SourceHealthWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func scrape(_ d: DaemonUnderTest) -> String { d.metrics.render(containers: []) }

    /// Sources not in use have no series; an Alertmanager that is
    /// configured but cannot deliver (its delivery could not be made) is
    /// down, not unused.
    func testUnusedSourcesHaveNoSeriesAndAConfiguredAlertmanagerThatCannotDeliverIsDown() throws {
        let quiet = try DaemonUnderTest(host: host, engine: engine, config: "")
        addTeardownBlock { quiet.stop() }
        quiet.start()
        quiet.tick()
        XCTAssertFalse(scrape(quiet).contains(#"source="alertmanager""#), "none configured: no series")
        XCTAssertFalse(scrape(quiet).contains(#"source="state_file""#), "no state directory: no series")

        let broken = try DaemonUnderTest(host: host, engine: engine,
                                         config: "alertmanager:\n  urls: [\"http://am.test:9093\"]\n")
        addTeardownBlock { broken.stop() }
        broken.start()
        broken.tick()
        XCTAssertTrue(scrape(broken).contains(#"dockward_source_up{source="alertmanager"} 0"#), scrape(broken))
        XCTAssertTrue(DaemonActor.sync { broken.daemon.statusLine }.contains("alertmanager unreachable"))
    }

    func testKernelLinesClosingFallsBackToPollingAndSaysSo() throws {
        let kernel = try FixtureHost.KernelLog(in: host.root)
        let id = IDs.make(40)
        engine.add(details(id, name: "bomb"))
        try host.setPids(id, current: 3, max: 50)
        let d = try DaemonUnderTest(host: host, engine: engine, config: "", kernelLog: kernel.path)
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([id])
        d.tick()
        XCTAssertTrue(scrape(d).contains(#"dockward_source_up{source="kmsg"} 1"#), scrape(d))
        XCTAssertTrue(scrape(d).contains(#"dockward_refusal_source{source="kmsg"} 1"#), scrape(d))

        kernel.hangUp()
        d.waitUntil("the refusal source to fall back") { d.daemon.sourceHealth.refusalSource == .poll }
        d.tick()
        XCTAssertTrue(scrape(d).contains(#"dockward_source_up{source="kmsg"} 0"#), scrape(d))
        XCTAssertTrue(scrape(d).contains(#"dockward_refusal_source{source="poll"} 1"#), scrape(d))
        XCTAssertFalse(scrape(d).contains(#"dockward_refusal_source{source="kmsg"}"#), "one series, replaced")
        XCTAssertTrue(DaemonActor.sync { d.daemon.statusLine }.contains("refusals via poll (kmsg unreadable)"),
                      DaemonActor.sync { d.daemon.statusLine })

        // No kernel line will come: the refusal is seen by reading pids.events at the poll.
        try host.setPids(id, current: 50, max: 50, refused: 9)
        d.tick()
        XCTAssertEqual(field(d.writer.entries(.pidsExhausted, for: id).first, "PIDS_REJECTED"), "9")
    }

    func testAStateFileThatCannotBeWrittenIsASourceDown() throws {
        let id = IDs.make(41)
        engine.add(details(id, name: "web"))
        let d = try DaemonUnderTest(host: host, engine: engine, config: "", stateDirectory: host.root + "/no/such/dir")
        addTeardownBlock { d.stop() }
        d.start()
        d.waitForNames([id])
        try host.setPids(id, current: 3, max: nil)
        d.ticks(3)  // pids-unlimited: an alert, so a save is tried
        XCTAssertFalse(d.writer.entries(.pidsUnlimited, for: id).isEmpty)
        XCTAssertTrue(scrape(d).contains(#"dockward_source_up{source="state_file"} 0"#), scrape(d))
        XCTAssertTrue(scrape(d).contains(#"dockward_source_up{source="inotify"} 1"#), scrape(d))
        XCTAssertTrue(DaemonActor.sync { d.daemon.statusLine }.contains("state_file unwritable"))
    }
}
