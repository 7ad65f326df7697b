import DockwardCore
import XCTest

/// The typed finding decides its kind and container from its data; the
/// entry the writer renders from it must agree, for every case.
final class FindingTests: XCTestCase {
    static let id = ContainerID(String(repeating: "b", count: 64))!
    static let metadata = ContainerMetadata(name: "/web", image: "nginx:1")

    static func everyCase() -> [Finding] {
        let ref = ContainerRef(id: id, metadata: metadata, cgroupPath: "/docker/x")
        let details = ContainerDetails(id: id, metadata: metadata,
                                       mounts: [MountPoint(kind: .bind, source: "/run/docker.sock", destination: "/s", readWrite: true)],
                                       binds: [], state: "running")
        let exposure = SocketExposure(socket: "/run/docker.sock", mountSource: "/run/docker.sock", mountDestination: "/s",
                                      readWrite: true, kind: .direct)
        var out: [Finding] = []
        for kind in [EntryKind.pidsUnlimited, .pidsHigh, .pidsExhausted, .pidsForecast, .pidsRecovered] {
            out.append(.containerPids(PidsFinding(kind: kind, priority: .err, current: 10, limit: 20), ref, peak: 12))
        }
        for kind in [EntryKind.hostPidsHigh, .hostPidsRecovered] {
            out.append(.hostPids(PidsFinding(kind: kind, priority: .err, current: 10, limit: 20, limitIsHost: true)))
        }
        for kind in [EntryKind.nodePidsPressure, .nodePidsRecovered] {
            out.append(.nodePids(NodePidsFinding(kind: kind, priority: .err, available: 10, capacity: 20, threshold: 15,
                                                 source: .config)))
        }
        for rule in [nil, ContainerMatcher(name: "web")] {
            out.append(.socketExposure(SocketExposureFinding(details: details, exposures: [exposure], allowedBy: rule,
                                                             eventTimeNano: 1)!))
            for finding in [HostControlFinding.privileged, .hostPID(capabilities: ["SYS_ADMIN"]),
                            .blockDevice(path: "/dev/sda", volume: nil),
                            .engineState(statePath: "/var/lib/docker",
                                         mount: MountPoint(kind: .bind, source: "/var/lib", destination: "/l", readWrite: true))] {
                out.append(.hostControl(details, finding, allowedBy: rule, eventTimeNano: nil))
            }
        }
        out.append(.selfExempt(SelfExemption(details: details, own: OwnContainer(id: details.id, cgroupPath: "/docker/" + details.id.full),
                                             exempted: [.socketMount], socket: "/var/run/docker.sock")))
        out.append(.socketUnresolved(details, [UnresolvedMount(source: "/srv", destination: "/x", reason: "EACCES")],
                                     eventTimeNano: nil))
        out.append(.engineTCPExposed(EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                                           place: ConfigPlace(path: "/etc/docker/daemon.json", line: 2)),
                                     unreadable: []))
        for result in ActionReport.Result.allCases {
            out.append(.action(ActionReport(result: result, action: .pause, reason: .exhausted, container: ref)))
        }
        out += [
            .lifecycle(.daemonStarted(DaemonStart(version: "1", config: DockwardConfig(), configPath: "/c", engineSocket: "/s",
                                                  cgroupLayout: "v2", openEpisodes: nil, stateFile: nil))),
            .lifecycle(.daemonStopped(watching: 1)),
            .lifecycle(.configReloaded(changes: [], configPath: "/c")),
            .lifecycle(.configRejected(ConfigError([]), configPath: "/c")),
            .lifecycle(.engineLost(socket: "/s", reason: "gone", retryCap: .seconds(30))),
            .lifecycle(.engineBack(socket: "/s", outage: 1)),
            .lifecycle(.engineConnected(socket: "/s", product: "Podman 4.3.1", apiVersion: "1.41")),
            .lifecycle(.journalReplayed(JournalReplay(outageSeconds: 3, written: 2, dropped: 0, queueLimit: 10))),
            .lifecycle(.alertmanagerLost(url: "http://am:9093", reason: "refused")),
            .lifecycle(.alertmanagerBack(url: "http://am:9093", outage: 1, dropped: 0)),
        ]
        return out
    }

    func testEveryFindingsPriorityIsOneItsKindAllows() {
        let all = Self.everyCase()
        XCTAssertEqual(Set(all.map(\.kind)), Set(EntryKind.allCases), "one finding of every kind")
        for finding in all {
            XCTAssertTrue(finding.kind.facts.priority.allowed.contains(finding.priority), "\(finding.kind): \(finding.priority)")
            XCTAssertEqual(finding.entry.priority, finding.priority, "the entry carries the finding's decision")
        }
    }

    /// Where the table leaves the priority to the data, the data decides:
    /// the threshold crossed; and a fixed kind ignores what a caller passed.
    func testTheDataDecidesOnlyWhereTheTableLetsIt() {
        let ref = ContainerRef(id: Self.id, metadata: Self.metadata)
        for p in [Priority.warning, .err] {
            XCTAssertEqual(Finding.containerPids(PidsFinding(kind: .pidsHigh, priority: p, current: 9, limit: 10), ref, peak: nil).priority, p)
            XCTAssertEqual(Finding.hostPids(PidsFinding(kind: .hostPidsHigh, priority: p, current: 9, limit: 10)).priority, p)
        }
        let exhausted = PidsFinding(kind: .pidsExhausted, priority: .notice, current: 10, limit: 10)
        XCTAssertEqual(exhausted.priority, .crit)
        XCTAssertEqual(Finding.containerPids(exhausted, ref, peak: nil).priority, .crit)
        let details = ContainerDetails(id: Self.id, metadata: Self.metadata, mounts: [], binds: [], state: "running")
        XCTAssertEqual(Finding.hostControl(details, .privileged, allowedBy: nil, eventTimeNano: nil).priority, .crit)
        XCTAssertEqual(Finding.hostControl(details, .hostPID(capabilities: ["SYS_PTRACE"]), allowedBy: nil,
                                           eventTimeNano: nil).priority, .err)
        XCTAssertEqual(Finding.hostControl(details, .privileged, allowedBy: ContainerMatcher(name: "web"),
                                           eventTimeNano: nil).priority, .notice)
        XCTAssertEqual(Finding.lifecycle(.alertmanagerBack(url: "u", outage: 1, dropped: 2)).priority, .warning)
        XCTAssertEqual(Finding.lifecycle(.alertmanagerBack(url: "u", outage: 1, dropped: 0)).priority, .notice)
    }

    func testASocketExposureFindingNeedsAnExposure() {
        let details = ContainerDetails(id: Self.id, metadata: Self.metadata, mounts: [], binds: [], state: "running")
        XCTAssertNil(SocketExposureFinding(details: details, exposures: [], allowedBy: nil, eventTimeNano: nil))
    }

    func testTheReplayNoticeIsAWarningOnlyWhenEntriesWereDropped() {
        let kept = Finding.lifecycle(.journalReplayed(JournalReplay(outageSeconds: 3, written: 2, dropped: 0, queueLimit: 10))).entry
        XCTAssertEqual(kept.priority, .notice)
        XCTAssertFalse(kept.message.contains("dropped"))
        let cut = Finding.lifecycle(.journalReplayed(JournalReplay(outageSeconds: 3, written: 10, dropped: 5, queueLimit: 10))).entry
        XCTAssertEqual(cut.priority, .warning)
        XCTAssertTrue(cut.message.contains("5 older ones were dropped (queue limit 10)"), cut.message)
    }
}
