import DockwardCore
import FoundationEssentials
import Prometheus
import Synchronization

/// dockward's Prometheus metrics, over a swift-prometheus
/// `PrometheusCollectorRegistry`. Thread-safe: the poll loop, the socket
/// watch and the HTTP server call it from their own threads.
///
/// Daemon-wide figures are pushed as they happen (an alert, one poll's
/// duration, the engine's state). Per-container figures are never pushed:
/// ``render(containers:)`` takes them at scrape time from the snapshot the
/// daemon hands over, so the poll loop does no metrics work per container.
///
/// Series (labels `container` = name or short id, `id` = 12-hex short id,
/// `image` = image reference or empty while unknown):
///
/// | metric | type | notes |
/// |---|---|---|
/// | `dockward_container_pids_current` | gauge | `pids.current` |
/// | `dockward_container_pids_max` | gauge | `pids.max`; **absent** for a container without a limit |
/// | `dockward_container_pids_rate` | gauge | tasks/s across the trend window |
/// | `dockward_container_pids_forecast_seconds` | gauge | only while the trend makes a forecast |
/// | `dockward_container_pids_refused_forks_total` | counter | `max` of `pids.events` |
/// | `dockward_containers_watched` | gauge | |
/// | `dockward_alerts_total{kind}` | counter | every alert entry written, reminders included |
/// | `dockward_actions_total{action,result}` | counter | `actions:` results: action cap, pause, stop, kill; result taken, failed, skipped, dry-run |
/// | `dockward_poll_duration_seconds` | histogram | one poll of every container |
/// | `dockward_engine_connected` | gauge | 1 while the events stream is up |
/// | `dockward_event_stream_lag_seconds` | gauge | arrival time minus the last event's `timeNano`; absent before the first event |
/// | `dockward_source_up{source}` | gauge | 1 up, 0 down, per `HealthSource`: kmsg, journal, inotify, engine, state_file, alertmanager; absent until the daemon first reports |
/// | `dockward_refusal_source{source}` | gauge | always 1; one series, `source` = kmsg, journal or poll (where refused forks are learnt from) |
/// | `dockward_open_file_budget_exceeded` | gauge | 1 when containers beyond the open-file budget reopen their files each poll |
/// | `dockward_alertmanager_alerts_sent_total{url}` | counter | alert states an Alertmanager accepted |
/// | `dockward_alertmanager_alerts_failed_total{url}` | counter | alert states given up after a refused batch (4xx) |
/// | `dockward_alertmanager_alerts_dropped_total{url}` | counter | new alerts not queued, the queue being full |
/// | `dockward_alertmanager_alerts_pending{url}` | gauge | alert states waiting to be sent |
/// | `dockward_build_info{version}` | gauge | always 1 |
///
/// An unlimited container has no `pids_max` series (rather than `+Inf`), so
/// `current / max` ratios simply skip it; select unlimited containers with
/// `dockward_container_pids_current unless on(id) dockward_container_pids_max`.
///
/// The `alertmanager_*` series exist only for configured Alertmanagers
/// (none while the push is off); `url` is the configured URL without its
/// userinfo, so a password written into it never reaches a label.
///
/// Cardinality is bounded by the watched containers: when a container is
/// gone from the snapshot (or its labels change, e.g. its name arrives),
/// every series of its old label set is unregistered.
///
/// A `Mutex` holds the container series, the lazily made gauges and the
/// source-health series; swift-prometheus's metrics are thread-safe.
public final class MetricsRegistry: Sendable {
    /// Poll durations: 10 µs (a handful of containers) to 1 s (a stuck disk).
    public static let pollDurationBuckets: [Double] = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    ]

    /// Every series lives here; callers go through the methods below, so the
    /// label and help-text rules (see `Names`) cannot be bypassed.
    private let prometheus: PrometheusCollectorRegistry

    /// The series made as they are needed, and dropped when their subject goes.
    private struct MadeLater {
        var series: [ContainerID: ContainerSeries] = [:]
        /// Registered at the first event, so there is no misleading 0 before one.
        var eventLag: Gauge?
        /// Registered at the first ``setSourceHealth(_:)``: before the daemon
        /// has said, a 1 would claim a source works and a 0 that it failed.
        var sourceUp: [HealthSource: Gauge] = [:]
        var refusalSource: (source: RefusalSource, gauge: Gauge)?
        var budgetExceeded: Gauge?
        /// By label (the URL without userinfo).
        var alertmanagers: [String: AlertmanagerSeries] = [:]
    }
    private let made = Mutex(MadeLater())
    private let alerts: [EntryKind: Counter]
    private let actions: [String: Counter]
    private let pollDuration: ValueHistogram
    private let engineConnected: Gauge
    private let watched: Gauge

    public init(version: String = DockwardVersion.current) {
        let registry = PrometheusCollectorRegistry()
        prometheus = registry
        // Every alert kind starts at 0 so `increase()` sees the first one.
        // Alerts only: notices, recoveries and the daemon's events are no
        // alert, and actions count in dockward_actions_total.
        var alerts: [EntryKind: Counter] = [:]
        for kind in EntryKind.allCases where kind.role == .alert {
            alerts[kind] = registry.makeCounter(descriptor: Names.alerts, labels: [("kind", kind.rawValue)])
        }
        self.alerts = alerts
        // Every action and result starts at 0 too: 4 x 4 series, whether actions are on or not.
        var actions: [String: Counter] = [:]
        for action in ContainmentAction.names {
            for result in ActionReport.Result.allCases {
                actions[action + "/" + result.rawValue] = registry.makeCounter(
                    descriptor: Names.actions, labels: [("action", action), ("result", result.rawValue)])
            }
        }
        self.actions = actions
        pollDuration = registry.makeValueHistogram(descriptor: Names.pollDuration, buckets: Self.pollDurationBuckets)
        engineConnected = registry.makeGauge(descriptor: Names.engineConnected)
        watched = registry.makeGauge(descriptor: Names.watched)
        registry.makeGauge(descriptor: Names.buildInfo, labels: [("version", version)]).set(1.0)
    }

    // MARK: Pushed as they happen

    /// Counts one alert entry (a kind whose role is `alert`); any other kind is ignored.
    public func recordAlert(kind: EntryKind) {
        alerts[kind]?.increment()
    }

    /// Counts one action result (`action-taken`, ... entries).
    public func recordAction(action: String, result: String) {
        actions[action + "/" + result]?.increment()
    }

    /// One poll's wall time (discovery, reads and detectors for every container).
    public func observePollDuration(seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        pollDuration.record(seconds)
    }

    public func setEngineConnected(_ connected: Bool) {
        engineConnected.set(connected ? 1.0 : 0.0)
    }

    /// How late the last engine event arrived: the time it was read minus its `timeNano`.
    public func setEventStreamLag(seconds: Double) {
        guard seconds.isFinite else { return }
        let gauge = made.withLock { m in
            if m.eventLag == nil { m.eventLag = prometheus.makeGauge(descriptor: Names.eventLag) }
            return m.eventLag!
        }
        gauge.set(max(0, seconds))
    }

    /// ``setEventStreamLag(seconds:)`` from an event's `timeNano` (ns since the epoch), measured now.
    public func observeEvent(timeNano: Int64, now: Date = Date()) {
        guard timeNano > 0 else { return }
        setEventStreamLag(seconds: now.timeIntervalSince1970 - Double(timeNano) / 1e9)
    }

    /// The state of every source, the refusal source in use and the
    /// open-file budget, as the daemon knows them now. Call it whenever one
    /// changes; the refusal source's single series is replaced when it does.
    public func setSourceHealth(_ health: SourceHealth) {
        made.withLock { m in
            for source in HealthSource.allCases {
                // A source not in use has no series: 1 would say it works, 0 that it failed.
                guard health.isUsed(source) else {
                    if let gauge = m.sourceUp.removeValue(forKey: source) { prometheus.unregisterGauge(gauge) }
                    continue
                }
                if m.sourceUp[source] == nil {
                    m.sourceUp[source] = prometheus.makeGauge(descriptor: Names.sourceUp, labels: [("source", source.rawValue)])
                }
                m.sourceUp[source]!.set(health.isUp(source) ? 1.0 : 0.0)
            }
            if m.refusalSource?.source != health.refusalSource {
                if let old = m.refusalSource { prometheus.unregisterGauge(old.gauge) }
                let gauge = prometheus.makeGauge(descriptor: Names.refusalSource,
                                                 labels: [("source", health.refusalSource.rawValue)])
                gauge.set(1.0)
                m.refusalSource = (health.refusalSource, gauge)
            }
            if m.budgetExceeded == nil { m.budgetExceeded = prometheus.makeGauge(descriptor: Names.budgetExceeded) }
            m.budgetExceeded!.set(health.openFileBudgetExceeded ? 1.0 : 0.0)
        }
    }

    /// One Alertmanager's delivery figures (totals since the daemon
    /// started); its series are made at the first call. Totals smaller than
    /// the last ones (a delivery made anew) reset the counters.
    public func setAlertmanagerStats(url: String, _ stats: AlertmanagerDeliveryStats) {
        let label = AlertmanagerConfig.displayURL(url)
        made.withLock { m in
            if m.alertmanagers[label] == nil { m.alertmanagers[label] = AlertmanagerSeries(url: label, registry: prometheus) }
            m.alertmanagers[label]!.update(stats)
        }
    }

    /// Unregisters the series of an Alertmanager a reload took out.
    public func removeAlertmanager(url: String) {
        made.withLock { m in
            m.alertmanagers.removeValue(forKey: AlertmanagerConfig.displayURL(url))?.unregister(from: prometheus)
        }
    }

    // MARK: Scrape

    /// Brings the per-container series in line with `containers` (creating,
    /// updating, and unregistering the series of containers no longer
    /// there), then renders the whole registry in the text exposition format
    /// 0.0.4. Scrapes are serialized.
    public func render(containers: [ContainerMetrics]) -> String {
        made.withLock { m in
            update(&m.series, containers)
            return prometheus.emitToString()
        }
    }

    /// The same as ``render(containers:)`` as UTF-8 bytes, for the HTTP server.
    public func renderBytes(containers: [ContainerMetrics]) -> [UInt8] {
        made.withLock { m in
            update(&m.series, containers)
            return prometheus.emitToBuffer()
        }
    }

    /// How many containers have series right now (for tests and debugging).
    public var containerSeriesCount: Int { made.withLock { $0.series.count } }

    private func update(_ series: inout [ContainerID: ContainerSeries], _ containers: [ContainerMetrics]) {
        var seen = Set<ContainerID>()
        seen.reserveCapacity(containers.count)
        for c in containers {
            guard seen.insert(c.id).inserted else { continue }  // first one wins
            let labels = [("container", c.displayName), ("id", c.id.short), ("image", c.image ?? "")]
            let s: ContainerSeries
            if let existing = series[c.id], existing.labels.elementsEqual(labels, by: { $0 == $1 }) {
                s = existing
            } else {
                series[c.id]?.unregister(from: prometheus)
                s = ContainerSeries(labels: labels, registry: prometheus)
                series[c.id] = s
            }
            s.update(c, registry: prometheus)
        }
        if series.count != seen.count {
            for (id, s) in series where !seen.contains(id) {
                s.unregister(from: prometheus)
                series.removeValue(forKey: id)
            }
        }
        watched.set(Int64(seen.count))
    }
}

