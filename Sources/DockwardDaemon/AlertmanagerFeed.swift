import DockwardCore
import Logging

/// Where the feed hands alert states: the delivery, which POSTs them off the
/// daemon's queue, or a test's recorder. `submit` never blocks.
public protocol AlertmanagerSubmitter: AnyObject, Sendable {
    /// The latest state of each alert (firing with `endsAt` ahead, or resolved).
    func submit(_ alerts: [AlertmanagerAlert])
    /// A reload changed the URLs, the TLS or auth files, the timeout or the
    /// bound: the secrets are read again (throws naming the file that could
    /// not be), and what is pending stays for the URLs that stay.
    func apply(_ config: AlertmanagerConfig) throws
    /// At stop or when replaced: one last try at what is pending, for at
    /// most `grace`; then `done` (on any thread).
    func finish(within grace: Interval, done: @escaping @Sendable () -> Void)
}

/// Makes the delivery for a config (reading its secret files); throws with
/// the file and the reason when one cannot be read.
public typealias AlertmanagerDeliveryFactory = @Sendable (
    AlertmanagerConfig, _ report: @escaping @Sendable (AlertmanagerDeliveryEvent) -> Void
) throws -> AlertmanagerSubmitter

/// One Alertmanager alert per open episode, fed by the outlet's typed
/// findings: an episode opens with the finding that starts it and is sent
/// at once; while it lasts it is sent again every `resend_interval` with
/// `endsAt` four intervals ahead (as Prometheus does), so a dockward that
/// dies lets its alerts expire instead of firing forever; after each pass
/// every open episode is checked against the part that owns it (the pids
/// watch, the host-control watch, the engine TCP check, the engine link)
/// and one that ended (recovered, the container gone, allowed by a reload)
/// is sent once more with `endsAt` now, which resolves it.
///
/// Episodes are tracked whether or not Alertmanager is configured (a few
/// per alerting container, checked in O(open) after each pass), so one
/// turned on by a reload gets every episode already open, and a restart
/// takes them up from the state file with their first `startsAt`.
@DaemonActor
final class AlertmanagerFeed {
    /// An open episode: the alert as last sent (firing), and when.
    struct OpenAlert: Equatable {
        var alert: AlertmanagerAlert
        var sentAt: Int64
    }

    /// `sentAt` of an alert taken up from the state file: the first pass,
    /// after the watches have looked again, sends or resolves it.
    private static let neverSent = Int64.min / 2

    /// `endsAt` this many resend intervals ahead.
    static let expiryIntervals: Int64 = 4

    private var config: AlertmanagerConfig
    private let host: String
    private let wallClock: @Sendable () -> Int64
    /// Asks the owner of an episode whether it is still open (set by the daemon).
    var isOpen: (AlertEpisodeKey) -> Bool = { _ in true }
    private let makeDelivery: AlertmanagerDeliveryFactory?
    /// Where the delivery's outage reports go (set by the daemon; they hop to its queue).
    var report: @Sendable (AlertmanagerDeliveryEvent) -> Void = { _ in }
    private let logger: Logger
    private var delivery: AlertmanagerSubmitter?
    private(set) var open: [AlertEpisodeKey: OpenAlert] = [:]
    /// URLs in an outage now (between their `.lost` and `.back`), with the
    /// alert states dropped meanwhile (said in the `alertmanager-back` entry).
    private(set) var unreachable: [String: Int] = [:]

    init(config: AlertmanagerConfig, host: String, wallClock: @escaping @Sendable () -> Int64,
         makeDelivery: AlertmanagerDeliveryFactory?, logger: Logger) {
        self.config = config
        self.host = host
        self.wallClock = wallClock
        self.makeDelivery = makeDelivery
        self.logger = logger
    }

    /// Makes the delivery when the config asks for one. A secret that
    /// cannot be read is said and leaves Alertmanager off, the watch on.
    func start() { replaceDelivery() }

    var isDelivering: Bool { delivery != nil }

    private var resendNanos: Int64 { config.resendInterval.nanoseconds }

    // MARK: Findings

    /// An outlet consumer: opens the finding's episode, or carries it on.
    func observe(_ finding: Finding) {
        guard let key = finding.episodeKey else { return }
        let now = wallClock()
        let startsAt = open[key]?.alert.startsAt ?? now
        guard let alert = AlertmanagerAlerts.alert(for: finding, startsAt: startsAt, endsAt: now + Self.expiryIntervals * resendNanos,
                                                   host: host, extraLabels: config.labels) else { return }
        var states = [alert]
        // A new severity is a new label set, so a new alert: the old one ends.
        if let old = open[key]?.alert, old.identity != alert.identity { states.append(resolved(old, at: now)) }
        open[key] = OpenAlert(alert: alert, sentAt: now)
        delivery?.submit(states)
    }

    /// After each pass: resolves the episodes that ended, and re-sends
    /// each open one a resend interval after it was last sent.
    func afterPass() {
        guard !open.isEmpty else { return }
        let now = wallClock()
        var states: [AlertmanagerAlert] = []
        for (key, entry) in open {
            if !isOpen(key) {
                states.append(resolved(entry.alert, at: now))
                open[key] = nil
            } else if now - entry.sentAt >= resendNanos {
                states.append(refreshed(key, at: now))
            }
        }
        if !states.isEmpty { delivery?.submit(states) }
    }

