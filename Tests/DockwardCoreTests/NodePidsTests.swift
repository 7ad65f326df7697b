@testable import DockwardCore
import XCTest

final class KubeletConfigTests: XCTestCase {
    static let header = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

    func parse(_ body: String) throws -> KubeletPidsSettings {
        try KubeletConfig.parse(text: Self.header + body)
    }

    func testNumbersAndPercentages() throws {
        let s = try parse("""
            evictionHard:
              memory.available: 100Mi
              pid.available: "1000"
            evictionSoft:
              pid.available: 10%
            """)
        XCTAssertEqual(s.evictionHard, .count(1000))
        XCTAssertEqual(s.evictionSoft, .percent(10))
        XCTAssertEqual(try parse("evictionHard: {pid.available: 2k}").evictionHard, .count(2000))
        XCTAssertEqual(try parse("evictionHard: {pid.available: 1Ki}").evictionHard, .count(1024))
        XCTAssertEqual(try parse("evictionHard: {pid.available: 7.5%}").evictionHard, .percent(7.5))
        XCTAssertEqual(try parse("evictionHard: {pid.available: 1500}").evictionHard, .count(1500))
        XCTAssertEqual(PidsAvailableThreshold.percent(10).value(capacity: 32_768), 3_276)
    }

    /// kubelet ignores 0% and 100%; no pid.available is no threshold.
    func testAbsentAndDisabledThresholds() throws {
        XCTAssertFalse(try parse("evictionHard: {memory.available: 100Mi}").hasThreshold)
        XCTAssertFalse(try parse("evictionHard: {pid.available: 0%}").hasThreshold)
        XCTAssertFalse(try parse("evictionHard: {pid.available: 100%}").hasThreshold)
        XCTAssertFalse(try parse("evictionHard:\n").hasThreshold)
        XCTAssertEqual(try KubeletConfig.parse(text: ""), KubeletPidsSettings())
    }

    func testReservedPids() throws {
        let s = try parse("systemReserved: {cpu: 500m, pid: \"1000\"}\nkubeReserved: {pid: 2k}\n")
        XCTAssertEqual(s.systemReserved, 1000)
        XCTAssertEqual(s.kubeReserved, 2000)
        XCTAssertFalse(s.hasThreshold)
    }

    func testBrokenFilesSayWhy() {
        func problem(_ text: String) -> String? {
            do { _ = try KubeletConfig.parse(text: text); return nil } catch { return error.reason }
        }
        XCTAssertTrue(problem("evictionHard: [unclosed")?.hasPrefix("not valid YAML") == true)
        XCTAssertEqual(problem("- a list"), "expected a KubeletConfiguration mapping")
        XCTAssertEqual(problem("kind: Pod\n"), "kind is Pod, not KubeletConfiguration")
        XCTAssertEqual(problem("apiVersion: v1\n"), "apiVersion is v1, not kubelet.config.k8s.io/v1beta1")
        XCTAssertEqual(problem(Self.header + "evictionHard: 5\n"), "evictionHard is not a mapping")
        XCTAssertEqual(problem(Self.header + "evictionHard: {pid.available: lots}\n"),
                       "evictionHard.pid.available is \"lots\": expected a number or a percentage below 100%")
        XCTAssertEqual(problem(Self.header + "evictionSoft: {pid.available: \"-5\"}\n"),
                       "evictionSoft.pid.available is \"-5\": expected a number or a percentage below 100%")
        XCTAssertEqual(problem(Self.header + "kubeReserved: {pid: 10%}\n"), "kubeReserved.pid is \"10%\": expected a whole number")
    }

    /// The soft threshold is the higher and fires first; kubelet's file wins over the config's.
    func testResolvedThresholdIsTheHighestAndKubeletsWins() {
        let kubelet = KubeletPidsSettings(evictionHard: .count(1000), evictionSoft: .percent(10), kubeReserved: 5)
        let t = NodePidsThreshold.resolve(kubelet: kubelet, kubeletPath: "/k.yaml", configured: .count(50))
        XCTAssertEqual(t?.source, .kubeletConfig("/k.yaml"))
        XCTAssertEqual(t?.source.text, "kubelet-config:/k.yaml")
        XCTAssertEqual(t?.value(capacity: 32_768), 3_276)
        XCTAssertEqual(t?.value(capacity: 5_000), 1000)
        XCTAssertEqual(t?.kubeReserved, 5)
        let fallback = NodePidsThreshold.resolve(kubelet: KubeletPidsSettings(), kubeletPath: "/k.yaml", configured: .percent(5))
        XCTAssertEqual(fallback?.source, .config)
        XCTAssertEqual(fallback?.value(capacity: 1000), 50)
        XCTAssertNil(NodePidsThreshold.resolve(kubelet: nil, kubeletPath: "/k.yaml", configured: .count(0)))
    }

