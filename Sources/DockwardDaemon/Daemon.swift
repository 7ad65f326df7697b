import DockwardSystem
import Dispatch
import Glibc
import DockwardCgroup
import DockwardAlertmanager
import DockwardCore
import DockwardHost
import DockwardDocker
import DockwardEngines
import DockwardJournal
import DockwardMetrics
import Logging

/// The wiring: sources (the cgroup reader, the engine link) feed the watches
/// (pids, socket), whose findings leave through the one outlet. Every piece
/// of mutable state here and in the parts it owns lives on `queue`, checked
/// by the compiler (`@DaemonActor`, whose executor is that queue): the poll
/// timer, the engine link's reports and reload all run there, so nothing
/// needs a lock. (The journal sink keeps its own lock for its outage queue,
/// and the metrics registry its own for scrapes from the HTTP thread.)
///
/// Built from its parts, so tests drive it in-process with a fake engine,
/// fixture cgroup trees and a recording writer; `DaemonRunner` builds the
/// real parts and adds the process around it (signals, exit).
@DaemonActor
public final class Daemon {
    /// The adapters the daemon runs on.
    public struct Parts: Sendable {
        /// The engine followed, through its runtime module.
        public var engine: ContainerRuntime
        public var cgroupLayout: CgroupLayout
        public var hostReader: HostPidsReader
        public var hostPaths: HostPathInspector
        public var writer: FindingWriter
        public var notifier: ServiceNotifier
        public var metrics: MetricsRegistry
        /// Where open episodes survive a restart; nil: nowhere (a restart repeats them).
        public var stateDirectory: String?
        /// How many containers may keep `pids.current` open, and how many of
        /// those also `pids.events`.
        public var descriptors: DescriptorBudget
        /// Where the kernel's refusal lines are read.
        public var kernelMessages: KernelMessages
        public var logger: Logger
        /// Makes the client that can update, pause, stop or kill one
        /// container; called only when `actions:` decided to act. nil: no
        /// action reaches the engine (a cap still goes to `pids.max`).
        public var makeActionClient: (@Sendable (ContainerID) -> ContainerActionAPI)?
        /// How long a stop waits for actions under way (`actionsStopGrace`).
        public var actionsStopGrace: Interval
        /// Makes the Alertmanager delivery when `alertmanager.urls` is set;
        /// nil: open episodes are tracked but sent nowhere.
        public var makeAlertmanagerDelivery: AlertmanagerDeliveryFactory?
        /// Unix nanoseconds, for the alerts' `startsAt` and `endsAt`.
        public var wallClock: @Sendable () -> Int64
        /// Monotonic nanoseconds: the one clock every decision takes `now`
        /// from (polls, refusals between polls, outages, passes no poll
        /// made). The in-process tests advance a manual one.
        public var monotonicClock: @Sendable () -> Int64
        /// The `host` label of every alert.
        public var hostName: String
        /// Where `/proc` is: a container's main process tells where its cgroup is.
        public var procRoot = "/proc"
        /// What the registered engines' cgroup names say (`Engines`).
        public var cgroupNames = Engines.cgroupNames()
        /// The container dockward runs in (`/proc/self/cgroup`), if any:
        /// its socket mount is said once as `self-exempt`, not reported.
        public var ownContainer: OwnContainer?

