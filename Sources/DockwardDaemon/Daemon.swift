import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardDocker
import DockwardJournal
import Foundation
import Logging

/// Wiring: sources (cgroup reader, engine) -> detectors -> sinks (journald),
/// all driven from one serial Dispatch queue: a timer for the poll, signal
/// sources for reload and shutdown. State has a single owner, so no locks.
public final class Daemon {
    public struct Options {
        public var configPath: String
        public var configIsExplicit: Bool
        public var mirrorToStderr: Bool
        public var logLevel: Logger.Level

        public init(configPath: String, configIsExplicit: Bool, mirrorToStderr: Bool, logLevel: Logger.Level) {
            self.configPath = configPath
            self.configIsExplicit = configIsExplicit
            self.mirrorToStderr = mirrorToStderr
            self.logLevel = logLevel
        }
    }

    /// Exit codes from sysexits.h, so systemd and scripts can tell a bad config
    /// from a crash.
    public enum ExitCode: Int32 { case ok = 0, software = 70, config = 78 }

    private let options: Options
    private let sink: JournalSink
    private let logger: Logger
    private let queue = DispatchQueue(label: "dockward.daemon")
    private var config: DockwardConfig
    private let client: DockerEngineClient
    private let watch: PidsWatch
    private let socketWatch: SocketWatch
    private var socketTasks: [Task<Void, Never>] = []
    private var timer: DispatchSourceTimer?
    private var signalSources: [DispatchSourceSignal] = []
    private var stopping = false
    private let notifier = SystemdNotifier()
    private var announcedReady = false
    private var lastStatus = ""
    private var lastWatchdogPing: Int64 = 0
    /// Set by the socket watch as the engine comes and goes; read for STATUS.
    private let engineConnection = ConnectionFlag()