/// Metric names and help texts. A name must always be registered with the
/// same help text (swift-prometheus traps otherwise), so they live here once.
/// Computed: swift-prometheus's descriptor is not Sendable, so it cannot be
/// a shared constant; one is made at each registration, which is rare.
enum Names {
    private static func d(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    static var alerts: MetricNameDescriptor { d("dockward_alerts_total", "Alert entries dockward wrote, by kind (reminders included).") }
    static var actions: MetricNameDescriptor { d("dockward_actions_total", "Containment actions (actions:) by action and result: taken, failed, skipped, dry-run.") }
    static var pollDuration: MetricNameDescriptor { d("dockward_poll_duration_seconds", "Time one poll of every watched container took.") }
    static var engineConnected: MetricNameDescriptor { d("dockward_engine_connected", "1 while the Docker engine's events stream is connected, else 0.") }
    static var eventLag: MetricNameDescriptor { d("dockward_event_stream_lag_seconds", "Arrival time minus timeNano of the last engine event read.") }
    static var watched: MetricNameDescriptor { d("dockward_containers_watched", "Containers whose pids cgroup dockward watches.") }
    static var sourceUp: MetricNameDescriptor { d("dockward_source_up", "1 while the source works, 0 while it has failed (dockward then runs on a fallback, or without it): kmsg, journal, inotify, engine, state_file, alertmanager; no series for a source not in use.") }
    static var refusalSource: MetricNameDescriptor { d("dockward_refusal_source", "Where refused forks are learnt from (kmsg, journal, or poll of every pids.events); always 1.") }
    static var budgetExceeded: MetricNameDescriptor { d("dockward_open_file_budget_exceeded", "1 when some containers' pids files are reopened each poll because the open-file budget is spent.") }
    static var alertmanagerSent: MetricNameDescriptor { d("dockward_alertmanager_alerts_sent_total", "Alert states the Alertmanager at url accepted (2xx).") }
    static var alertmanagerFailed: MetricNameDescriptor { d("dockward_alertmanager_alerts_failed_total", "Alert states given up because the Alertmanager at url refused their batch (4xx other than 429).") }
    static var alertmanagerDropped: MetricNameDescriptor { d("dockward_alertmanager_alerts_dropped_total", "New alerts not queued for the Alertmanager at url because its queue held queue_capacity.") }
    static var alertmanagerPending: MetricNameDescriptor { d("dockward_alertmanager_alerts_pending", "Alert states waiting to be sent to the Alertmanager at url.") }
    static var buildInfo: MetricNameDescriptor { d("dockward_build_info", "dockward's version; always 1.") }
    static var current: MetricNameDescriptor { d("dockward_container_pids_current", "Tasks in the container's pids cgroup (pids.current).") }
    static var max: MetricNameDescriptor { d("dockward_container_pids_max", "The container's pids limit (pids.max); absent when it has none.") }
    static var rate: MetricNameDescriptor { d("dockward_container_pids_rate", "Growth of the container's task count across the trend window, tasks per second.") }
    static var forecast: MetricNameDescriptor { d("dockward_container_pids_forecast_seconds", "Seconds until the task count meets its ceiling at the current trend; present only while there is a forecast.") }
    static var refused: MetricNameDescriptor { d("dockward_container_pids_refused_forks_total", "Forks the kernel refused at the container's pids limit (max count of pids.events).") }
}

/// The series of one container under one label set.
final class ContainerSeries {
    let labels: [(String, String)]
    let current: Gauge
    let rate: Gauge
    let refused: Counter
    var max: Gauge?
    var forecast: Gauge?
    private var refusedSoFar: Int64 = 0