        public init(engine: ContainerRuntime, cgroupLayout: CgroupLayout, hostReader: HostPidsReader = HostPidsReader(),
                    hostPaths: HostPathInspector = HostPaths(), writer: FindingWriter, notifier: ServiceNotifier,
                    metrics: MetricsRegistry = MetricsRegistry(), stateDirectory: String?,
                    descriptors: DescriptorBudget, kernelMessages: KernelMessages = .kmsgElseJournal(KernelRefusalLog.defaultPath),
                    logger: Logger, makeActionClient: (@Sendable (ContainerID) -> ContainerActionAPI)? = nil,
                    actionsStopGrace: Interval = Daemon.actionsStopGrace,
                    makeAlertmanagerDelivery: AlertmanagerDeliveryFactory? = nil,
                    wallClock: @escaping @Sendable () -> Int64 = SystemClock.realtimeNanos,
                    monotonicClock: @escaping @Sendable () -> Int64 = SystemClock.monotonicNanos,
                    hostName: String = Daemon.hostName()) {
            self.engine = engine
            self.monotonicClock = monotonicClock
            self.makeAlertmanagerDelivery = makeAlertmanagerDelivery
            self.wallClock = wallClock
            self.hostName = hostName
            self.actionsStopGrace = actionsStopGrace
            self.makeActionClient = makeActionClient
            self.cgroupLayout = cgroupLayout
            self.hostReader = hostReader
            self.hostPaths = hostPaths
            self.writer = writer
            self.notifier = notifier
            self.metrics = metrics
            self.stateDirectory = stateDirectory
            self.descriptors = descriptors
            self.kernelMessages = kernelMessages
            self.logger = logger
        }
    }

    /// Exit codes from sysexits.h, so systemd and scripts can tell a bad config
    /// from a crash.
    public enum ExitCode: Int32, Sendable { case ok = 0, config = 78 }

    /// How long a stop waits for actions under way, so the result of a pause
    /// the engine carried out is journaled before `daemon-stopped`: a pause
    /// or an update answers in milliseconds, a container stop within its
    /// timeout (10 s, Docker's default).
    public nonisolated static let actionsStopGrace = Interval.seconds(12)

    /// This machine's name (`gethostname`), for the alerts' `host` label.
    public nonisolated static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The share of the stop's budget (`StopSequence.budget`) held for the
    /// last Alertmanager deliveries (the resolved states above all).
    public nonisolated static let alertmanagerStopGrace = Interval.seconds(2)
    /// The share held for closing the engine's connections (milliseconds, normally).
    public nonisolated static let engineStopGrace = Interval.milliseconds(500)

    /// The daemon's one queue (`DaemonActor.queue`).
    public nonisolated var queue: DispatchQueue { DaemonActor.queue }
    private let configPath: String
    private let configIsExplicit: Bool
    private var config: DockwardConfig
    private let parts: Parts
    private let logger: Logger
    private let outlet: AlertOutlet
    private let link: EngineLink
    private let pids: PidsWatch
    private let nodePids: NodePidsWatch
    private let hostControl: HostControlWatch
    private let engineTCP: EngineTCPWatch
    private let containment: Containment
    private let alertmanager: AlertmanagerFeed
    private let stateFile: StateFile?
    private let bootID: String
    /// What the engine said of itself at the last connection.
    private var engineInfo: RuntimeInfo?
    private var savedAlertCount = -1
    private var savedAlertmanagerRevision = -1
    private var savedEpisodes: SavedState?
    private var stateProblemLogged = false
    /// What `/metrics` and the STATUS line last said of the sources.
    private var reportedHealth: SourceHealth?
    private var timer: DispatchSourceTimer?
    private var metricsServer: MetricsServer?
    private var announcedReady = false
    private var lastStatus = ""
    private var lastWatchdogPing: Int64 = 0
    private var nextPollAt: Int64 = 0
    /// Running; stopping, with who waits for the end; or stopped.
    private enum StopState {
        case running
        case stopping(waiters: [@Sendable () -> Void])
        case stopped
    }
    private var stopState = StopState.running

