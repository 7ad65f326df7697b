import DockwardCore
import DockwardHost
import DockwardSystem
import FoundationEssentials
import Glibc
import Logging

/// The engine's own exposure: TCP listeners without client verification in
/// its configuration, checked at start and at each reload. Each finding is
/// written once; a reload writes only what is new (another listener, or the
/// same one set somewhere else). Runs on the daemon's queue.
@DaemonActor
final class EngineTCPWatch {
    private let outlet: AlertOutlet
    private let logger: Logger
    private var reported: Set<EngineListenerFinding> = []
    /// Problems already logged, so a reload does not log them again.
    private var loggedProblems: Set<EngineConfigFiles.Problem> = []

    init(outlet: AlertOutlet, logger: Logger) {
        self.outlet = outlet
        self.logger = logger
    }

    /// A listener at this address is still in the engine's configuration.
    func isExposed(_ address: String) -> Bool { reported.contains { $0.address == address } }

    func check(_ config: DockwardConfig) {
        guard config.hostControl.checks.engineTCP else {
            // Turned back on later, it reports afresh.
            reported = []
            return
        }
        let (findings, problems) = EngineConfigFiles(root: config.hostControl.engineConfigRoot).exposedListeners()
        for problem in problems where !loggedProblems.contains(problem) {
            logger.warning("engine TCP check: cannot read \(problem); a listener set there would go unseen")
        }
        loggedProblems = Set(problems)
        let unreadable = problems.map(\.path)
        let current = Set(findings)
        for finding in findings where !reported.contains(finding) {
            outlet.send(.engineTCPExposed(finding, unreadable: unreadable))
        }
        for gone in reported.subtracting(current) {
            logger.info("engine TCP check: \(gone.address) (was set at \(gone.place)) is no longer in the engine's configuration")
        }
        reported = current
        logger.info("engine TCP check under \(config.hostControl.engineConfigRoot): \(current.count) exposed listener(s)")
    }
}
