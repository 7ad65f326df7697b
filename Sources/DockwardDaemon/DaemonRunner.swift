import Dispatch
import DockwardCgroup
import DockwardAlertmanager
import DockwardCore
import DockwardHost
import DockwardDocker
import DockwardEngines
import DockwardJournal
import DockwardMetrics
import DockwardSystem
import FoundationEssentials
import Glibc
import Logging

/// The process around the daemon: reads the config, builds the real parts
/// (journald, the engine client, the cgroup tree), routes the log, turns
/// SIGHUP into a reload and SIGTERM/SIGINT into a structured stop, and exits.
/// Once per process: it owns process-wide things (the logging system,
/// signal dispositions, `exit`).
public enum DaemonRunner {
    public struct Options: Sendable {
        public var configPath: String
        public var configIsExplicit: Bool
        public var mirrorToStderr: Bool
        public var logLevel: Logger.Level
        /// Where open episodes are kept across restarts; nil: `$STATE_DIRECTORY`
        /// (set by systemd's `StateDirectory=`), else nowhere.
        public var stateDirectory: String?

        public init(configPath: String, configIsExplicit: Bool, mirrorToStderr: Bool, logLevel: Logger.Level,
                    stateDirectory: String? = nil) {
            self.configPath = configPath
            self.configIsExplicit = configIsExplicit
            self.mirrorToStderr = mirrorToStderr
            self.logLevel = logLevel
            self.stateDirectory = stateDirectory
        }
    }

    /// SIGTERM to exit: the stop's one budget (`StopSequence.budget`,
    /// 14.5 s), and a little more for the last entry; whatever is left then
    /// is cut. Within the unit's TimeoutStopSec=15s: a guard that lingers
    /// delays every shutdown of the host.
    static let stopDeadline = DispatchTimeInterval.nanoseconds(Int(StopSequence.budget.nanoseconds) + 400_000_000)

