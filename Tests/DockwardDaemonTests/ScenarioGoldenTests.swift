import DockwardAlertmanager
import DockwardCore
import DockwardDaemon
import DockwardDocker
import DockwardTestSupport
import Foundation
import XCTest

/// The whole daemon in-process over a fixture host and the scripted
/// engine, run through one scenario (a socket mount, a refusal, a runaway
/// capped, a recovery, an engine outage, a stop), and everything that
/// leaves it compared with checked-in files: the journal entries as written,
/// a `/metrics` scrape, and the Alertmanager POST bodies. A wiring change
/// (an outlet that stops counting, a watch that sends another finding, an
/// alert that loses a label) shows as a diff here, as node_exporter's
/// end-to-end test shows one. `make golden` rewrites the files.
final class ScenarioGoldenTests: XCTestCase {
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    func testTheScenarioMatchesItsGoldenFiles() throws {
        let host = try FixtureHost(self)
        let engine = ScriptedEngine(socketPath: host.engineSocket)
        let actions = ScriptedActions()
        let am = RecordingSubmitter()
        let web = IDs.make(0x71), agent = IDs.make(0x72), leaky = IDs.make(0x73)
        engine.add(details(web, name: "web", pidsLimit: 50))
        engine.add(details(agent, name: "agent", binds: [(host.engineSocket, "/var/run/docker.sock")], pidsLimit: 100))
        engine.add(details(leaky, name: "leaky"))
        try host.setPids(web, current: 3, max: 50)
        try host.setPids(agent, current: 2, max: 100)
        try host.setPids(leaky, current: 10, max: nil)
        let config = """
            pids:
              forecast_window: 10s
              forecast_horizon: 24h
            alerts:
              recover_after: 5s
            actions:
              enabled: true
              cap_unlimited: 500
            alertmanager:
              urls: ["http://am.test:9093"]
            """
        let d = try DaemonUnderTest(host: host, engine: engine, config: config, actions: actions, alertmanager: am)
        addTeardownBlock { d.stop() }

        // Start: the listing names all three; the agent's socket mount is judged.
        d.start()
        d.waitForNames([web, agent, leaky])
        d.waitUntil("the socket mount") { !d.writer.entries(.socketMount, for: agent).isEmpty }
        d.ticks(2)
        // web's fork bomb hits its limit.
        try host.setPids(web, current: 50, max: 50, refused: 17)
        d.tick()
        // leaky leaks until it is forecast to meet the host's ceiling, and is capped.
        var current = 30
        while d.writer.entries(.actionTaken, for: leaky).isEmpty && current < 400 {
            try host.setPids(leaky, current: current, max: nil)
            d.tick()
            d.waitUntil("engine calls to end") { d.daemon.actionsInFlight == 0 }
            current += 20
        }
        // web calms down and recovers.
        try host.setPids(web, current: 3, max: 50, refused: 17)
        d.ticks(7)
        // The engine goes away and comes back.
        engine.setReachable(false)
        d.waitUntil("the outage") { !d.writer.entries(.engineLost).isEmpty }
        d.tick()
        engine.setReachable(true)
        d.waitUntil("the engine back") { !d.writer.entries(.engineBack).isEmpty }
        d.tick()
        let daemon = d.daemon
        let scrape = d.metrics.render(containers: DaemonActor.sync { daemon.containerMetrics() })
        d.stop()

        let root = host.root
        try Golden.compare(Self.journal(d.writer.entries, root: root), file: "scenario-journal.txt", in: Self.goldenDir,
                           shownAs: "Tests/DockwardDaemonTests/Golden")
        try Golden.compare(Self.metrics(scrape), file: "scenario-metrics.txt", in: Self.goldenDir,
                           shownAs: "Tests/DockwardDaemonTests/Golden")
        try Golden.compare(Self.alertmanager(am.submissions, root: root), file: "scenario-alertmanager.txt", in: Self.goldenDir,
                           shownAs: "Tests/DockwardDaemonTests/Golden")
    }

    /// Fields whose values are the run's, not the code's: real time, the
    /// temporary folder, the engine's own clock.
    static let volatileFields: Set<String> = ["ENGINE_EVENT_NANO", "OUTAGE_SECONDS", "DOCKWARD_CONFIG", "CONFIG_FILE"]

    /// Every entry in the order written, each field on a line.
    static func journal(_ entries: [JournalEntry], root: String) -> String {
        var out = "# The scenario's journal entries, in order (ScenarioGoldenTests). `make golden` rewrites this file.\n"
        for entry in entries {
            out += "\n"
            for field in entry.allFields {
                let value = volatileFields.contains(field.name) ? "<run>" : normalized(field.value, root: root)
                out += "\(field.name)=\(value)\n"
            }
        }
        return out
    }

    /// The scrape without what real time decides (the poll durations, the event lag).
    static func metrics(_ scrape: String) -> String {
        let kept = scrape.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.contains("dockward_poll_duration_seconds") && !$0.contains("dockward_event_stream_lag_seconds")
        }
        return "# The scenario's /metrics scrape, families and series sorted (ScenarioGoldenTests). `make golden` rewrites this file.\n\n"
            + Golden.canonicalExposition(kept.joined(separator: "\n"))
    }

    /// Each POST body, with the wall clock's times made relative to the
    /// scenario's start (the manual clock's first reading).
    static func alertmanager(_ submissions: [[AlertmanagerAlert]], root: String) -> String {
        let start: Int64 = 1_800_000_000_000_000_000
        var out = "# The scenario's Alertmanager POST bodies, in order (ScenarioGoldenTests). `make golden` rewrites this file.\n"
        for alerts in submissions {
            let relative = alerts.map { alert in
                var a = alert
                a.startsAt -= start
                a.endsAt -= start
                if let episode = a.labels["episode"], let ms = Int64(episode) { a.labels["episode"] = String(ms - start / 1_000_000) }
                return a
            }
            out += "\n" + normalized(String(decoding: AlertmanagerAlert.body(relative), as: UTF8.self), root: root) + "\n"
        }
        return out
    }

    static func normalized(_ value: String, root: String) -> String {
        value.replacingOccurrences(of: root, with: "<root>").replacingOccurrences(of: "\n", with: "\\n")
    }
}