    /// `configPath` is read again on reload; `isExplicit`: a missing file is
    /// then an error rather than the built-in defaults.
    public init(config: DockwardConfig, configPath: String, configIsExplicit: Bool, parts: Parts) {
        let queue = DaemonActor.queue
        self.configPath = configPath
        self.configIsExplicit = configIsExplicit
        self.config = config
        self.parts = parts
        self.logger = parts.logger
        outlet = AlertOutlet(writer: parts.writer, metrics: parts.metrics)
        link = EngineLink(engine: parts.engine, queue: queue, resyncInterval: config.hostControl.resyncInterval,
                          clock: parts.monotonicClock, logger: parts.logger)
        pids = PidsWatch(config: config, discovery: CgroupDiscovery(layout: parts.cgroupLayout, names: parts.cgroupNames),
                         hostReader: parts.hostReader, names: link, outlet: outlet, budget: parts.descriptors,
                         kernelMessages: parts.kernelMessages, procRoot: parts.procRoot, clock: parts.monotonicClock,
                         queue: queue, logger: parts.logger)
        nodePids = NodePidsWatch(config: config, outlet: outlet, logger: parts.logger)
        hostControl = HostControlWatch(config: config, engineSocket: parts.engine.socketPath, host: parts.hostPaths,
                                       outlet: outlet, logger: parts.logger, own: parts.ownContainer)
        engineTCP = EngineTCPWatch(outlet: outlet, logger: parts.logger)
        let link = self.link
        containment = Containment(config: config, outlet: outlet, pids: pids, makeClient: parts.makeActionClient,
                                  engineIsUp: { [unowned link] in link.isConnected },
                                  stopGrace: parts.actionsStopGrace, clock: parts.monotonicClock, queue: queue,
                                  logger: parts.logger)
        alertmanager = AlertmanagerFeed(config: config.alertmanager, host: parts.hostName, wallClock: parts.wallClock,
                                        makeDelivery: parts.makeAlertmanagerDelivery, logger: parts.logger)
        stateFile = parts.stateDirectory.map { StateFile(directory: $0) }
        bootID = StateFile.currentBootID()
        link.observer = self
        outlet.addConsumer { [weak containment] finding, _ in containment?.observe(finding) }
        outlet.addConsumer { [weak alertmanager] in alertmanager?.observe($0, entry: $1) }
        pids.onParentLearned = { [unowned self] in saveState(force: true) }
        alertmanager.report = { event in
            DaemonActor.async { [weak self] in self?.alertmanagerReported(event) }
        }
    }

    // MARK: Life cycle

    /// Loads the state file, writes the start entry, connects to the engine
    /// and, with `timer`, starts polling. Tests pass `timer: false` and call
    /// `tick(now:)` themselves.
    public nonisolated func start(timer: Bool = true) {
        DaemonActor.sync {
            let now = parts.monotonicClock()
            let open = resumeSavedState(now: now)
            if let listen = config.metricsListen {
                // A port that cannot be bound must not leave the host
                // unguarded: say so and watch on (Prometheus sees it down).
                do { try startMetrics(listen: listen) } catch { logger.error("\(error); metrics stay off") }
            }
            outlet.send(.lifecycle(.daemonStarted(DaemonStart(
                version: DockwardVersion.current, config: config, configPath: configPath,
                engineSocket: parts.engine.socketPath, cgroupLayout: parts.cgroupLayout.summary,
                openEpisodes: open, stateFile: stateFile?.path,
                engineSocketHardLinks: hostControl.engineSocketHardLinks()))))
            alertmanager.start()
            engineTCP.check(config)
            link.start()
            rehearseAlerts()
            if timer { startTimer() }
        }
    }

    /// The first alert's first-use costs, paid before the first poll
    /// (`AlertRehearsal`): nothing is sent.
    private func rehearseAlerts() {
        let started = parts.monotonicClock()
        let played = AlertRehearsal.run().count
        let micros = (parts.monotonicClock() - started) / 1000
        logger.debug("alert path rehearsed: \(played) findings rendered, none sent, in \(micros) µs")
    }