    /// Builds everything, then hands the thread to Dispatch; throws a
    /// message fit for stderr when the daemon cannot start.
    public static func run(_ options: Options) throws -> Never {
        startDispatchManagerHere()
        let sink = JournalSink(mirrorToStderr: options.mirrorToStderr)
        let level = options.logLevel
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, sink: sink, level: level) }
        var logger = Logger(label: "dockward")
        logger.logLevel = level

        let config: DockwardConfig
        do {
            config = try ConfigFile.load(path: options.configPath, isExplicit: options.configIsExplicit)
        } catch {
            throw DaemonStartError(code: .config, message: "invalid configuration:\n\(error)")
        }
        let budget = descriptorBudget(logger: logger)
        let layout: CgroupLayout
        let followed: FollowedEngine
        do {
            layout = try CgroupLayoutDetector.detect(root: config.cgroupRoot)
            followed = try FollowedEngine.make(config, environment: ProcessInfo.processInfo.environment,
                                               logger: Logger(label: "dockward.engine"))
        } catch {
            throw DaemonStartError(code: .config, message: "\(error)")
        }
        checkEngineSocket(followed.runtime.socketPath, logger: logger)
        logger.info("\(layout.summary); engine \(config.engineKind.rawValue) at \(followed.runtime.socketPath)")
        let stateDirectory = options.stateDirectory ?? ProcessInfo.processInfo.environment["STATE_DIRECTORY"]
            .flatMap { $0.split(separator: ":").first.map(String.init) }
        var parts = Daemon.Parts(
            engine: followed.runtime,
            cgroupLayout: layout, writer: sink, notifier: SystemdNotifier(), stateDirectory: stateDirectory,
            descriptors: budget, logger: logger,
            // Called only for an action `actions:` decided on: one client per action, bound to its container.
            makeActionClient: actionClients(followed),
            // Made at start, or by the reload that sets alertmanager.urls; the
            // secrets are read here, so a missing file is said at once.
            makeAlertmanagerDelivery: AlertmanagerDelivery.make)
        parts.ownContainer = ownContainer(names: parts.cgroupNames, hierarchyRoot: layout.hierarchyRoot, logger: logger)
        let daemon = DaemonActor.sync {
            Daemon(config: config, configPath: options.configPath, configIsExplicit: options.configIsExplicit, parts: parts)
        }
        daemon.start()

        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)  // Dispatch delivers it instead of the default action.
            let source = DispatchSource.makeSignalSource(signal: sig, queue: daemon.queue)
            source.setEventHandler {
                guard sig != SIGHUP else { return daemon.reload() }
                daemon.stop { exit(Daemon.ExitCode.ok.rawValue) }
                // The engine's connections normally close in milliseconds;
                // a stuck one must not hold the stop.
                daemon.queue.asyncAfter(deadline: .now() + stopDeadline) { exit(Daemon.ExitCode.ok.rawValue) }
            }
            source.resume()
            sources.append(source)
        }
        withExtendedLifetime(sources) { dispatchMain() }
    }

    /// The container dockward runs in, from `/proc/self/cgroup`; in a
    /// private cgroup namespace (every path `/`), from the host's tree
    /// (`OwnContainerSearch`). Said at start.
    static func ownContainer(names: CgroupNames, hierarchyRoot: String, logger: Logger) -> OwnContainer? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        var own = OwnContainer.parse(procSelfCgroup: text, names: names)
        var how = "/proc/self/cgroup"
        let inPrivateNamespace = OwnContainer.isNamespaceRoot(procSelfCgroup: text)
        if own == nil, inPrivateNamespace {
            own = OwnContainerSearch.find(pid: getpid(), hierarchyRoot: hierarchyRoot, names: names)
            how = "its pid in cgroup.procs under \(hierarchyRoot)"
        }
        if let own {
            logger.notice("dockward runs in container \(own.id.short) (cgroup \(own.cgroupPath), from \(how)): its own socket mount is not reported")
        } else if inPrivateNamespace {
            logger.notice("dockward runs in a private cgroup namespace and no container cgroup under \(hierarchyRoot) lists its pid: its own socket mount is reported like any other")
        }
        return own
    }

    /// Through Docker's API, one client per action, bound to its container;
    /// nil for an engine no action reaches (containerd: `pids.max` alone).
    static func actionClients(_ followed: FollowedEngine) -> (@Sendable (ContainerID) -> ContainerActionAPI)? {
        guard let engine = followed.dockerAPI else { return nil }
        return { ContainerActionClient(id: $0, engine: engine) }
    }

    /// libdispatch runs every timer and signal source on one manager thread,
    /// made by whichever thread first arms one; it starts by renicing itself
    /// to -4 (its user-interactive class). A worker thread has by then
    /// reniced itself to 0, and an unprivileged process may not go from 0
    /// to -4 (EACCES: a "Failed to set thread priority" line in the
    /// journal). Armed here, first thing, from the main thread, which runs
    /// at the unit's Nice=-4, the manager inherits -4 and its renice asks
    /// for nothing new. Waits (at most a second) for the timer to fire.
    static func startDispatchManagerHere() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "dockward.dispatch-manager"))
        let fired = DispatchSemaphore(value: 0)
        timer.schedule(deadline: .now())
        timer.setEventHandler { fired.signal() }
        timer.activate()
        _ = fired.wait(timeout: .now() + 1)
        timer.cancel()
    }

    /// Each watched container keeps its cgroup files open (a tenth of the
    /// cost of reopening them every poll), so thousands of containers need
    /// far more than the usual 1024 descriptors. Asks for 2^20 (the kernel's
    /// usual `fs.nr_open`); without the privilege to raise the hard limit
    /// (under systemd: set `LimitNOFILE=`), takes the hard limit. Returns how
    /// many containers may keep their files open.
    public static func descriptorBudget(logger: Logger) -> DescriptorBudget {
        let limit = DescriptorLimit.raiseSoftLimit()
        let budget = DescriptorBudget(openFileLimit: limit.after)
        if limit.raised {
            logger.debug("raised the open-file limit from \(limit.before) to \(limit.after)")
        } else if limit.refused {
            logger.warning("cannot raise the open-file limit above \(limit.before): about \(budget.containers) containers keep pids.current open, the rest are reopened each poll (set LimitNOFILE=)")
        }
        return budget
    }

    /// Says clearly at start when the engine's socket is not a socket, or
    /// when anyone may write to it (then every local user controls the host).
    static func checkEngineSocket(_ path: String, logger: Logger) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            logger.notice("engine socket \(path) is not there (yet); the engine link will retry")
            return
        }
        let type = st.st_mode & S_IFMT
        if type != S_IFSOCK {
            let what = type == S_IFDIR ? "a directory" : type == S_IFREG ? "a regular file" : "not a socket"
            logger.error("engine socket \(path) is \(what), not a socket: the engine cannot be reached there; check engine.socket, docker.socket or DOCKER_HOST")
            return
        }
        if access(path, R_OK | W_OK) != 0 && errno == EACCES {
            let mode = String(st.st_mode & 0o7777, radix: 8)
            logger.error("engine socket \(path) (owner \(st.st_uid), group \(st.st_gid), mode \(mode)) cannot be opened by dockward (uid \(getuid())): give its group to dockward (Docker: the docker group; containerd: gid under [grpc] in /etc/containerd/config.toml, then restart containerd); the engine link will retry")
        }
        if st.st_mode & S_IWOTH != 0 {
            logger.warning("engine socket \(path) is writable by everyone (mode \(String(st.st_mode & 0o7777, radix: 8))): every local user controls the host; make it 0660 root:docker")
        }
    }
}

public struct DaemonStartError: Error, CustomStringConvertible {
    public let code: Daemon.ExitCode
    public let message: String
    public var description: String { message }
}
