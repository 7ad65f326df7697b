import DockwardAlertmanager
import DockwardCore
import Logging

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
final class AlertmanagerFeed: StoppingPart {
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
    private let makeDelivery: AlertmanagerDeliveryFactory?
    /// Where the delivery's outage reports go (set by the daemon; they hop to its queue).
    var report: @Sendable (AlertmanagerDeliveryEvent) -> Void = { _ in }
    private let logger: Logger
    private var delivery: AlertmanagerSubmitter?
    private(set) var open: [AlertEpisodeKey: OpenAlert] = [:]
    /// URLs in an outage now (between their `.lost` and `.back`), with the
    /// alert states dropped meanwhile (said in the `alertmanager-back` entry).
    private(set) var unreachable: [String: Int] = [:]
    /// The URLs (as events name them) of the delivery in use.
    private var deliveringTo: Set<String> = []
    /// Moves whenever the open alerts change (opened, relabelled,
    /// resolved): the daemon saves its state file when it moved.
    private(set) var revision = 0
    /// The engine's first full listing came: host-control episodes taken
    /// up from the state file are judged by then (a container removed
    /// while dockward was down is gone from the watch), so they may be sent.
    var listingDone = false
    /// Label sets taken up from the state file that the current static
    /// labels replace: resolved by the first pass.
    private var staleAfterRestart: [AlertmanagerAlert] = []

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
    /// `entry` is the finding's, as the outlet rendered it.
    func observe(_ finding: Finding, entry: JournalEntry) {
        guard let key = finding.episodeKey else { return }
        let now = wallClock()
        let existing = open[key]?.alert
        guard var alert = AlertmanagerAlerts.alert(for: finding, entry: entry, startsAt: existing?.startsAt ?? now,
                                                   endsAt: now + Self.expiryIntervals * resendNanos,
                                                   host: host, extraLabels: config.labels) else { return }
        var states: [AlertmanagerAlert] = []
        if let existing {
            // The episode's labels stay as they were sent (a name the engine
            // told later must not make a second alert), but for its severity:
            // a new severity is a new label set, so a new alert, and the old one ends.
            let severity = alert.labels["severity"]
            alert.labels = existing.labels
            alert.labels["severity"] = severity
            if existing.identity != alert.identity { states.append(resolved(existing, at: now)) }
        }
        states.append(alert)
        open[key] = OpenAlert(alert: alert, sentAt: now)
        revision += 1
        delivery?.submit(states)
    }

    /// After each pass: resolves the episodes that ended, and re-sends
    /// each open one a resend interval after it was last sent. An episode
    /// that ended within `resend_interval` of its start (a container that
    /// lived a second) is resolved only then: an alert firing for an
    /// instant would reach no receiver, whose group_wait holds it back.
    /// `isOpen` asks the part that owns an episode whether it still is.
    func afterPass(isOpen: (AlertEpisodeKey) -> Bool) {
        guard !open.isEmpty || !staleAfterRestart.isEmpty else { return }
        let now = wallClock()
        var states = staleAfterRestart.map { resolved($0, at: now) }
        staleAfterRestart = []
        for (key, entry) in open {
            if entry.sentAt == Self.neverSent && !listingDone && key.waitsForListing { continue }
            if isOpen(key) {
                if now - entry.sentAt >= resendNanos { states.append(refreshed(key, at: now)) }
                continue
            }
            if now - entry.alert.startsAt >= resendNanos || entry.sentAt == Self.neverSent {
                states.append(resolved(entry.alert, at: now))
                open[key] = nil
                revision += 1
            }
        }
        if !states.isEmpty { delivery?.submit(states) }
    }