    /// SIGTERM: says STOPPING, stops the timer, then its parts in order
    /// under one budget (`StopSequence`): waits (at most
    /// `Parts.actionsStopGrace`) for actions under way and journals their
    /// results, saves the state, gives the last Alertmanager deliveries
    /// their share, closes the engine's connections, writes the last entry
    /// and flushes what journald missed; `completion` runs on the queue then.
    public nonisolated func stop(completion: @escaping @Sendable () -> Void) {
        DaemonActor.async { [self] in
            switch stopState {
            case .stopped:
                return completion()
            case .stopping(let waiters):
                // Already stopping: answered when that stop ends.
                stopState = .stopping(waiters: waiters + [completion])
                return
            case .running:
                stopState = .stopping(waiters: [completion])
            }
            parts.notifier.stopping()
            timer?.cancel()
            timer = nil
            metricsServer?.stop()
            metricsServer = nil
            let count = pids.containers.count
            // One budget, the parts in order; each step's deadline holds
            // back the shares of the steps after it.
            var stop = StopSequence()
            // Actions under way first: their results are journaled before
            // the engine's connections close and before `daemon-stopped`.
            stop.then("actions", share: parts.actionsStopGrace,
                      holdingBack: Interval(nanoseconds: Self.alertmanagerStopGrace.nanoseconds + Self.engineStopGrace.nanoseconds),
                      containment)
            stop.then("state") { [self] in
                saveState(force: true)
                pids.shutdown()
                hostControl.shutdown()
            }
            // The last deliveries (resolved states above all) before the
            // engine's connections close.
            stop.then("alertmanager", share: Self.alertmanagerStopGrace, holdingBack: Self.engineStopGrace, alertmanager)
            stop.then("engine", share: Self.engineStopGrace, link)
            stop.run(from: SystemClock.monotonicNanos()) { [self] in
                outlet.send(.lifecycle(.daemonStopped(watching: count)))
                outlet.retryPending()
                guard case .stopping(let waiters) = stopState else { return }
                stopState = .stopped
                for waiter in waiters { waiter() }
            }
        }
    }

