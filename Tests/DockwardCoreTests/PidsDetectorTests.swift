@testable import DockwardCore
import XCTest

/// Drives a detector with a series sampled once per second (as the daemon
/// does by default) and collects what it said, with the second it said it.
struct SeriesRun {
    var detector: ContainerPidsDetector
    var policy: PidsPolicy
    var timing = AlertTiming(repeatInterval: .minutes(10), recoverAfter: .seconds(30))
    var host: HostPidsSample? = HostPidsSample(tasks: 500, ceiling: 4_194_304)
    var second = 0
    var said: [(second: Int, finding: PidsFinding)] = []

    init(policy: PidsPolicy = PidsPolicy()) {
        self.policy = policy
        detector = ContainerPidsDetector(policy: policy)
    }

    mutating func feed(current: Int64, limit: Int64, refused: Int64 = 0) {
        let sample = PidsSample(current: current, limit: limit, refusedForks: refused)
        for f in detector.observe(sample, at: Int64(second) * 1_000_000_000, policy: policy, timing: timing, host: host) {
            said.append((second, f))
        }
        second += 1
    }

    func kinds() -> [EntryKind] { said.map(\.finding.kind) }
    func first(_ kind: EntryKind) -> (second: Int, finding: PidsFinding)? { said.first { $0.finding.kind == kind } }
}

final class PidsDetectorTests: XCTestCase {
    // A steady leak: a worker forks and never reaps, ~2 tasks a second with
    // jitter, towards a limit of 200. The forecast must come before the first
    // refused fork, and early enough to act (the horizon is 60 s).
    /// The ceiling the forecast aims at (shared with the forecast metric).
    func testCeilingIsTheLimitElseCountPlusHostRoom() {
        let host = HostPidsSample(tasks: 1000, ceiling: 1120)
        XCTAssertEqual(PidsSample(current: 40, limit: 100, refusedForks: 0).ceiling(host: host), 100)
        XCTAssertEqual(PidsSample(current: 40, limit: 100, refusedForks: 0).ceiling(host: nil), 100)
        let unlimited = PidsSample(current: 40, limit: PidsSample.unlimited, refusedForks: 0)
        XCTAssertEqual(unlimited.ceiling(host: host), 160)
        XCTAssertNil(unlimited.ceiling(host: nil))
        // A host already over its ceiling leaves no room, never negative room.
        XCTAssertEqual(unlimited.ceiling(host: HostPidsSample(tasks: 1200, ceiling: 1120)), 40)
    }

    func testSteadyLeakForecastsBeforeAnyForkIsRefused() {
        var run = SeriesRun()
        var current: Int64 = 5
        var refused: Int64 = 0
        let jitter: [Int64] = [2, 1, 3, 2, 2, 1, 2, 3, 2, 2]
        var refusedAt: Int?
        for i in 0..<150 {
            current += jitter[i % jitter.count]
            if current > 200 { refused += current - 200; current = 200; refusedAt = refusedAt ?? run.second }
            run.feed(current: current, limit: 200, refused: refused)
        }
        guard let forecast = run.first(.pidsForecast) else { return XCTFail("no forecast: \(run.kinds())") }
        XCTAssertLessThan(forecast.second, refusedAt ?? .max, "forecast must precede the first refused fork")
        XCTAssertEqual(forecast.finding.priority, .err)
        XCTAssertEqual(forecast.finding.limit, 200)
        XCTAssertEqual(forecast.finding.rate ?? 0, 2, accuracy: 0.5)
        XCTAssertLessThanOrEqual(forecast.finding.secondsToLimit ?? 999, 60)
        XCTAssertGreaterThan(forecast.finding.secondsToLimit ?? 0, 30, "a leak this steady should be seen with time to act")
        XCTAssertEqual(run.said.filter { $0.finding.kind == .pidsForecast }.count, 1, "one forecast per episode")
        XCTAssertNotNil(run.first(.pidsExhausted), "and the wall itself is reported")
    }