    /// The open alert with `endsAt` moved ahead, marked sent now.
    private func refreshed(_ key: AlertEpisodeKey, at now: Int64) -> AlertmanagerAlert {
        open[key]?.alert.endsAt = now + Self.expiryIntervals * resendNanos
        open[key]?.sentAt = now
        return open[key]!.alert
    }

    private func resolved(_ alert: AlertmanagerAlert, at now: Int64) -> AlertmanagerAlert {
        var done = alert
        done.endsAt = now
        return done
    }

    // MARK: Reload, outages, stop

    /// A reload: new static labels re-label every open alert (the old label
    /// sets are resolved); the delivery takes the new settings and reads its
    /// secret files again (a rotated token, a fixed password file), or is
    /// made (turned on, or it could not be before) or finished (turned off).
    func apply(_ newConfig: AlertmanagerConfig) {
        let old = config
        config = newConfig
        if old.labels != newConfig.labels {
            let now = wallClock()
            var states: [AlertmanagerAlert] = []
            for (key, entry) in open {
                states.append(resolved(entry.alert, at: now))
                var labels = entry.alert.labels.filter {
                    old.labels[$0.key] == nil || AlertmanagerConfig.reservedLabelNames.contains($0.key)
                }
                labels.merge(newConfig.labels) { own, _ in own }
                open[key]?.alert.labels = labels
                states.append(refreshed(key, at: now))
            }
            // To the Alertmanagers that had the old labels.
            if !states.isEmpty { delivery?.submit(states) }
        }
        guard let delivery, newConfig.isEnabled else { return replaceDelivery() }
        do {
            try delivery.apply(newConfig)
            if old.urls != newConfig.urls { logger.info("alerts go to Alertmanager at \(newConfig.urls.joined(separator: ", "))") }
        } catch {
            logger.error("alertmanager: \(error); the Alertmanager settings from before the reload stay")
        }
    }

    private func replaceDelivery() {
        delivery?.finish(within: .seconds(2)) {}
        delivery = nil
        unreachable = [:]
        guard config.isEnabled, let makeDelivery else { return }
        do {
            delivery = try makeDelivery(config, report)
            logger.info("alerts go to Alertmanager at \(config.urls.joined(separator: ", "))")
        } catch {
            logger.error("alertmanager: \(error); alerts are not sent to Alertmanager (the journal has them all)")
            return
        }
        // Everything open now, to the new delivery.
        let now = wallClock()
        let states = open.filter { $0.value.sentAt != Self.neverSent }.keys.map { refreshed($0, at: now) }
        if !states.isEmpty { delivery?.submit(states) }
    }

    /// A delivery's outage reports, on the daemon's queue: returns the
    /// outage's lifecycle entry to send (one `alertmanager-lost` and one
    /// `alertmanager-back` per outage of a URL), if this event is one.
    func delivered(_ event: AlertmanagerDeliveryEvent) -> LifecycleEvent? {
        switch event {
        case .lost(let url, let reason):
            guard unreachable[url] == nil else { return nil }
            unreachable[url] = 0
            return .alertmanagerLost(url: url, reason: reason)
        case .back(let url, let outage):
            guard let dropped = unreachable.removeValue(forKey: url) else { return nil }
            return .alertmanagerBack(url: url, outage: outage, dropped: dropped)
        case .dropped(let url, let count):
            if unreachable[url] != nil {
                unreachable[url, default: 0] += count
            } else {
                logger.warning("alertmanager \(url): \(count) alert state(s) did not fit in the queue (alertmanager.queue_capacity) and were dropped")
            }
            return nil
        case .rejected(let url, let status, let alerts, let reason):
            logger.error("alertmanager \(url) refused \(alerts) alert state(s) with HTTP \(status): \(reason); they are dropped (sending them again cannot help)")
            return nil
        case .removed(let url):
            unreachable[url] = nil
            return nil
        case .stats:
            return nil
        }
    }

    /// At stop: open alerts stay open (they expire by `endsAt` unless a
    /// restart sends them again); what is pending gets one last try.
    func finish(within grace: Interval, done: @escaping @Sendable () -> Void) {
        guard let delivery else { return done() }
        self.delivery = nil
        delivery.finish(within: grace, done: done)
    }

    // MARK: State carried across restarts

    /// The open alerts, for the state file.
    var saved: [SavedState.OpenAlert] {
        open.map { key, entry in
            SavedState.OpenAlert(key: key.text, labels: entry.alert.labels, annotations: entry.alert.annotations,
                                 startsAt: entry.alert.startsAt)
        }.sorted { $0.key < $1.key }
    }

    /// Takes up the alerts open before a restart with their first
    /// `startsAt` (the same label sets: Alertmanager sees the same alerts,
    /// nobody is paged twice); the first pass resolves those that ended
    /// while dockward was down.
    func resume(_ saved: [SavedState.OpenAlert]) {
        for s in saved {
            guard let key = AlertEpisodeKey(text: s.key) else { continue }
            // Never sent by this run: the first pass sends it.
            open[key] = OpenAlert(alert: AlertmanagerAlert(labels: s.labels, annotations: s.annotations,
                                                           startsAt: s.startsAt, endsAt: s.startsAt),
                                  sentAt: Self.neverSent)
        }
    }
}