    init(labels: [(String, String)], registry: PrometheusCollectorRegistry) {
        self.labels = labels
        current = registry.makeGauge(descriptor: Names.current, labels: labels)
        rate = registry.makeGauge(descriptor: Names.rate, labels: labels)
        refused = registry.makeCounter(descriptor: Names.refused, labels: labels)
        refused.reset()  // a registry may hand back a counter left by an earlier series
    }

    func update(_ c: ContainerMetrics, registry: PrometheusCollectorRegistry) {
        current.set(c.current)
        rate.set(c.rate.isFinite ? c.rate : 0)
        if c.limit >= 0 {
            if max == nil { max = registry.makeGauge(descriptor: Names.max, labels: labels) }
            max?.set(c.limit)
        } else if let g = max {
            registry.unregisterGauge(g)
            max = nil
        }
        if let f = c.forecastSeconds, f.isFinite {
            if forecast == nil { forecast = registry.makeGauge(descriptor: Names.forecast, labels: labels) }
            forecast?.set(Swift.max(0, f))
        } else if let g = forecast {
            registry.unregisterGauge(g)
            forecast = nil
        }
        // The kernel's count only grows; a smaller one is a new cgroup under
        // the same id, which Prometheus reads as a counter reset.
        if c.refusedForks < refusedSoFar {
            refused.reset()
            refusedSoFar = 0
        }
        if c.refusedForks > refusedSoFar {
            refused.increment(by: c.refusedForks - refusedSoFar)
            refusedSoFar = c.refusedForks
        }
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        registry.unregisterGauge(current)
        registry.unregisterGauge(rate)
        registry.unregisterCounter(refused)
        if let max { registry.unregisterGauge(max) }
        if let forecast { registry.unregisterGauge(forecast) }
    }
}

/// The series of one Alertmanager. The delivery keeps totals; the counters
/// follow them by increments.
final class AlertmanagerSeries {
    let sent: Counter
    let failed: Counter
    let dropped: Counter
    let pending: Gauge
    private var last = AlertmanagerDeliveryStats()