    // A build fanning out: from 3 tasks to 180 in two seconds, a few seconds
    // of work, then back down; again every 20 s. Not a leak.
    func testBuildBurstsStaySilent() {
        var run = SeriesRun()
        let burst: [Int64] = [90, 180, 178, 181, 175, 120, 40, 3]
        for _ in 0..<10 {
            for v in burst { run.feed(current: v, limit: 500) }
            for _ in 0..<12 { run.feed(current: 3, limit: 500) }
        }
        XCTAssertEqual(run.kinds(), [], "a draining burst is not a trend")
    }

    // The same burst shape against a tight limit: the ratio alerts are for
    // that; the forecast still stays quiet.
    func testBurstRampingOverSecondsIsNotAForecast() {
        var run = SeriesRun()
        for _ in 0..<25 { run.feed(current: 4, limit: 1000) }
        for v: Int64 in [100, 200, 300, 300, 290, 150, 20, 4] { run.feed(current: v, limit: 1000) }
        for _ in 0..<30 { run.feed(current: 4, limit: 1000) }
        XCTAssertFalse(run.kinds().contains(.pidsForecast), "\(run.kinds())")
    }

    // A fork bomb at its limit for an hour: a handful of entries, not thousands.
    func testForkBombForAnHourIsAHandfulOfEntries() {
        var run = SeriesRun()
        run.feed(current: 1, limit: 50)
        var refused: Int64 = 0
        for _ in 0..<3600 {
            refused += 5000
            run.feed(current: 50, limit: 50, refused: refused)
        }
        let exhausted = run.said.filter { $0.finding.kind == .pidsExhausted }
        XCTAssertEqual(exhausted.first?.second, 1, "reported on the first poll that sees refused forks")
        XCTAssertEqual(exhausted.first?.finding.priority, .crit)
        XCTAssertEqual(exhausted.first?.finding.limit, 50)
        XCTAssertEqual(exhausted.first?.finding.isReminder, false)
        XCTAssertEqual(exhausted.count, 6, "first + one reminder every 10 minutes")
        XCTAssertTrue(exhausted.dropFirst().allSatisfy(\.finding.isReminder))
        XCTAssertEqual(exhausted[1].finding.newlyRefused, 600 * 5000)
        XCTAssertEqual(run.kinds(), Array(repeating: .pidsExhausted, count: 6),
                       "one incident, one alert: no pids-high or pids-forecast while forks are refused")
    }

    /// A leak that is high first and then refused: the pids-high said before
    /// the refusals stands, and nothing but pids-exhausted follows while the
    /// refusals go on (no escalation, no forecast, no reminders); once every
    /// condition has cleared, one recovery closes both.
    func testWhileForksAreRefusedHighAndForecastAreSilent() {
        var run = SeriesRun()
        for _ in 0..<5 { run.feed(current: 85, limit: 100) }
        XCTAssertEqual(run.kinds(), [.pidsHigh])
        var refused: Int64 = 0
        for _ in 0...(20 * 60) {
            refused += 10
            run.feed(current: 100, limit: 100, refused: refused)
        }
        XCTAssertEqual(run.kinds(), [.pidsHigh, .pidsExhausted, .pidsExhausted, .pidsExhausted],
                       "the first alert, then pids-exhausted and its two reminders in 20 minutes")
        // Refusals count as trouble for recover_after (30 s), and recovery
        // then waits recover_after more.
        for _ in 0..<61 { run.feed(current: 10, limit: 100, refused: refused) }
        XCTAssertEqual(run.kinds().last, .pidsRecovered)
        XCTAssertEqual(run.kinds().filter { $0 == .pidsRecovered }.count, 1)
    }

