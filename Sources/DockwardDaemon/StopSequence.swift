import Dispatch
import DockwardCore
import DockwardSystem

/// A part of the daemon with work to end at a stop: it ends what it has
/// under way by `deadline` (monotonic nanoseconds, real time: the waits are
/// real), then calls `done` on the daemon's queue, once, whatever happened.
@DaemonActor
protocol StoppingPart: AnyObject {
    func shutdown(deadline: Int64, done: @escaping @DaemonActor () -> Void)
}

/// The daemon's one stop: its parts in order, under one budget. Each step
/// is given its own deadline inside the budget (the later steps' shares
/// held back), so a slow step cannot eat the time of the ones after it,
/// and the whole stop ends by the budget's deadline, inside the unit's
/// `TimeoutStopSec`.
@DaemonActor
struct StopSequence {
    struct Step {
        var name: String
        /// The most this step may take, from when it begins.
        var share: Interval?
        /// How much of the budget to hold back for the steps after this one.
        var heldBack: Interval
        var run: (_ deadline: Int64, _ done: @escaping @DaemonActor () -> Void) -> Void
    }

    /// The whole stop: within the unit's TimeoutStopSec=15s. `DaemonRunner`
    /// exits the process shortly after it whatever is left.
    nonisolated static let budget = Interval.milliseconds(14_500)

    var steps: [Step] = []

    /// Nanoseconds from now to `deadline`; none once it has passed. What a
    /// part given a deadline may still wait.
    nonisolated static func timeLeft(until deadline: Int64) -> Int64 {
        max(0, deadline - SystemClock.monotonicNanos())
    }

    mutating func then(_ name: String, share: Interval, holdingBack heldBack: Interval = .seconds(0), _ part: StoppingPart) {
        steps.append(Step(name: name, share: share, heldBack: heldBack) { deadline, done in
            part.shutdown(deadline: deadline, done: done)
        })
    }

    mutating func then(_ name: String, _ body: @escaping @DaemonActor () -> Void) {
        steps.append(Step(name: name, share: nil, heldBack: .seconds(0)) { _, done in
            body()
            done()
        })
    }

    /// Runs the steps in order, from `start` (monotonic nanoseconds), then `finished`.
    /// Runs the steps in order from `start` (monotonic nanoseconds), then
    /// `finished`. A step's deadline is its share from when it begins
    /// (`now()`), and never past the budget less what it holds back.
    func run(from start: Int64, budget: Interval = StopSequence.budget, now: @escaping () -> Int64 = SystemClock.monotonicNanos,
             _ finished: @escaping @DaemonActor () -> Void) {
        Self.run(steps[...], deadline: start + budget.nanoseconds, now: now, finished)
    }

    private static func run(_ steps: ArraySlice<Step>, deadline: Int64, now: @escaping () -> Int64,
                            _ finished: @escaping @DaemonActor () -> Void) {
        guard let step = steps.first else { return finished() }
        let rest = steps.dropFirst()
        var once = false
        var stepDeadline = deadline - step.heldBack.nanoseconds
        if let share = step.share { stepDeadline = min(stepDeadline, now() + share.nanoseconds) }
        step.run(stepDeadline) {
            guard !once else { return }
            once = true
            run(rest, deadline: deadline, now: now, finished)
        }
    }
}