    /// Every open alert this run has sent, again now with `endsAt` moved
    /// ahead (those taken up from the state file wait for the first pass).
    private func resendAllSent(to delivery: AlertmanagerSubmitter?) {
        let now = wallClock()
        let states = open.keys.filter { open[$0]?.sentAt != Self.neverSent }.map { refreshed($0, at: now) }
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
        if old.resendInterval != newConfig.resendInterval && old.labels == newConfig.labels {
            // endsAt was set by the old interval: a longer one would let the
            // alerts expire before their next resend.
            resendAllSent(to: delivery)
        }
        if old.labels != newConfig.labels {
            revision += 1
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
            deliveringTo = Set(newConfig.urls.map(AlertmanagerConfig.displayURL))
            if old.urls != newConfig.urls {
                logger.info("alerts go to Alertmanager at \(newConfig.urls.joined(separator: ", "))")
                // A URL just added gets every open alert now, not at their next resend.
                resendAllSent(to: delivery)
            }
        } catch {
            logger.error("alertmanager: \(error); the Alertmanager settings from before the reload stay")
        }
    }

    private func replaceDelivery() {
        // The one replaced keeps trying what it has for the share a stop gives it.
        delivery?.finish(within: Daemon.alertmanagerStopGrace) {}
        delivery = nil
        unreachable = [:]
        // Their series leave /metrics with them.
        for url in deliveringTo { report(.removed(url: url)) }
        deliveringTo = []
        guard config.isEnabled, let makeDelivery else { return }
        do {
            delivery = try makeDelivery(config, report)
            deliveringTo = Set(config.urls.map(AlertmanagerConfig.displayURL))
            logger.info("alerts go to Alertmanager at \(config.urls.joined(separator: ", "))")
        } catch {
            logger.error("alertmanager: \(error); alerts are not sent to Alertmanager (the journal has them all)")
            return
        }
        // Everything open now, to the new delivery.
        resendAllSent(to: delivery)
    }

    /// A delivery's outage reports, on the daemon's queue: returns the
    /// outage's lifecycle entry to send (one `alertmanager-lost` and one
    /// `alertmanager-back` per outage of a URL), if this event is one.
    func delivered(_ event: AlertmanagerDeliveryEvent) -> LifecycleEvent? {
        // A report that was on its way while a reload took its URL out.
        if case .removed = event {} else if let url = event.url, !deliveringTo.contains(url) { return nil }
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
    /// Whether events for `url` are of the delivery in use.
    func isDelivering(to url: String) -> Bool { deliveringTo.contains(url) }

    /// A stop: the last deliveries (the resolved states above all) get
    /// until `deadline`; `done` then runs on the queue.
    func shutdown(deadline: Int64, done: @escaping @DaemonActor () -> Void) {
        guard let delivery else { return done() }
        self.delivery = nil
        let grace = Interval(nanoseconds: StopSequence.timeLeft(until: deadline))
        delivery.finish(within: grace) { DaemonActor.async { done() } }
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
            // The static labels are today's config's (it may have changed
            // while dockward was down); the old label set is then resolved.
            var labels = s.labels.filter { AlertmanagerConfig.reservedLabelNames.contains($0.key) }
            labels.merge(config.labels) { own, _ in own }
            let before = AlertmanagerAlert(labels: s.labels, annotations: s.annotations, startsAt: s.startsAt, endsAt: s.startsAt)
            if labels != s.labels { staleAfterRestart.append(before) }
            // Never sent by this run: the first pass sends it (or resolves it).
            var alert = before
            alert.labels = labels
            open[key] = OpenAlert(alert: alert, sentAt: Self.neverSent)
        }
    }
}

extension AlertEpisodeKey {
    /// A container's host-control episode, which only the engine's listing
    /// can confirm after a restart.
    var waitsForListing: Bool {
        switch self {
        case .socketMount, .socketMountUnresolved, .hostControl: true
        case .containerPids, .hostPids, .nodePids, .engineTCP, .engineLost: false
        }
    }
}

extension AlertmanagerDeliveryEvent {
    /// The URL the event is about.
    var url: String? {
        switch self {
        case .lost(let url, _), .back(let url, _), .rejected(let url, _, _, _), .dropped(let url, _), .stats(let url, _),
             .removed(let url): url
        }
    }
}