    func testHighNeedsToBeSustainedAndEscalates() {
        var run = SeriesRun()
        run.feed(current: 10, limit: 100)
        run.feed(current: 90, limit: 100)  // a spike
        run.feed(current: 10, limit: 100)
        XCTAssertEqual(run.kinds(), [])
        for _ in 0..<4 { run.feed(current: 85, limit: 100) }
        XCTAssertEqual(run.said.map(\.finding.priority), [.warning])
        XCTAssertEqual(run.said.first?.second, 6, "after high_for (3 s) of 85%")
        for _ in 0..<4 { run.feed(current: 97, limit: 100) }
        XCTAssertEqual(run.said.map(\.finding.priority), [.warning, .err], "escalation is a new alert")
        XCTAssertFalse(run.said[1].finding.isReminder)
        for _ in 0..<60 { run.feed(current: 97, limit: 100) }
        XCTAssertEqual(run.said.count, 2, "no repeats within repeat_interval")
    }

    func testRecoveryAfterQuietPeriod() {
        var run = SeriesRun()
        for _ in 0..<5 { run.feed(current: 90, limit: 100) }
        XCTAssertEqual(run.kinds(), [.pidsHigh])
        for _ in 0..<29 { run.feed(current: 10, limit: 100) }
        XCTAssertEqual(run.kinds(), [.pidsHigh], "not yet: recover_after is 30 s")
        run.feed(current: 10, limit: 100)
        run.feed(current: 10, limit: 100)
        XCTAssertEqual(run.kinds(), [.pidsHigh, .pidsRecovered])
        XCTAssertEqual(run.said.last?.finding.priority, .notice)
        for _ in 0..<5 { run.feed(current: 90, limit: 100) }
        XCTAssertEqual(run.kinds(), [.pidsHigh, .pidsRecovered, .pidsHigh], "a new episode after recovery")
    }

    func testUnlimitedOnceAndIgnorable() {
        var run = SeriesRun()
        for _ in 0..<100 { run.feed(current: 3, limit: PidsSample.unlimited) }
        XCTAssertEqual(run.kinds(), [.pidsUnlimited])
        XCTAssertEqual(run.said.first?.second, 1, "after the runtime had time to write a limit")
        XCTAssertEqual(run.said.first?.finding.limit, 4_194_304, "the host's ceiling is the one that applies")

        // The runtime's window: the cgroup shows "max" for an instant, then its limit.
        var racing = SeriesRun()
        racing.feed(current: 1, limit: PidsSample.unlimited)
        for _ in 0..<10 { racing.feed(current: 1, limit: 500) }
        XCTAssertEqual(racing.kinds(), [], "a limit written right after creation is not 'no limit'")

        var quiet = SeriesRun(policy: { var p = PidsPolicy(); p.unlimited = .ignore; return p }())
        for _ in 0..<10 { quiet.feed(current: 3, limit: PidsSample.unlimited) }
        XCTAssertEqual(quiet.kinds(), [])
    }

    // Without a limit, the ceiling is the host's free process table.
    func testUnlimitedLeakForecastsAgainstHost() {
        var run = SeriesRun()
        run.host = HostPidsSample(tasks: 31_000, ceiling: 32_768)
        var current: Int64 = 10
        for _ in 0..<40 {
            current += 40
            run.host?.tasks += 40
            run.feed(current: current, limit: PidsSample.unlimited)
        }
        guard let f = run.first(.pidsForecast)?.finding else { return XCTFail("\(run.kinds())") }
        XCTAssertTrue(f.limitIsHost)
        XCTAssertLessThanOrEqual(f.secondsToLimit ?? 999, 60)
    }

    func testIgnorePolicySilencesEverything() {
        var p = PidsPolicy()
        p.ignore = true
        var run = SeriesRun(policy: p)
        run.feed(current: 1, limit: 50)
        for i in 0..<100 { run.feed(current: 50, limit: 50, refused: Int64(i) * 10) }
        XCTAssertEqual(run.kinds(), [])
    }

    func testRefusalsAlreadyCountedAtFirstSightAreBaseline() {
        var run = SeriesRun()
        run.feed(current: 5, limit: 50, refused: 1234)
        run.feed(current: 5, limit: 50, refused: 1234)
        XCTAssertEqual(run.kinds(), [], "an old count is history, not a fresh refusal")
        run.feed(current: 50, limit: 50, refused: 1300)
        XCTAssertEqual(run.kinds(), [.pidsExhausted])
        XCTAssertEqual(run.said.first?.finding.newlyRefused, 66)
    }