    func testThresholdText() {
        XCTAssertEqual(PidsAvailableThreshold(text: "10%"), .percent(10))
        XCTAssertNil(PidsAvailableThreshold(text: "100%"))
        XCTAssertNil(PidsAvailableThreshold(text: "1.5"))
        XCTAssertEqual(PidsAvailableThreshold.percent(10).description, "10%")
        XCTAssertEqual(PidsAvailableThreshold.percent(7.5).description, "7.5%")
        XCTAssertEqual(PidsAvailableThreshold.count(0).description, "0")
    }
}

/// Drives the node's detector once a second on a node of `capacity`.
struct NodeRun {
    var detector = NodePidsDetector(window: .seconds(30))
    var threshold = NodePidsThreshold(thresholds: [.count(1000)], source: .kubeletConfig("/var/lib/kubelet/config.yaml"))
    var timing = AlertTiming(repeatInterval: .minutes(10), recoverAfter: .seconds(30))
    var capacity: Int64 = 32_768
    var second = 0
    var said: [(second: Int, finding: NodePidsFinding)] = []

    /// One sample: `available` free pids now.
    mutating func feed(available: Int64) {
        let host = HostPidsSample(tasks: capacity - available, ceiling: capacity)
        for f in detector.observe(host, at: Int64(second) * 1_000_000_000, threshold: threshold, horizon: .minutes(5),
                                  timing: timing) {
            said.append((second, f))
        }
        second += 1
    }

    func kinds() -> [EntryKind] { said.map(\.finding.kind) }
}

final class NodePidsDetectorTests: XCTestCase {
    /// A bounded leak of 400 tasks at 10/s, starting 250 above the
    /// threshold: said while available is still above it.
    func testALeakIsForecastBeforeTheThresholdIsCrossed() throws {
        var run = NodeRun()
        for _ in 0..<60 { run.feed(available: 1250) }
        var available: Int64 = 1250
        var crossedAt: Int?
        for _ in 0..<40 {
            available -= 10
            if available < 1000 && crossedAt == nil { crossedAt = run.second }
            run.feed(available: available)
        }
        let first = try XCTUnwrap(run.said.first)
        XCTAssertEqual(first.finding.kind, .nodePidsPressure)
        XCTAssertEqual(first.finding.priority, .warning)
        XCTAssertLessThan(first.second, try XCTUnwrap(crossedAt), "said before the threshold was crossed")
        XCTAssertGreaterThanOrEqual(first.finding.available, 1000)
        XCTAssertEqual(first.finding.threshold, 1000)
        // The first forecast stands on a window still half flat: Theil-Sen's
        // slope is below the leak's 10/s, never above it.
        XCTAssertGreaterThan(try XCTUnwrap(first.finding.rate), 0)
        XCTAssertLessThanOrEqual(try XCTUnwrap(first.finding.rate), 10)
        XCTAssertNotNil(first.finding.secondsToThreshold)
        // Then under it: escalated to err, once.
        XCTAssertEqual(run.said.map(\.finding.priority), [.warning, .err])
        XCTAssertEqual(run.said.last?.finding.secondsToThreshold, 0)
    }

    func testAFlatOrRisingAvailableSaysNothing() {
        var run = NodeRun()
        for s in 0..<200 { run.feed(available: 1300 + Int64(s % 3)) }
        for s in 0..<100 { run.feed(available: 1300 + Int64(s) * 5) }  // tasks exiting
        XCTAssertEqual(run.kinds(), [])
    }

    /// A burst that drops available in one step and stays above: no trend.
    func testAOneStepDropAboveTheThresholdIsNoForecast() {
        var run = NodeRun()
        for _ in 0..<30 { run.feed(available: 5000) }
        for _ in 0..<60 { run.feed(available: 1200) }
        XCTAssertEqual(run.kinds(), [])
    }

