import DockwardCore
import XCTest

/// Which limit refused a fork, from readings of the chain of cgroups: the
/// kernel charges from the cgroup that forked upwards and stops at the first
/// limit it would pass, so the lowest cgroup at its limit is the one.
final class RefusingLimitTests: XCTestCase {
    private let container = "/acme.slice/docker-x.scope"

    private func reading(_ cgroup: String, _ limit: Int64?, _ current: Int64, local: Int64? = nil) -> CgroupLimitReading {
        CgroupLimitReading(cgroup: cgroup, limit: limit, current: current, localRefusals: local)
    }

    func testTable() {
        let cases: [(String, [CgroupLimitReading], Int, RefusingLimit?)] = [
            ("its own limit, at it", [reading(container, 50, 50), reading("/acme.slice", nil, 60)], 0, nil),
            ("its own limit, one below it (the refused task is gone)",
             [reading(container, 50, 49), reading("/acme.slice", 100, 60)], 0, nil),
            ("the slice above, before 6.11", [reading(container, 200, 39), reading("/acme.slice", 40, 40)], 0,
             RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent)),
            ("the slice above, no limit of its own", [reading(container, nil, 40), reading("/acme.slice", 40, 40)], 0,
             RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent)),
            ("the lowest of two limits above", [reading(container, nil, 10), reading("/acme.slice/b.slice", 10, 10),
                                               reading("/acme.slice", 10, 10)], 0,
             RefusingLimit(cgroup: "/acme.slice/b.slice", limit: 10, place: .parent)),
            ("6.11+: the one whose own limit refused, though both are at theirs",
             [reading(container, 40, 40, local: 0), reading("/acme.slice", 40, 40, local: 3)], 0,
             RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent)),
            ("6.11+: the burst is over, the count tells",
             [reading(container, 200, 3, local: 0), reading("/acme.slice", 40, 5, local: 3)], 0,
             RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent)),
            ("6.11+: its own", [reading(container, 50, 50, local: 2), reading("/acme.slice", 100, 60, local: 0)], 0, nil),
            ("a cgroup inside it with a lower limit", [reading(container + "/sub", 20, 20), reading(container, 50, 20),
                                                     reading("/acme.slice", nil, 30)], 1,
             RefusingLimit(cgroup: container + "/sub", limit: 20, place: .subgroup)),
            ("a cgroup inside it, its own limit refused", [reading(container + "/sub", nil, 49), reading(container, 50, 50)], 1, nil),
            ("nothing at a limit: its own is what the entry speaks of", [reading(container, 200, 5), reading("/acme.slice", 40, 6)], 0, nil),
            ("no container in the chain", [reading("/acme.slice", 40, 40)], 3, nil),
        ]
        for (name, chain, index, expected) in cases {
            XCTAssertEqual(RefusingLimitFinder.find(chain: chain, containerIndex: index), expected, name)
        }
    }

    func testExhaustedEntryNamesTheLimitAbove() {
        let id = ContainerID(String(repeating: "ab", count: 32))!
        let ref = ContainerRef(id: id, metadata: ContainerMetadata(name: "/web", image: "busybox"), cgroupPath: "/sys/fs/cgroup/acme.slice/docker-x.scope")
        var detector = ContainerPidsDetector(policy: PidsPolicy(), countsEarlierRefusals: true)
        let timing = AlertTiming(repeatInterval: .seconds(300), recoverAfter: .seconds(30))
        let above = RefusingLimit(cgroup: "/acme.slice", limit: 40, place: .parent)
        _ = detector.observe(PidsSample(current: 10, limit: 200, refusedForks: 0), at: 0, policy: PidsPolicy(), timing: timing, host: nil)
        let findings = detector.observe(PidsSample(current: 39, limit: 200, refusedForks: 3, refusingLimit: above),
                                        at: 1_000_000_000, policy: PidsPolicy(), timing: timing, host: nil)
        let exhausted = findings.first { $0.kind == .pidsExhausted }
        XCTAssertEqual(exhausted?.limit, 40, "measured against the limit that refused")
        XCTAssertEqual(exhausted?.refusingLimit, above)
        let entry = Finding.containerPids(exhausted!, ref, peak: nil).entry
        let fields = Dictionary(entry.allFields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["PIDS_MAX"], "40")
        XCTAssertEqual(fields["PIDS_MAX_SOURCE"], "parent")
        XCTAssertEqual(fields["PIDS_MAX_CGROUP"], "/acme.slice")
        XCTAssertEqual(entry.message, "Container web (abababababab) hit the pids limit of 40 on /acme.slice (a cgroup above it, "
                       + "not a limit of its own): 39 tasks in the container, the kernel refused 3 forks (3 since the last report).")
    }
}