    // A fork bomb in a new container hits its limit before the first poll.
    func testNewContainerWithRefusalsAtFirstSightIsReported() {
        var run = SeriesRun()
        run.detector = ContainerPidsDetector(policy: run.policy, countsEarlierRefusals: true)
        run.feed(current: 50, limit: 50, refused: 5000)
        XCTAssertEqual(run.kinds(), [.pidsExhausted])
        XCTAssertEqual(run.said.first?.finding.newlyRefused, 5000)
        for _ in 0..<5 { run.feed(current: 50, limit: 50, refused: 5000) }
        XCTAssertEqual(run.said.filter { $0.finding.kind == .pidsExhausted }.count, 1)
    }

    // Present at start and still at the wall: reported, even though the
    // count did not move.
    func testOldContainerAtItsLimitIsReported() {
        var run = SeriesRun()
        run.feed(current: 50, limit: 50, refused: 77)
        XCTAssertEqual(run.kinds(), [.pidsExhausted])
    }

    func testHostDetector() {
        var host = HostPidsDetector()
        let timing = AlertTiming(repeatInterval: .minutes(10), recoverAfter: .seconds(30))
        var said: [PidsFinding] = []
        func feed(_ tasks: Int64, _ second: Int) {
            said += host.observe(HostPidsSample(tasks: tasks, ceiling: 1000), at: Int64(second) * 1_000_000_000,
                                 policy: PidsPolicy(), timing: timing)
        }
        feed(100, 0)
        feed(850, 1)
        feed(960, 2)
        feed(960, 3)
        for s in 4..<40 { feed(100, s) }
        XCTAssertEqual(said.map(\.kind), [.hostPidsHigh, .hostPidsHigh, .hostPidsRecovered])
        XCTAssertEqual(said.map(\.priority), [.warning, .err, .notice])
    }
}

final class PidsTrendTests: XCTestCase {
    func testRingKeepsOnlyTheWindow() {
        var t = PidsTrend(window: .seconds(10))
        for s in 0..<100 { t.append(time: Int64(s) * 1_000_000_000, value: Int64(s)) }
        XCTAssertLessThanOrEqual(t.span, 10_000_000_000)
        XCTAssertEqual(t.last?.value, 99)
        XCTAssertEqual(t.averageRate, 1, accuracy: 0.001)
    }

    func testTheilSenIgnoresAnOutlier() {
        var t = PidsTrend(window: .seconds(30))
        for s in 0..<31 { t.append(time: Int64(s) * 1_000_000_000, value: s == 16 ? 5000 : Int64(100 + s)) }  // the last sample of its bucket
        XCTAssertEqual(t.theilSenSlope(), 1, accuracy: 0.01)
        XCTAssertNil(t.forecast(limit: 10_000), "a one-sample jump is not a climb")
    }

    func testNoForecastOnTooShortHistory() {
        var t = PidsTrend(window: .seconds(30))
        for s in 0..<10 { t.append(time: Int64(s) * 1_000_000_000, value: Int64(s * 10)) }
        XCTAssertNil(t.forecast(limit: 2000), "9 s of history for a limit 191 s away: not enough evidence yet")
        XCTAssertNotNil(t.forecast(limit: 200), "the same climb 11 s from its limit is called out")
        var short = PidsTrend(window: .seconds(30))
        for s in 0..<4 { short.append(time: Int64(s) * 1_000_000_000, value: Int64(s * 10)) }
        XCTAssertNil(short.forecast(limit: 50), "3 s of ramp is a burst starting, whatever the limit")
    }