    init(url: String, registry: PrometheusCollectorRegistry) {
        let labels = [("url", url)]
        sent = registry.makeCounter(descriptor: Names.alertmanagerSent, labels: labels)
        failed = registry.makeCounter(descriptor: Names.alertmanagerFailed, labels: labels)
        dropped = registry.makeCounter(descriptor: Names.alertmanagerDropped, labels: labels)
        pending = registry.makeGauge(descriptor: Names.alertmanagerPending, labels: labels)
        // A registry may hand back counters left by an earlier series of this URL.
        for counter in [sent, failed, dropped] { counter.reset() }
        pending.set(0.0)
    }

    func update(_ stats: AlertmanagerDeliveryStats) {
        Self.follow(sent, from: last.sent, to: stats.sent)
        Self.follow(failed, from: last.failed, to: stats.failed)
        Self.follow(dropped, from: last.dropped, to: stats.dropped)
        pending.set(Int64(max(0, stats.pending)))
        last = stats
    }

    private static func follow(_ counter: Counter, from old: Int, to new: Int) {
        if new < old {
            counter.reset()
            if new > 0 { counter.increment(by: Int64(new)) }
        } else if new > old {
            counter.increment(by: Int64(new - old))
        }
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        registry.unregisterCounter(sent)
        registry.unregisterCounter(failed)
        registry.unregisterCounter(dropped)
        registry.unregisterGauge(pending)
    }
}