    /// SIGHUP: a bad file is refused and the running config stays.
    public nonisolated func reload() {
        DaemonActor.async { [self] in
            guard case .running = stopState else { return }
            parts.notifier.reloading()
            defer { parts.notifier.ready(status: lastStatus) }
            let newConfig: DockwardConfig
            switch Result(catching: { () throws(ConfigError) in
                try ConfigFile.load(path: configPath, isExplicit: configIsExplicit)
            }) {
            case .success(let loaded): newConfig = loaded
            case .failure(let error):
                outlet.send(.lifecycle(.configRejected(error, configPath: configPath)))
                // A reload asks to look again: the engine's files may have
                // changed even when dockward's own did not parse.
                engineTCP.check(config)
                return
            }
            var changes = newConfig.changes(from: config)
            if newConfig.cgroupRoot != config.cgroupRoot || newConfig.dockerSocket != config.dockerSocket
                || newConfig.engineKind != config.engineKind || newConfig.engineSocket != config.engineSocket
                || newConfig.engineNamespaces != config.engineNamespaces {
                changes.append("(cgroup.root, docker.socket and engine take effect at the next restart)")
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
            pids.apply(newConfig)
            nodePids.apply(newConfig)
            hostControl.apply(newConfig)
            containment.apply(newConfig)
            alertmanager.apply(newConfig.alertmanager)
            link.apply(resyncInterval: newConfig.hostControl.resyncInterval)
            if intervalChanged && timer != nil { startTimer() }
            outlet.send(.lifecycle(.configReloaded(changes: changes, configPath: configPath)))
            engineTCP.check(newConfig)
        }
    }

    // MARK: The loop

    /// The timer ticks at the poll interval, or at the watchdog's ping
    /// interval when that is shorter (a long `poll_interval` must not let
    /// systemd's watchdog fire); a tick that is not due for a poll only pings.
    private func startTimer() {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(flags: [], queue: queue)
        let interval = min(config.pollInterval.nanoseconds, parts.notifier.watchdogPingInterval ?? .max)
        // 5% leeway lets the kernel coalesce wake-ups without blurring the rate.
        t.schedule(deadline: .now(), repeating: .nanoseconds(Int(interval)), leeway: .nanoseconds(Int(interval / 20)))
        t.setEventHandler { [unowned self] in
            DaemonActor.run { tick(now: parts.monotonicClock(), timerInterval: interval) }
        }
        t.resume()
        timer = t
        nextPollAt = 0
    }

    /// One turn of the loop at monotonic time `now`: a poll when one is due,
    /// then the service-manager chores that ride on it: READY after the
    /// first, STATUS when it changes, and the watchdog ping, sent from this
    /// loop on purpose so a stuck loop stops the pings and systemd restarts
    /// the daemon. Call on the queue.
    public func tick(now: Int64, timerInterval: Int64 = 0) {
        // Half a tick of slack: a timer that fires a little early still polls.
        if now >= nextPollAt - timerInterval / 2 {
            nextPollAt = now + config.pollInterval.nanoseconds
            // The poll's cost in real time (a measurement, not a decision).
            let pollStarted = SystemClock.monotonicNanos()
            outlet.retryPending()
            pids.poll(now: now)
            nodePids.poll(host: pids.lastHostSample, at: now, timing: AlertTiming(config), pods: pids.topPods)
            // Actions after the pass, never inside a judgement.
            containment.afterPass(now: now)
            // Episodes that ended resolve their alerts; open ones are re-sent when due.
            alertmanager.afterPass(isOpen: episodeIsOpen)
            parts.metrics.observePollDuration(seconds: Double(SystemClock.monotonicNanos() - pollStarted) / 1e9)
            saveState(force: false)
            reportHealth()
            let status = statusLine
            if !announcedReady {
                announcedReady = true
                parts.notifier.ready(status: status)
                lastStatus = status
            } else if status != lastStatus {
                parts.notifier.status(status)
                lastStatus = status
            }
        }
        if let interval = parts.notifier.watchdogPingInterval, now - lastWatchdogPing >= interval {
            parts.notifier.watchdog()
            lastWatchdogPing = now
        }
    }

    /// The engine's name for a container, once it has told it. Call on the queue.
    public func containerName(_ id: ContainerID) -> String? { link.metadata(for: id)?.name }

    /// Action calls to the engine under way. Call on the queue.
    public var actionsInFlight: Int { containment.inFlight }

    /// Host-control verdicts being made off the queue now. Call on the queue.
    public var hostVerdictsUnderWay: Int { hostControl.verdictsUnderWay }

    /// The engine's answers to inspects handled so far, used or dropped. Call on the queue.
    public var engineAnswersHandled: Int { link.answersHandled }

    /// Inspects started so far (each one's answer is handled in time). Call on the queue.
    public var engineInspectsStarted: Int { link.attemptsStarted }

    /// Alertmanager alerts open now. Call on the queue.
    public var alertmanagerOpenCount: Int { alertmanager.open.count }

    /// Each watched container's figures, as a `/metrics` scrape reads them. Call on the queue.
    public func containerMetrics() -> [ContainerMetrics] { pids.metricsSnapshot() }

    /// Containers whose cgroups are watched now. Call on the queue.
    public var watchedContainerCount: Int { pids.containers.count }

    /// The service STATUS line: the watch, the engine, and the sources
    /// (the fallbacks in use, if any).
    public var statusLine: String {
        "watching \(pids.containers.count) containers, \(pids.alertingCount) alerting, engine "
            + (link.isConnected ? "connected" : "not connected") + "; " + sourceHealth.statusText
    }

    /// Each source the daemon depends on, and the fallback in use: read
    /// from the parts that own them. Call on the queue.
    public var sourceHealth: SourceHealth {
        var health = SourceHealth()
        switch pids.refusals.inUse {
        case .kmsg: health.refusalSource = .kmsg
        case .journal: health.refusalSource = .journal
        case .poll: health.refusalSource = .poll
        }
        health.set(.kmsg, up: !pids.refusals.unreadable.contains(.kmsg))
        health.set(.journal, up: !pids.refusals.unreadable.contains(.journal))
        // A fallback never needed (the journal while kmsg is read) was never tried.
        if health.refusalSource == .kmsg && !pids.refusals.unreadable.contains(.journal) { health.setUnused(.journal) }
        health.set(.inotify, up: pids.cgroups.hasInotify && !pids.cgroups.fileWatchesRefused)
        health.set(.engine, up: link.isConnected)
        health.set(.stateFile, up: !stateProblemLogged)
        // No state directory: nothing that can fail (said once at start).
        if stateFile == nil { health.setUnused(.stateFile) }
        // Configured but not delivering (a secret file it could not read) is down, not unused.
        health.set(.alertmanager, up: alertmanager.isDelivering && alertmanager.unreachable.isEmpty)
        if !config.alertmanager.isEnabled { health.setUnused(.alertmanager) }
        health.openFileBudgetExceeded = pids.cgroups.budgetExceeded
        return health
    }

    /// `dockward_source_up` and friends, when something changed.
    private func reportHealth() {
        let health = sourceHealth
        guard health != reportedHealth else { return }
        reportedHealth = health
        parts.metrics.setSourceHealth(health)
    }

    // MARK: Metrics

    /// The scrape-time snapshot hops to the daemon's queue; the server calls
    /// it from its own render queue, never from this one.
    private func startMetrics(listen: String) throws {
        let pids = self.pids
        let server = MetricsServer(listen: listen, registry: parts.metrics,
                                   snapshot: { DaemonActor.sync { pids.metricsSnapshot() } },
                                   logger: Logger(label: "dockward.metrics"))
        try server.start()
        metricsServer = server
    }

    // MARK: State carried across restarts

    /// Returns how many episodes were taken up, or nil with no state file.
    private func resumeSavedState(now: Int64) -> Int? {
        guard let stateFile else {
            logger.info("no state directory (--state-dir or $STATE_DIRECTORY): a restart repeats open alerts")
            return nil
        }
        switch stateFile.load(bootID: bootID) {
        case .none:
            return 0
        case .ignored(let reason):
            logger.warning("ignoring state file \(stateFile.path): \(reason); open alerts will be repeated")
            return 0
        case .loaded(let state):
            pids.resume(containers: state.pidsEpisodes, host: state.hostPids, at: now)
            pids.resume(parents: state.cgroupParents ?? [])
            hostControl.resume(state.judgements)
            containment.resume(settled: state.settledActions, pendingLimits: state.pendingPidsLimits)
            alertmanager.resume(state.alertmanager ?? [])
            savedEpisodes = state
            return state.openCount
        }
    }

    private var currentState: SavedState {
        let open = pids.openEpisodes()
        var state = SavedState(bootID: bootID, pidsEpisodes: open.containers, hostPids: open.host,
                               judgements: hostControl.reported, actions: containment.savedState)
        let alerts = alertmanager.saved
        state.alertmanager = alerts.isEmpty ? nil : alerts
        let parents = pids.learnedParents
        state.cgroupParents = parents.isEmpty ? nil : parents
        return state
    }

    // MARK: Alertmanager

    /// Whether the part that owns an episode still has it open: asked after
    /// each pass for every open Alertmanager alert.
    private func episodeIsOpen(_ key: AlertEpisodeKey) -> Bool {
        switch key {
        case .containerPids(let id, let kind): return pids.episodeIsOpen(id, kind)
        case .hostPids: return pids.hostEpisodeIsOpen
        case .nodePids: return nodePids.episodeIsOpen
        case .socketMount(let id): return hostControl.isReported(id, .exposed) && !isAllowed(id)
        case .socketMountUnresolved(let id): return hostControl.isReported(id, .unresolved)
        case .hostControl(let id, let c): return hostControl.isReported(id, c) && !isAllowed(id)
        case .engineTCP(let address): return engineTCP.isExposed(address)
        case .engineLost: return !link.isConnected
        }
    }

    /// A `host_control.allow` rule matches the container now (one added by a reload ends its alerts).
    private func isAllowed(_ id: ContainerID) -> Bool {
        guard let metadata = link.metadata(for: id) else { return false }
        return config.hostControl.allow.contains { $0.matches(metadata) }
    }

    /// A delivery's report: its figures to the metrics; an outage's start
    /// and end as entries (one `alertmanager-lost` and one `alertmanager-back`
    /// per outage of each URL).
    private func alertmanagerReported(_ event: AlertmanagerDeliveryEvent) {
        switch event {
        case .stats(let url, let stats): if alertmanager.isDelivering(to: url) { parts.metrics.setAlertmanagerStats(url: url, stats) }
        case .removed(let url): parts.metrics.removeAlertmanager(url: url)
        default: break
        }
        guard alertmanager.isDelivering else { return }
        if let entry = alertmanager.delivered(event) { outlet.send(.lifecycle(entry)) }
        reportHealth()
    }

    /// Written when an alert went out since the last save (an episode opened
    /// or closed) or the Alertmanager alerts changed (relabelled, resolved),
    /// or at stop; containers gone are dropped at the next save.
    private func saveState(force: Bool) {
        guard let stateFile,
              force || outlet.findingsSent != savedAlertCount || alertmanager.revision != savedAlertmanagerRevision else { return }
        let state = currentState
        guard force || state != savedEpisodes else {
            savedAlertCount = outlet.findingsSent
            savedAlertmanagerRevision = alertmanager.revision
            return
        }
        do {
            try stateFile.save(state)
            savedEpisodes = state
            savedAlertCount = outlet.findingsSent
            savedAlertmanagerRevision = alertmanager.revision
            stateProblemLogged = false
        } catch {
            if !stateProblemLogged {
                logger.warning("cannot write state file \(stateFile.path): \(error); a restart would repeat open alerts")
                stateProblemLogged = true
            }
        }
    }
}

extension Daemon: EngineLinkObserver {
    func engineConnected(afterOutage outage: Int64?) {
        parts.metrics.setEngineConnected(true)
        containment.engineConnected()
        if let outage {
            outlet.send(.lifecycle(.engineBack(socket: parts.engine.socketPath, outage: outage)))
        } else {
            outlet.send(.lifecycle(.engineConnected(socket: parts.engine.socketPath, product: engineInfo?.product,
                                                    apiVersion: engineInfo?.apiVersion)))
        }
    }

