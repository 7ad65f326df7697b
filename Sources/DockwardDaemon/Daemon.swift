import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardDocker
import DockwardJournal
import DockwardMetrics
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
    private var nextPollAt: Int64 = 0
    /// Set by the socket watch as the engine comes and goes; read for STATUS.
    private let engineConnection = ConnectionFlag()
    /// Always there (cheap); served only while `metrics.listen` is set.
    private let metrics = MetricsRegistry()
    private var metricsServer: MetricsServer?

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
        Daemon.checkEngineSocket(endpoint.socketPath, logger: logger)
        client = DockerEngineClient(endpoint: endpoint, logger: Logger(label: "dockward.engine"))
        let directory = ContainerDirectory(client: client, queue: queue, logger: logger)
        watch = PidsWatch(config: config, discovery: CgroupDiscovery(layout: layout),
                          hostReader: HostPidsReader(), directory: directory, logger: logger,
                          emit: { [metrics] entry in
                              sink.write(entry)
                              metrics.recordAlert(kind: entry.kind)
                          })
        let queue = self.queue
        socketWatch = SocketWatch(client: client, engineSocket: endpoint.socketPath, config: config, sink: sink,
                                  logger: logger, connection: engineConnection, metrics: metrics,
                                  onMetadata: { id, metadata in queue.async { directory.record(id, metadata) } })
        logger.info("\(layout.summary); engine socket \(endpoint.socketPath)")
        // A metrics port that cannot be bound must not leave the host
        // unguarded: say so (an err entry) and watch on; Prometheus sees
        // the target down (DockwardDown).
        if let listen = config.metricsListen {
            do { try startMetrics(listen: listen) } catch { logger.error("\(error); metrics stay off") }
        }
        sink.write(JournalEntry(
            kind: .daemonStarted, priority: .notice,
            message: "dockward \(DockwardVersion.current) started: \(config.summary), engine \(endpoint.socketPath)",
            fields: [("DOCKWARD_CONFIG", options.configPath), ("CGROUP_LAYOUT", layout.summary)]))
    }

    /// Each watched container keeps three or four cgroup files open (a tenth
    /// of the cost of reopening them every poll), so thousands of containers
    /// need far more than the usual 1024 descriptors. Ask for 2^20 (the
    /// kernel's usual `fs.nr_open`); without the privilege to raise the hard
    /// limit (under systemd: set `LimitNOFILE=`), take the hard limit.
    public static func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return }
        let before = limit.rlim_cur
        let wanted = rlim_t(1 << 20)
        if limit.rlim_max < wanted {
            var raised = rlimit(rlim_cur: wanted, rlim_max: wanted)
            if setrlimit(resource, &raised) == 0 {
                logger.debug("raised the open-file limit from \(before) to \(wanted)")
                return
            }
        }
        guard limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(resource, &limit) == 0 {
            logger.debug("raised the open-file limit from \(before) to \(limit.rlim_max)")
        } else {
            logger.warning("cannot raise the open-file limit above \(before): about \(before / 4) containers can be watched")
        }
    }

    /// Says clearly at start when the engine's socket is not a socket, or
    /// when anyone may write to it (then every local user controls the host).
    static func checkEngineSocket(_ path: String, logger: Logger) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            logger.notice("engine socket \(path) is not there (yet); the socket watch will retry")
            return
        }
        let type = st.st_mode & S_IFMT
        if type != S_IFSOCK {
            let what = type == S_IFDIR ? "a directory" : type == S_IFREG ? "a regular file" : "not a socket"
            logger.error("docker.socket \(path) is \(what), not a socket: the engine cannot be reached there; check docker.socket or DOCKER_HOST")
            return
        }
        if st.st_mode & S_IWOTH != 0 {
            logger.warning("engine socket \(path) is writable by everyone (mode \(String(st.st_mode & 0o7777, radix: 8))): every local user controls the host; make it 0660 root:docker")
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

    /// The timer ticks at the poll interval, or at the watchdog's ping
    /// interval when that is shorter (a long `poll_interval` must not let
    /// systemd's watchdog fire); a tick that is not due for a poll only pings.
    private func startTimer() {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(flags: [], queue: queue)
        let interval = min(config.pollInterval.nanoseconds, notifier.watchdogPingInterval ?? .max)
        // 5% leeway lets the kernel coalesce wake-ups without blurring the rate.
        t.schedule(deadline: .now(), repeating: .nanoseconds(Int(interval)), leeway: .nanoseconds(Int(interval / 20)))
        t.setEventHandler { [unowned self] in self.onTimer(tick: interval) }
        t.resume()
        timer = t
        nextPollAt = 0
    }

    /// A poll when one is due, then the service-manager chores that ride on
    /// it: READY after the first, STATUS when it changes, and the watchdog
    /// ping, sent from this loop on purpose so a stuck loop stops the pings
    /// and systemd restarts the daemon.
    private func onTimer(tick: Int64) {
        let now = MonotonicClock.now()
        // Half a tick of slack: a timer that fires a little early still polls.
        if now >= nextPollAt - tick / 2 {
            nextPollAt = now + config.pollInterval.nanoseconds
            sink.retryQueued()
            watch.poll(now: now)
            metrics.observePollDuration(seconds: Double(MonotonicClock.now() - now) / 1e9)
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
                message: "Reload refused, keeping the running configuration: \(error.issues.prefix(10).map(\.description).joined(separator: "; "))"
                    + (error.issues.count > 10 ? "; and \(error.issues.count - 10) more (dockward check-config \(options.configPath))" : ""),
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
        if newConfig.metricsListen != config.metricsListen {
            metricsServer?.stop()
            metricsServer = nil
            if let listen = newConfig.metricsListen {
                do { try startMetrics(listen: listen) } catch { logger.error("\(error); metrics stay off") }
            }
        }
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

    /// The scrape-time snapshot hops to the daemon's queue; the server calls
    /// it from its own render queue, never from this one.
    private func startMetrics(listen: String) throws {
        let queue = self.queue
        let watch = self.watch
        let server = MetricsServer(listen: listen, registry: metrics,
                                   snapshot: { queue.sync { watch.metricsSnapshot() } },
                                   logger: Logger(label: "dockward.metrics"))
        try server.start()
        metricsServer = server
    }

    private func stop() {
        guard !stopping else { return }
        stopping = true
        notifier.stopping()
        timer?.cancel()
        metricsServer?.stop()
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