    func testUnderTheThresholdIsErrRemindedThenRecovered() {
        var run = NodeRun()
        run.timing = AlertTiming(repeatInterval: .seconds(20), recoverAfter: .seconds(10))
        for _ in 0..<45 { run.feed(available: 900) }  // under: err at once, reminders at 20 s and 40 s
        for _ in 0..<15 { run.feed(available: 5000) }
        XCTAssertEqual(run.kinds(), [.nodePidsPressure, .nodePidsPressure, .nodePidsPressure, .nodePidsRecovered])
        XCTAssertEqual(run.said.map(\.second), [0, 20, 40, 54])  // clear from 45: last trouble at 44, + recover_after
        XCTAssertEqual(run.said.map(\.finding.isReminder), [false, true, true, false])
        XCTAssertEqual(run.said.map(\.finding.priority), [.err, .err, .err, .notice])
        XCTAssertNil(run.detector.openPriority)
    }

    /// A percentage is of min(pid_max, threads-max).
    func testPercentThresholdFollowsTheCapacity() {
        var run = NodeRun()
        run.threshold = NodePidsThreshold(thresholds: [.count(100), .percent(10)], source: .config)
        run.capacity = 10_000
        run.feed(available: 999)
        XCTAssertEqual(run.said.first?.finding.threshold, 1000)
        XCTAssertEqual(run.said.first?.finding.priority, .err)
    }

    func testTopPodsSumContainersByPod() {
        func pod(_ ns: String, _ name: String, _ container: String) -> ContainerMetadata {
            ContainerMetadata(name: "k8s_\(container)", image: "i",
                              pod: PodIdentity(namespace: ns, pod: name, podUID: "u", container: container))
        }
        let sandbox = ContainerMetadata(name: "pause", image: "pause", pod: PodIdentity(namespace: "a", pod: "web", podUID: "u", container: ""),
                                        isSandbox: true)
        let top = PodTasks.top([
            (pod("a", "web", "app"), "k8s_app", 300), (pod("a", "web", "sidecar"), "k8s_sidecar", 50),
            (pod("b", "db", "pg"), "k8s_pg", 200), (nil, "plain", 400), (sandbox, "pause", 1_000),
            (pod("c", "x", "x"), "x", 1), (pod("c", "y", "y"), "y", 2), (pod("c", "z", "z"), "z", 2),
        ])
        XCTAssertEqual(top.map { "\($0.name):\($0.tasks)" }, ["plain:400", "a/web:350", "b/db:200", "c/y:2", "c/z:2"])
    }

    func testEntryWords() {
        var f = NodePidsFinding(kind: .nodePidsPressure, priority: .warning, available: 1120, capacity: 32_768,
                                threshold: 1000, source: .kubeletConfig("/var/lib/kubelet/config.yaml"), kubeReserved: 500,
                                secondsToThreshold: 12.4, rate: 10,
                                topPods: [PodTasks(name: "ci/runner-7", tasks: 2_400), PodTasks(name: "web", tasks: 30)])
        let entry = Finding.nodePids(f).entry
        XCTAssertEqual(entry.message, "The node will reach kubelet's pid.available eviction threshold of 1000 in about 12 s: "
                       + "1120 of 32768 tasks free, falling 10/s; top pods: ci/runner-7:2400, web:30.")
        let fields = Dictionary(entry.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["NODE_TOP_PODS"], "ci/runner-7:2400 web:30")
        XCTAssertEqual(fields["NODE_PIDS_THRESHOLD_SOURCE"], "kubelet-config:/var/lib/kubelet/config.yaml")
        XCTAssertEqual(fields["NODE_PIDS_AVAILABLE"], "1120")
        XCTAssertEqual(fields["NODE_PIDS_CAPACITY"], "32768")
        XCTAssertEqual(fields["NODE_PIDS_KUBE_RESERVED"], "500")
        XCTAssertEqual(fields["PIDS_FORECAST_SECONDS"], "12")
        XCTAssertEqual(fields["PIDS_RATE"], "10")
        XCTAssertEqual(entry.priority, .warning)
        f.source = .config
        f.available = 900
        f.priority = .err
        f.isReminder = true
        XCTAssertEqual(Finding.nodePids(f).entry.message,
                       "Still: The node is under the pid.available threshold of 1000 (node_pids.threshold), so kubelet may "
                       + "evict pods: 900 of 32768 tasks free, falling 10/s; top pods: ci/runner-7:2400, web:30.")
        XCTAssertEqual(Finding.nodePids(f).entry.priority, .err)
        XCTAssertEqual(Finding.nodePids(f).episodeKey, .nodePids)
        let recovered = NodePidsFinding(kind: .nodePidsRecovered, available: 5000, capacity: 32_768, threshold: 1000,
                                        source: .config)
        XCTAssertEqual(Finding.nodePids(recovered).entry.priority, .notice)
        XCTAssertNil(Finding.nodePids(recovered).episodeKey)
    }
}