    func engineLost(reason: String) {
        parts.metrics.setEngineConnected(false)
        outlet.send(.lifecycle(.engineLost(socket: parts.engine.socketPath, reason: reason, retryCap: EngineLink.maxRetry)))
    }

    func engineDescribed(_ info: RuntimeInfo) {
        if let product = info.product, product != engineInfo?.product, engineInfo != nil {
            logger.notice("the engine at \(parts.engine.socketPath) is now \(product)")
        }
        engineInfo = info
        hostControl.engineDescribed(info)
    }

    func containerInspected(_ details: ContainerDetails, eventTimeNano: Int64?) {
        pids.learn(details.id, details.metadata, hasOwnLimit: details.hasOwnPidsLimit, mainPid: details.mainPid,
                   cgroupParent: details.cgroupParent)
        hostControl.judge(details, eventTimeNano: eventTimeNano)
        saveState(force: false)
    }

    func containerUnknown(_ id: ContainerID) {
        pids.learn(id, nil)
    }

    func containerGone(_ id: ContainerID) {
        hostControl.forget(id)
        containment.containerGone(id)
    }

    func listingCompleted(_ present: Set<ContainerID>, reason: String) {
        hostControl.listingCompleted(present, reason: reason)
        alertmanager.listingDone = true
    }

    func engineEventArrived(timeNano: Int64) {
        parts.metrics.observeEvent(timeNano: timeNano)
    }
}
