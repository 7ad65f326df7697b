import DockwardCore
import DockwardDaemon
import DockwardDocker
import Foundation
import XCTest

/// The node's pids watch in-process: the real host reader over the fixture
/// /proc (capacity min(4194304, 100000) = 100000), kubelet's config file
/// in the fixture's folder, the entries through the recording outlet.
final class NodePidsWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!
    private var kubeletPath: String { host.root + "/kubelet/config.yaml" }

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func makeDaemon(_ extra: String = "") throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: """
            node_pids:
              kubelet_config: \(kubeletPath)
            \(extra)
            """)
        addTeardownBlock { d.stop() }
        return d
    }

    private func setAvailable(_ available: Int) throws {
        try FixtureHost.write("0.10 0.20 0.30 1/\(100_000 - available) 12345\n", to: host.proc + "/loadavg")
    }

    private func writeKubelet(_ body: String) throws {
        try FixtureHost.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + body, to: kubeletPath)
    }

    private func podDetails(_ id: ContainerID, _ namespace: String, _ pod: String, _ container: String) -> ContainerDetails {
        var d = details(id, name: "k8s_\(container)_\(pod)")
        d.metadata.pod = PodIdentity(namespace: namespace, pod: pod, podUID: "uid-\(pod)", container: container)
        return d
    }

    /// A leak of 400 tasks at 10/s from 250 above kubelet's soft threshold:
    /// node-pids-pressure while available is still above it, with kubelet's
    /// figures and the pods holding the most tasks.
    func testALeakIsSaidBeforeKubeletsThresholdWithTheTopPods() throws {
        try writeKubelet("""
            evictionHard: {pid.available: "1000"}
            evictionSoft: {pid.available: "2000"}
            kubeReserved: {pid: "500"}
            """)
        let app = IDs.make(31), sidecar = IDs.make(32), plain = IDs.make(33)
        engine.add(podDetails(app, "ci", "runner-7", "app"))
        engine.add(podDetails(sidecar, "ci", "runner-7", "sidecar"))
        engine.add(details(plain, name: "web"))
        try host.setPids(app, current: 300, max: nil)
        try host.setPids(sidecar, current: 20, max: nil)
        try host.setPids(plain, current: 40, max: 100)
        try setAvailable(2_250)
        let d = try makeDaemon()
        d.start()
        d.waitForNames([app, sidecar, plain])
        d.ticks(30)
        XCTAssertTrue(d.writer.entries(.nodePidsPressure).isEmpty, "nothing while flat")
        var available = 2_250
        var firstSaidAt: Int?
        for _ in 0..<40 {
            available -= 10
            try setAvailable(available)
            d.tick()
            if firstSaidAt == nil && !d.writer.entries(.nodePidsPressure).isEmpty { firstSaidAt = available }
        }
        let said = d.writer.entries(.nodePidsPressure)
        let first = try XCTUnwrap(said.first)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(firstSaidAt), 2_000, "said before the threshold was crossed")
        XCTAssertEqual(first.priority, .warning)
        XCTAssertEqual(field(first, "NODE_PIDS_THRESHOLD"), "2000")
        XCTAssertEqual(field(first, "NODE_PIDS_THRESHOLD_SOURCE"), "kubelet-config:\(kubeletPath)")
        XCTAssertEqual(field(first, "NODE_PIDS_CAPACITY"), "100000")
        XCTAssertEqual(field(first, "NODE_PIDS_KUBE_RESERVED"), "500")
        XCTAssertEqual(field(first, "NODE_TOP_PODS"), "ci/runner-7:320 web:40")
        XCTAssertNotNil(field(first, "PIDS_FORECAST_SECONDS"))
        XCTAssertTrue(first.message.hasPrefix("The node will reach kubelet's pid.available eviction threshold of 2000 in about "),
                      first.message)
        // Crossed: escalated to err, once.
        XCTAssertEqual(said.map(\.priority), [.warning, .err])
        XCTAssertEqual(d.writer.entries(.nodePidsRecovered).count, 0)
    }

    /// No kubelet file and no configured threshold: nothing is said however
    /// low the node runs; a reload that brings kubelet's file starts the watch.
    func testNoThresholdNoEntryUntilAReloadBringsKubeletsFile() throws {
        try setAvailable(500)
        let d = try makeDaemon()
        d.start()
        d.ticks(5)
        XCTAssertTrue(d.writer.entries(.nodePidsPressure).isEmpty)
        try writeKubelet("evictionHard: {pid.available: 1%}\n")
        d.daemon.reload()
        d.waitUntil("the reload entry") { !d.writer.entries(.configReloaded).isEmpty }
        d.ticks(1)
        let entry = try XCTUnwrap(d.writer.entries(.nodePidsPressure).first)
        XCTAssertEqual(entry.priority, .err)
        XCTAssertEqual(field(entry, "NODE_PIDS_THRESHOLD"), "1000")
        XCTAssertEqual(field(entry, "PIDS_FORECAST_SECONDS"), "0")
        // Back above it for recover_after (30s): recovered.
        try setAvailable(50_000)
        d.ticks(32)
        XCTAssertEqual(d.writer.entries(.nodePidsRecovered).count, 1)
    }

    /// A broken kubelet file: the configured threshold applies.
    func testABrokenKubeletFileLeavesTheConfiguredThreshold() throws {
        try FixtureHost.write("evictionHard: [not: closed\n", to: kubeletPath)
        try setAvailable(4_000)
        let d = try makeDaemon("  threshold: 5%")
        d.start()
        d.ticks(1)
        let entry = try XCTUnwrap(d.writer.entries(.nodePidsPressure).first)
        XCTAssertEqual(field(entry, "NODE_PIDS_THRESHOLD"), "5000")
        XCTAssertEqual(field(entry, "NODE_PIDS_THRESHOLD_SOURCE"), "config")
        XCTAssertTrue(entry.message.contains("(node_pids.threshold)"), entry.message)
    }
}