    /// One point per bucket whatever the poll interval: a 100 ms poll keeps
    /// the same 17 points as a 1 s poll, and the forecast sees the same climb.
    func testMemoryIsFixedWhateverThePollInterval() {
        var fast = PidsTrend(window: .seconds(30))
        var slow = PidsTrend(window: .seconds(30))
        for tenth in 0..<600 { fast.append(time: Int64(tenth) * 100_000_000, value: Int64(tenth / 5)) }
        for s in 0..<60 { slow.append(time: Int64(s) * 1_000_000_000, value: Int64(s * 2)) }
        XCTAssertEqual(fast.capacity, PidsTrend.bucketCount + 1)
        XCTAssertEqual(fast.capacity, slow.capacity)
        XCTAssertLessThanOrEqual(fast.count, fast.capacity)
        XCTAssertEqual(fast.last?.value, 119, "the newest sample stands for its bucket")
        XCTAssertLessThanOrEqual(fast.span, 30_000_000_000)
        XCTAssertEqual(fast.forecast(limit: 160)?.rate ?? 0, 2, accuracy: 0.2)
        XCTAssertEqual(slow.forecast(limit: 160)?.rate ?? 0, 2, accuracy: 0.2)
    }
}

/// Series sampled every 100 ms, as a daemon with `poll_interval: 100ms`.
final class FastLeakTests: XCTestCase {
    private func run(_ values: [Int64], limit: Int64) -> [(tenth: Int, finding: PidsFinding)] {
        var detector = ContainerPidsDetector(policy: PidsPolicy(), countsEarlierRefusals: true)
        let timing = AlertTiming(repeatInterval: .minutes(10), recoverAfter: .seconds(30))
        var said: [(Int, PidsFinding)] = []
        for (i, v) in values.enumerated() {
            let sample = PidsSample(current: min(v, limit), limit: limit, refusedForks: max(0, v - limit))
            for f in detector.observe(sample, at: Int64(i) * 100_000_000, policy: PidsPolicy(), timing: timing,
                                      host: HostPidsSample(tasks: 500, ceiling: 4_194_304)) {
                said.append((i, f))
            }
        }
        return said
    }

    /// About 20 tasks a second toward 300, as a leaking shell does: the
    /// limit is 15 s away at start. The forecast comes before the first
    /// refused fork, with seconds to spare.
    func testLeakReachingItsLimitIn15sIsForecastFirst() {
        var values: [Int64] = []
        var v = 2.0
        for i in 0..<250 { v += i % 7 == 0 ? 1 : 2.2; values.append(Int64(v)) }
        let said = run(values, limit: 300)
        let forecast = said.first { $0.finding.kind == .pidsForecast }
        let exhausted = said.first { $0.finding.kind == .pidsExhausted }
        XCTAssertNotNil(forecast, "\(said.map(\.finding.kind))")
        XCTAssertNotNil(exhausted)
        if let f = forecast, let e = exhausted {
            XCTAssertLessThan(f.tenth, e.tenth, "forecast before the first refused fork")
            XCTAssertGreaterThanOrEqual(e.tenth - f.tenth, 30, "at least 3 s to act")
            XCTAssertEqual(f.finding.rate ?? 0, 20, accuracy: 4)
        }
    }

    /// 40 tasks started at once, drained a few seconds later, three times
    /// over: a burst, not a leak.
    func testRepeatedFortyTaskBurstsStaySilent() {
        var values: [Int64] = Array(repeating: 2, count: 50)
        for _ in 0..<3 {
            values += Array(repeating: 42, count: 30)   // 3 s of work
            values += [30, 15, 2]                       // drained
            values += Array(repeating: 2, count: 40)
        }
        XCTAssertEqual(run(values, limit: 300).map(\.finding.kind), [])
    }

    /// The same bursts spread over half a second each.
    func testRampedBurstsStaySilent() {
        var values: [Int64] = Array(repeating: 2, count: 50)
        for _ in 0..<3 {
            values += [10, 18, 26, 34, 42] + Array(repeating: 42, count: 25) + [30, 15, 2] + Array(repeating: 2, count: 40)
        }
        XCTAssertEqual(run(values, limit: 300).map(\.finding.kind), [])
    }
}