    /// Builds everything or throws a message fit for stderr.
    public init(options: Options) throws {
        self.options = options
        let sink = JournalSink(mirrorToStderr: options.mirrorToStderr)
        self.sink = sink
        let level = options.logLevel
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, sink: sink, level: level) }
        var logger = Logger(label: "dockward")
        logger.logLevel = level
        self.logger = logger

        let config: DockwardConfig
        do {
            config = try ConfigFile.load(path: options.configPath, isExplicit: options.configIsExplicit)
        } catch {
            throw DaemonStartError(code: .config, message: "invalid configuration:\n\(error)")
        }
        self.config = config
        Daemon.raiseDescriptorLimit(logger: logger)
        let layout: CgroupLayout
        do {
            layout = try CgroupLayoutDetector.detect(root: config.cgroupRoot)
        } catch {
            throw DaemonStartError(code: .config, message: "\(error)")
        }
        let endpoint: DockerEndpoint
        do {
            endpoint = try DockerEndpoint.resolve(configuredSocket: config.dockerSocket,
                                                  environment: ProcessInfo.processInfo.environment)
        } catch {
            throw DaemonStartError(code: .config, message: "\(error)")
        }
        client = DockerEngineClient(endpoint: endpoint, logger: Logger(label: "dockward.engine"))
        let directory = ContainerDirectory(client: client, queue: queue, logger: logger)
        watch = PidsWatch(config: config, discovery: CgroupDiscovery(layout: layout),
                          hostReader: HostPidsReader(), directory: directory, logger: logger,
                          emit: { entry in sink.write(entry) })
        let queue = self.queue
        socketWatch = SocketWatch(client: client, engineSocket: endpoint.socketPath, config: config, sink: sink,
                                  logger: logger, connection: engineConnection,
                                  onMetadata: { id, metadata in queue.async { directory.record(id, metadata) } })
        logger.info("\(layout.summary); engine socket \(endpoint.socketPath)")
        sink.write(JournalEntry(
            kind: .daemonStarted, priority: .notice,
            message: "dockward \(DockwardVersion.current) started: \(config.summary), engine \(endpoint.socketPath)",
            fields: [("DOCKWARD_CONFIG", options.configPath), ("CGROUP_LAYOUT", layout.summary)]))
    }

    /// Each watched container keeps three or four cgroup files open (a tenth
    /// of the cost of reopening them every poll), so thousands of containers
    /// need more than the usual soft limit of 1024 descriptors. The hard
    /// limit is ours to take.
    static func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(resource, &limit) == 0 {
            logger.debug("raised the open-file limit from \(before) to \(limit.rlim_max)")
        } else {
            logger.warning("cannot raise the open-file limit above \(before): about \(before / 4) containers can be watched")
        }
    }

    /// Starts the poll timer and signal handling, then hands the thread to Dispatch.
    public func run() -> Never {
        queue.async { self.startTimer() }
        let socketWatch = self.socketWatch
        socketTasks = [
            Task { await socketWatch.run() },
            Task { await socketWatch.resyncForever() },
        ]
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)  // Dispatch delivers it instead of the default action.
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                if sig == SIGHUP { self.reload() } else { self.stop() }
            }
            source.resume()
            signalSources.append(source)
        }
        dispatchMain()
    }

    private func startTimer() {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(flags: [], queue: queue)
        let interval = config.pollInterval.nanoseconds
        // 5% leeway lets the kernel coalesce wake-ups without blurring the rate.
        t.schedule(deadline: .now(), repeating: .nanoseconds(Int(interval)), leeway: .nanoseconds(Int(interval / 20)))
        t.setEventHandler { [unowned self] in self.pollOnce() }
        t.resume()
        timer = t
    }

    /// One poll, then the service-manager chores that ride on it: READY
    /// after the first, STATUS when it changes, and the watchdog ping, sent
    /// from here on purpose so a stuck poll loop stops the pings and systemd
    /// restarts the daemon.
    private func pollOnce() {
        let now = MonotonicClock.now()
        watch.poll(now: now)
        let status = "watching \(watch.containers.count) containers, \(watch.alertingCount) alerting, engine "
            + (engineConnection.isUp ? "connected" : "not connected")
        if !announcedReady {
            announcedReady = true
            notifier.ready(status: status)
            lastStatus = status
        } else if status != lastStatus {
            notifier.status(status)
            lastStatus = status
        }
        if let interval = notifier.watchdogPingInterval, now - lastWatchdogPing >= interval {
            notifier.watchdog()
            lastWatchdogPing = now
        }
    }

    /// SIGHUP: a bad file is refused and the running config stays.
    private func reload() {
        notifier.reloading()
        defer { notifier.ready(status: lastStatus) }
        let newConfig: DockwardConfig
        do {
            newConfig = try ConfigFile.load(path: options.configPath, isExplicit: options.configIsExplicit)
        } catch {
            let first = error.issues.first
            sink.write(JournalEntry(
                kind: .configRejected, priority: .err,
                message: "Reload refused, keeping the running configuration: \(error.issues.map(\.description).joined(separator: "; "))",
                fields: [("CONFIG_FILE", first?.file ?? options.configPath),
                         ("CONFIG_LINE", String(first?.line ?? 0)),
                         ("CONFIG_KEY", first?.key ?? "")]))
            return
        }
        var changes = newConfig.changes(from: config)
        if newConfig.cgroupRoot != config.cgroupRoot || newConfig.dockerSocket != config.dockerSocket {
            changes.append("(cgroup.root and docker.socket take effect at the next restart)")
        }
        let intervalChanged = newConfig.pollInterval != config.pollInterval
        config = newConfig
        watch.apply(newConfig)
        let socketWatch = self.socketWatch
        Task { await socketWatch.apply(newConfig) }
        if intervalChanged { startTimer() }
        sink.write(JournalEntry(
            kind: .configReloaded, priority: .notice,
            message: changes.isEmpty ? "Configuration reloaded; nothing changed."
                : "Configuration reloaded: \(changes.joined(separator: "; "))",
            fields: [("CONFIG_FILE", options.configPath)]))
    }

    private func stop() {
        guard !stopping else { return }
        stopping = true
        notifier.stopping()
        timer?.cancel()
        let count = watch.containers.count
        watch.shutdown()
        sink.write(JournalEntry(kind: .daemonStopped, priority: .notice,
                                message: "dockward stopped; it was watching \(count) containers."))
        // The engine client's connections close with the process; waiting on
        // them could hold shutdown past systemd's patience.
        exit(ExitCode.ok.rawValue)
    }
}

public struct DaemonStartError: Error, CustomStringConvertible {
    public let code: Daemon.ExitCode
    public let message: String
    public var description: String { message }
}
