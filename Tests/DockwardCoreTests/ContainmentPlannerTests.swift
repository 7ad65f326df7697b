import DockwardCore
import XCTest

/// The containment policy on hand-built inputs: guards, one action per
/// episode, the rate limit, dry run, and `exhausted_for` timing.
final class ContainmentPlannerTests: XCTestCase {
    let s: Int64 = 1_000_000_000
    func id(_ n: Int) -> ContainerID {
        let hex = String(n, radix: 16)
        return ContainerID(String(repeating: "c", count: 64 - hex.count) + hex)!
    }
    let named = ContainmentGuards(metadata: ContainerMetadata(name: "web", image: "nginx"))
    var on: ActionsPolicy {
        var p = ActionsPolicy()
        p.enabled = true
        p.capUnlimited = 500
        p.onExhausted = .pause
        p.exhaustedFor = .seconds(30)
        return p
    }

    func testDisabledDecidesNothingAndSaysNothing() {
        var planner = ContainmentPlanner()
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: named, policy: ActionsPolicy(), at: 0), .nothing)
    }

    func testActsOncePerEpisodeThenAgainAfterItEnds() {
        var planner = ContainmentPlanner()
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: named, policy: on, at: 0), .act(.cap(500)))
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: named, policy: on, at: s), .nothing,
                       "a reminder of the same trigger is no news")
        XCTAssertEqual(planner.decide(.pause, for: id(1), guards: named, policy: on, at: 2 * s), .skip(.pause, .alreadyActed),
                       "another action in the same episode is refused, and said")
        XCTAssertEqual(planner.decide(.pause, for: id(1), guards: named, policy: on, at: 3 * s), .nothing, "said once")
        planner.episodeEnded(id(1))
        XCTAssertEqual(planner.decide(.pause, for: id(1), guards: named, policy: on, at: 4 * s), .act(.pause))
    }

    func testGuardsInOrderAndOncePerEpisode() {
        var planner = ContainmentPlanner()
        let labelled = ContainmentGuards(metadata: ContainerMetadata(name: "db", image: "pg", labels: ["dockward.actions": "off"]),
                                         ignored: true, allowRuleMatches: true)
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: labelled, policy: on, at: 0), .skip(.cap(500), .label))
        XCTAssertEqual(planner.decide(.pause, for: id(1), guards: labelled, policy: on, at: s), .nothing, "left alone, said once")
        let ignored = ContainmentGuards(metadata: named.metadata, ignored: true, allowRuleMatches: true)
        XCTAssertEqual(planner.decide(.kill, for: id(2), guards: ignored, policy: on, at: 0), .skip(.kill, .ignored))
        let allowed = ContainmentGuards(metadata: named.metadata, allowRuleMatches: true)
        XCTAssertEqual(planner.decide(.stop, for: id(3), guards: allowed, policy: on, at: 0), .skip(.stop, .allowRule))
        XCTAssertEqual(planner.decide(.cap(1), for: id(4), guards: ContainmentGuards(metadata: nil), policy: on, at: 0),
                       .skip(.cap(1), .unknownContainer))
        let otherLabel = ContainmentGuards(metadata: ContainerMetadata(name: "x", image: "y", labels: ["dockward.actions": "on"]))
        XCTAssertEqual(planner.decide(.cap(1), for: id(5), guards: otherLabel, policy: on, at: 0), .act(.cap(1)),
                       "only the value off opts out")
    }

    func testDryRunSaysWhatItWouldDoAndCountsAsTheAction() {
        var planner = ContainmentPlanner()
        var dry = on
        dry.dryRun = true
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: named, policy: dry, at: 0), .dryRun(.cap(500)))
        XCTAssertEqual(planner.decide(.cap(500), for: id(1), guards: named, policy: dry, at: s), .nothing)
    }

    func testRateLimitHoldsAFleetAndFreesWithTheWindow() {
        var planner = ContainmentPlanner()
        let max = ContainmentPlanner.maxActionsPerWindow
        for n in 0..<max {
            XCTAssertEqual(planner.decide(.pause, for: id(n), guards: named, policy: on, at: Int64(n) * s), .act(.pause))
        }
        XCTAssertEqual(planner.decide(.pause, for: id(100), guards: named, policy: on, at: 10 * s), .skip(.pause, .rateLimit))
        XCTAssertEqual(planner.decide(.pause, for: id(100), guards: named, policy: on, at: 20 * s), .nothing, "said once")
        XCTAssertEqual(planner.decide(.pause, for: id(101), guards: named, policy: on, at: 20 * s), .skip(.pause, .rateLimit))
        // The first action leaves the window 60 s after it: one slot frees.
        XCTAssertEqual(planner.decide(.pause, for: id(100), guards: named, policy: on, at: 60 * s), .act(.pause),
                       "a rate-limited container is tried again at its next trigger")
        XCTAssertEqual(planner.decide(.pause, for: id(101), guards: named, policy: on, at: 60 * s + 1), .nothing)
        XCTAssertEqual(planner.decide(.pause, for: id(101), guards: named, policy: on, at: 61 * s), .act(.pause))
    }

    func testSkipsDoNotCountAgainstTheRateLimit() {
        var planner = ContainmentPlanner()
        let labelled = ContainmentGuards(metadata: ContainerMetadata(name: "x", image: "y", labels: ["dockward.actions": "off"]))
        for n in 0..<20 { _ = planner.decide(.pause, for: id(n), guards: labelled, policy: on, at: 0) }
        XCTAssertEqual(planner.decide(.pause, for: id(99), guards: named, policy: on, at: 0), .act(.pause))
    }

    func testExhaustionIsDueAfterExhaustedForStuckWithoutABreak() {
        var planner = ContainmentPlanner()
        let c = id(1)
        func due(_ current: Int64, lastRefusal: Int64?, at t: Int64) -> Bool {
            planner.exhaustionDue(c, current: current, limit: 50, lastRefusalAt: lastRefusal, policy: on, at: t)
        }
        XCTAssertFalse(due(50, lastRefusal: 0, at: 100 * s), "not timed before its first entry")
        planner.refusalSeen(c, at: 10 * s)
        planner.refusalSeen(c, at: 20 * s)  // a reminder keeps the start
        XCTAssertEqual(planner.refusing, [c])
        XCTAssertFalse(due(50, lastRefusal: 10 * s, at: 39 * s), "29 s of 30")
        XCTAssertTrue(due(50, lastRefusal: 10 * s, at: 40 * s), "pinned at its limit, refusing nothing more")
        XCTAssertFalse(due(30, lastRefusal: 10 * s, at: 41 * s), "it got room and refused nothing: leave it")
        XCTAssertFalse(due(30, lastRefusal: 42 * s, at: 42 * s), "refusing again, with room: stuck from 42 s")
        XCTAssertFalse(due(49, lastRefusal: 42 * s, at: 71 * s), "one below its limit counts; 29 s of 30")
        XCTAssertTrue(due(49, lastRefusal: 42 * s, at: 72 * s))
        XCTAssertEqual(planner.decide(.pause, for: c, guards: named, policy: on, at: 72 * s), .act(.pause))
        XCTAssertEqual(planner.refusing, [], "timing ends with the decision")
        XCTAssertFalse(due(50, lastRefusal: 199 * s, at: 200 * s), "settled: never due again this episode")
        planner.episodeEnded(c)
        planner.refusalSeen(c, at: 300 * s)
        XCTAssertFalse(due(50, lastRefusal: 300 * s, at: 320 * s), "a new episode is timed afresh")
        XCTAssertTrue(due(50, lastRefusal: 300 * s, at: 330 * s))
    }

    func testStillRefusingWithRoomCountsAsStuck() {
        // Tasks die and are forked again at once: the count moves below the
        // limit, but every check finds new refusals.
        var planner = ContainmentPlanner()
        let c = id(2)
        planner.refusalSeen(c, at: 0)
        for t in 0..<30 {
            XCTAssertFalse(planner.exhaustionDue(c, current: 20, limit: 50, lastRefusalAt: Int64(t) * s, policy: on, at: Int64(t) * s))
        }
        XCTAssertTrue(planner.exhaustionDue(c, current: 20, limit: 50, lastRefusalAt: 30 * s, policy: on, at: 30 * s))
    }

    func testEntryTextsSayWhatWhyAndUndo() {
        let ref = ContainerRef(id: id(7), metadata: ContainerMetadata(name: "leaky", image: "busybox"), cgroupPath: "/docker/x")
        let taken = Finding.action(ActionReport(result: .taken, action: .cap(500), reason: .runawayForecast, container: ref,
                                                  current: 321, cgroupWrite: .ok, engineUpdate: .pending)).entry
        XCTAssertEqual(taken.kind, .actionTaken)
        XCTAssertEqual(taken.priority, .warning)
        XCTAssertTrue(taken.message.hasPrefix("Gave container leaky (\(id(7).short)) a pids limit of 500: it has no pids limit"), taken.message)
        XCTAssertTrue(taken.message.contains("Undo: docker update --pids-limit -1 \(id(7).short)"), taken.message)
        XCTAssertTrue(taken.message.contains("engine is unreachable"), taken.message)
        let fields = Dictionary(taken.allFields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["DOCKWARD_ALERT"], "action-taken")
        XCTAssertEqual(fields["DOCKWARD_ACTION"], "cap")
        XCTAssertEqual(fields["PIDS_LIMIT_SET"], "500")
        XCTAssertEqual(fields["ACTION_REASON"], "runaway-forecast")
        XCTAssertEqual(fields["ENGINE_UPDATE"], "pending")
        let paused = Finding.action(ActionReport(result: .taken, action: .pause, reason: .exhausted, container: ref, limit: 50)).entry
        XCTAssertTrue(paused.message.hasPrefix("Paused container leaky"), paused.message)
        XCTAssertTrue(paused.message.contains("Undo: docker unpause \(id(7).short)"), paused.message)
        let failed = Finding.action(ActionReport(result: .failed, action: .kill, reason: .exhausted, container: ref, error: "boom\nx")).entry
        XCTAssertEqual(failed.priority, .err)
        XCTAssertFalse(failed.message.contains("\n"))
        let skipped = Finding.action(ActionReport(result: .skipped, action: .cap(5), reason: .hostPidsHigh, container: ref,
                                                    skipReason: .label)).entry
        XCTAssertEqual(skipped.priority, .notice)
        XCTAssertTrue(skipped.message.contains("dockward.actions=off"), skipped.message)
        let dry = Finding.action(ActionReport(result: .dryRun, action: .stop, reason: .exhausted, container: ref)).entry
        XCTAssertEqual(dry.kind, .actionDryRun)
        XCTAssertTrue(dry.message.hasPrefix("Dry run: would stop container leaky"), dry.message)
    }
}
