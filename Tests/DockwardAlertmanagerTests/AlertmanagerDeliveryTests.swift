import DockwardCore
import DockwardSystem
import DockwardTestSupport
import Foundation
import Glibc
import Synchronization
import XCTest
@testable import DockwardAlertmanager

/// The push to Alertmanager against the real one (Debian's
/// `prometheus-alertmanager` 0.25): what arrives, what is kept while it is
/// away, what is refused, over HTTPS and with basic auth.
final class AlertmanagerDeliveryTests: XCTestCase {
    /// Every wait's limit: far beyond what each takes, so a slow shared
    /// machine cannot fail them; nothing here measures speed.
    static let patience: TimeInterval = 60

    /// bcrypt (cost 10) of `password`, made once with libxcrypt:
    /// `python3 -c "import crypt; print(crypt.crypt('dockward-test-password', '\$2b\$10\$abcdefghijklmnopqrstuu'))"`.
    static let password = "dockward-test-password"
    static let passwordHash = "$2b$10$abcdefghijklmnopqrstuu2qZn0ri4KVmVEDdMg4F9Xz3e5h1ZEGe"

    /// Every event, in order.
    final class Events: Sendable {
        private let all = Mutex<[AlertmanagerDeliveryEvent]>([])
        func record(_ event: AlertmanagerDeliveryEvent) { all.withLock { $0.append(event) } }
        var list: [AlertmanagerDeliveryEvent] { all.withLock { $0 } }
        /// Everything but the figures, which change at each step.
        var changes: [AlertmanagerDeliveryEvent] {
            list.filter { if case .stats = $0 { return false } else { return true } }
        }
        func lost(_ url: String) -> [String] {
            list.compactMap { if case let .lost(u, reason) = $0, u == url { return reason } else { return nil } }
        }
        func back(_ url: String) -> [Int64] {
            list.compactMap { if case let .back(u, outage) = $0, u == url { return outage } else { return nil } }
        }
        func rejected(_ url: String) -> [(status: Int, alerts: Int, reason: String)] {
            list.compactMap { if case let .rejected(u, s, n, r) = $0, u == url { return (s, n, r) } else { return nil } }
        }
    }

    var cleanups: [() -> Void] = []

    override func tearDown() {
        for cleanup in cleanups.reversed() { cleanup() }
        cleanups.removeAll()
        super.tearDown()
    }

    // MARK: Helpers

    func alertmanager(port: UInt16? = nil, web: AlertmanagerProcess.WebConfig? = nil,
                      queryClient: AlertmanagerProcess.QueryClient? = nil) throws -> AlertmanagerProcess {
        let am = try AlertmanagerProcess(port: port, web: web, queryClient: queryClient)
        cleanups.append { am.stop() }
        return am
    }

    func delivery(_ config: AlertmanagerConfig, credentials: AlertmanagerCredentials = AlertmanagerCredentials(),
                  events: Events) -> AlertmanagerDelivery {
        let delivery = AlertmanagerDelivery(config: config, credentials: credentials) { events.record($0) }
        cleanups.append {
            let done = DispatchSemaphore(value: 0)
            Task { await delivery.shutdown(); done.signal() }
            done.wait()
        }
        return delivery
    }

    func config(_ urls: [String], configure: (inout AlertmanagerConfig) -> Void = { _ in }) -> AlertmanagerConfig {
        var config = AlertmanagerConfig()
        config.urls = urls
        config.resendInterval = .seconds(2)
        config.timeout = .seconds(10)
        configure(&config)
        return config
    }

    /// A firing state that ends an hour from now, started a minute ago (whole milliseconds, as the wire has them).
    func firing(_ name: String, _ labels: [String: String] = [:], summary: String = "summary") -> AlertmanagerAlert {
        let now = SystemClock.realtimeNanos() / 1_000_000 * 1_000_000
        return AlertmanagerAlert(labels: ["alertname": name, "source": "dockward-test"].merging(labels) { $1 },
                                 annotations: ["summary": summary], startsAt: now - 60_000_000_000,
                                 endsAt: now + 3_600_000_000_000)
    }

    func resolved(_ alert: AlertmanagerAlert) -> AlertmanagerAlert {
        var alert = alert
        alert.endsAt = SystemClock.realtimeNanos()
        return alert
    }

    func waitUntil(_ what: String, timeout: TimeInterval = patience, file: StaticString = #filePath, line: UInt = #line,
                   _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() > deadline {
                XCTFail("timed out after \(Int(timeout)) s waiting until \(what)", file: file, line: line)
                return
            }
            usleep(50_000)
        }
    }

    func named(_ alerts: [AlertmanagerProcess.Alert], _ name: String) -> [AlertmanagerProcess.Alert] {
        alerts.filter { $0.labels["alertname"] == name }
    }

    func pending(_ delivery: AlertmanagerDelivery, _ url: String) -> Int { delivery.stats(for: url)?.pending ?? -1 }

    // MARK: Plain HTTP

    func testFiringAlertArrivesWithItsLabelsAnnotationsAndStart() throws {
        let am = try alertmanager()
        let events = Events()
        let alert = firing("DockwardPidsHigh", ["container": "web", "severity": "warning"], summary: "web at 90% of pids.max")
        let delivery = delivery(config([am.url]), events: events)
        delivery.submit([alert])
        var listed: [AlertmanagerProcess.Alert] = []
        try waitUntil("the alert is listed") {
            listed = named(try am.alerts(), "DockwardPidsHigh")
            return !listed.isEmpty
        }
        XCTAssertEqual(listed.count, 1)
        XCTAssertEqual(listed.first?.labels, alert.labels)
        XCTAssertEqual(listed.first?.annotations, alert.annotations)
        XCTAssertEqual(listed.first?.startsAt, AlertmanagerAlert.rfc3339(alert.startsAt))
        XCTAssertEqual(listed.first?.endsAt, AlertmanagerAlert.rfc3339(alert.endsAt))
        XCTAssertEqual(listed.first?.status.state, "active")
        waitUntil("the delivery counts it sent") { delivery.stats(for: am.url)?.sent == 1 }
        XCTAssertEqual(delivery.stats(for: am.url), AlertmanagerDeliveryStats(sent: 1, failed: 0, dropped: 0, pending: 0))
        XCTAssertEqual(events.changes, [], "no outage, no refusal")
        XCTAssertEqual(events.list.last, .stats(url: am.url, AlertmanagerDeliveryStats(sent: 1)))
    }

    /// The same label set is the same alert: a later state replaces it, and
    /// a resolved one takes it out of the list. Alertmanager's v2 list never
    /// shows a resolved alert (its `endsAt` has passed), whatever filters
    /// the query sets; its received counter says the resolution arrived.
    func testAnUpdateReplacesTheAlertAndAResolvedStateResolvesIt() throws {
        let am = try alertmanager()
        let events = Events()
        let delivery = delivery(config([am.url]), events: events)
        let first = firing("DockwardPidsForecast", ["container": "db"], summary: "full in 10m")
        let other = firing("DockwardSocketMount", ["container": "ci"])
        delivery.submit([first, other])
        try waitUntil("both are listed") { try am.alerts().count == 2 }

        var update = first
        update.annotations["summary"] = "full in 2m"
        delivery.submit([update])
        try waitUntil("the annotation is the update's") {
            named(try am.alerts(), "DockwardPidsForecast").first?.annotations["summary"] == "full in 2m"
        }
        XCTAssertEqual(named(try am.alerts(), "DockwardPidsForecast").count, 1, "an update is not a second alert")

        let resolvedBefore = try am.metric(#"alertmanager_alerts_received_total{status="resolved",version="v2"}"#) ?? -1
        XCTAssertEqual(resolvedBefore, 0)
        delivery.submit([resolved(update)])
        try waitUntil("the resolved alert is gone from the list") { named(try am.alerts(), "DockwardPidsForecast").isEmpty }
        XCTAssertEqual(named(try am.alerts(), "DockwardSocketMount").count, 1, "the other alert is untouched")
        XCTAssertEqual(try am.metric(#"alertmanager_alerts_received_total{status="resolved",version="v2"}"#), 1)
        waitUntil("all three states counted sent") { delivery.stats(for: am.url)?.sent == 4 }
        XCTAssertEqual(pending(delivery, am.url), 0)
    }

    /// Within the queue the latest state wins before anything is sent: an
    /// update submitted while the Alertmanager is away replaces the earlier
    /// one, and a resolution replaces a firing state.
    func testWhileAwayTheLatestStateOfEachAlertIsWhatArrives() throws {
        let port = try LoopbackTCP.freePort()
        let url = "http://127.0.0.1:\(port)"
        let events = Events()
        let delivery = delivery(config([url]), events: events)
        let a = firing("A"), b = firing("B")
        delivery.submit([a, b])
        var a2 = a
        a2.annotations["summary"] = "second"
        delivery.submit([a2, resolved(b)])
        XCTAssertEqual(pending(delivery, url), 2, "two alerts, whatever the number of states")
        waitUntil("the outage is said") { events.lost(url).count == 1 }

        let am = try alertmanager(port: port)
        try waitUntil("A arrives") { !named(try am.alerts(), "A").isEmpty }
        XCTAssertEqual(named(try am.alerts(), "A").first?.annotations["summary"], "second")
        XCTAssertTrue(named(try am.alerts(), "B").isEmpty, "B arrived resolved, never firing")
        XCTAssertEqual(try am.metric(#"alertmanager_alerts_received_total{status="firing",version="v2"}"#), 1)
        XCTAssertEqual(try am.metric(#"alertmanager_alerts_received_total{status="resolved",version="v2"}"#), 1)
        waitUntil("the queue is empty") { pending(delivery, url) == 0 }
    }

    func testEveryURLGetsEveryAlert() throws {
        let one = try alertmanager(), two = try alertmanager()
        let events = Events()
        let delivery = delivery(config([one.url, two.url]), events: events)
        let alerts = (1...3).map { firing("Multi\($0)") }
        delivery.submit(alerts)
        for am in [one, two] {
            try waitUntil("\(am.url) lists all three") { try am.alerts().count == 3 }
            XCTAssertEqual(Set(try am.alerts().map(\.labels)), Set(alerts.map(\.labels)))
            waitUntil("\(am.url) counted") { delivery.stats(for: am.url)?.sent == 3 }
        }
        XCTAssertEqual(delivery.allStats.map(\.url), [one.url, two.url])
    }

    /// Nothing listens on the port: one `lost` for however many attempts,
    /// the alerts kept; an Alertmanager started there gets them, and one
    /// `back` closes the outage.
    func testAnUnreachableAlertmanagerIsLostOnceKeepsTheAlertsAndIsBackOnceWhenItStarts() throws {
        let port = try LoopbackTCP.freePort()
        let url = "http://127.0.0.1:\(port)"
        let events = Events()
        // Retries every resend interval at most: 50 ms here, so the retries
        // are counted rather than slept through.
        let delivery = delivery(config([url]) { $0.resendInterval = .milliseconds(50) }, events: events)
        let alerts = (1...3).map { firing("Kept\($0)") }
        delivery.submit(alerts)
        waitUntil("the outage is said") { !events.lost(url).isEmpty }
        let saidAt = SystemClock.monotonicNanos()
        waitUntil("five attempts") { delivery.attempts(for: url) >= 5 }
        XCTAssertEqual(events.lost(url).count, 1, "one lost per outage, however many attempts: \(events.changes)")
        XCTAssertTrue(events.lost(url)[0].lowercased().contains("refused"), "the reason says why: \(events.lost(url)[0])")
        XCTAssertEqual(events.back(url), [])
        XCTAssertEqual(delivery.stats(for: url), AlertmanagerDeliveryStats(sent: 0, failed: 0, dropped: 0, pending: 3))

        let startedAt = SystemClock.monotonicNanos()
        let am = try alertmanager(port: port)
        try waitUntil("the kept alerts arrive") { try am.alerts().count == 3 }
        waitUntil("the outage's end is said") { !events.back(url).isEmpty }
        XCTAssertEqual(events.lost(url).count, 1)
        XCTAssertEqual(events.back(url).count, 1)
        XCTAssertGreaterThan(events.back(url)[0], startedAt - saidAt, "the outage lasted until Alertmanager answered")
        XCTAssertEqual(delivery.stats(for: url), AlertmanagerDeliveryStats(sent: 3, failed: 0, dropped: 0, pending: 0))

        // Delivered from now on without another outage.
        delivery.submit([firing("After")])
        try waitUntil("the next alert arrives") { try am.alerts().count == 4 }
        XCTAssertEqual(events.changes.count, 2, "still one lost and one back: \(events.changes)")
    }

    /// Beyond `queue_capacity` a new alert is dropped and counted; a new
    /// state of an alert already queued always takes its place.
    func testTheCapacityBoundDropsNewAlertsButNeverUpdates() throws {
        let port = try LoopbackTCP.freePort()
        let url = "http://127.0.0.1:\(port)"
        let events = Events()
        let delivery = delivery(config([url]) { $0.queueCapacity = 3 }, events: events)
        let alerts = (1...5).map { firing("Cap\($0)") }
        delivery.submit(alerts)
        XCTAssertEqual(delivery.stats(for: url), AlertmanagerDeliveryStats(sent: 0, failed: 0, dropped: 2, pending: 3))
        XCTAssertTrue(events.list.contains(.dropped(url: url, count: 2)), "\(events.list)")

        var update = alerts[0]
        update.annotations["summary"] = "updated while full"
        delivery.submit([update])
        XCTAssertEqual(delivery.stats(for: url)?.dropped, 2, "an update is never dropped")
        XCTAssertEqual(pending(delivery, url), 3)
        delivery.submit([firing("Cap6")])
        XCTAssertEqual(delivery.stats(for: url)?.dropped, 3)
        XCTAssertEqual(events.list.filter { if case .dropped = $0 { return true } else { return false } },
                       [.dropped(url: url, count: 2), .dropped(url: url, count: 1)])

        let am = try alertmanager(port: port)
        try waitUntil("the three kept alerts arrive") { try am.alerts().count == 3 }
        XCTAssertEqual(Set(try am.alerts().compactMap { $0.labels["alertname"] }), ["Cap1", "Cap2", "Cap3"])
        XCTAssertEqual(named(try am.alerts(), "Cap1").first?.annotations["summary"], "updated while full")
        waitUntil("the queue is empty") { pending(delivery, url) == 0 }
        // 3, or 4 when an attempt with Cap1's first state was under way as
        // its update came: that one is sent as well, the update after it.
        XCTAssertTrue([3, 4].contains(delivery.stats(for: url)?.sent ?? 0), "\(String(describing: delivery.stats(for: url)))")
        XCTAssertEqual(delivery.stats(for: url)?.dropped, 3)
        XCTAssertEqual(delivery.stats(for: url)?.failed, 0)
    }

    /// A wrong `path_prefix` gets 404: sending it again cannot help, so the
    /// batch is counted failed and dropped, and said once.
    func testAWrongPathPrefixIsRefusedCountedFailedAndDropped() throws {
        let am = try alertmanager()
        let events = Events()
        let delivery = delivery(config([am.url]) { $0.pathPrefix = "/nowhere/" }, events: events)
        delivery.submit([firing("Lost1"), firing("Lost2")])
        waitUntil("the refusal is said") { !events.rejected(am.url).isEmpty }
        waitUntil("the queue is empty") { pending(delivery, am.url) == 0 }
        let rejected = events.rejected(am.url)
        XCTAssertEqual(rejected.count, 1, "\(events.changes)")
        XCTAssertEqual(rejected.first?.status, 404)
        XCTAssertEqual(rejected.first?.alerts, 2)
        XCTAssertTrue(rejected.first?.reason.hasPrefix("HTTP 404") ?? false, rejected.first?.reason ?? "")
        XCTAssertEqual(delivery.stats(for: am.url), AlertmanagerDeliveryStats(sent: 0, failed: 2, dropped: 0, pending: 0))
        XCTAssertEqual(events.lost(am.url), [], "a refusal is an answer, not an outage")
        // A refused batch leaves the queue: the next alert is the next
        // attempt (two in all), not the first batch again.
        delivery.submit([firing("Lost3")])
        waitUntil("the next refusal") { events.rejected(am.url).count == 2 }
        XCTAssertEqual(delivery.attempts(for: am.url), 2, "a refused batch is not sent again")
        XCTAssertEqual(events.rejected(am.url).last?.alerts, 1, "the second attempt carries the new alert alone")
        XCTAssertEqual(try am.alerts(), [])
    }

    /// Alertmanager answers 400 for an alert that ends before it starts,
    /// and keeps the valid alerts of the same batch (measured with 0.25):
    /// the delivery cannot tell which were kept, so it counts the batch failed.
    func testABatchWithAnInvalidAlertIsRefusedWith400() throws {
        let am = try alertmanager()
        let events = Events()
        let delivery = delivery(config([am.url]), events: events)
        var bad = firing("Backwards")
        bad.endsAt = bad.startsAt - 1_000_000_000
        delivery.submit([firing("Fine"), bad])
        waitUntil("the refusal is said") { !events.rejected(am.url).isEmpty }
        XCTAssertEqual(events.rejected(am.url).first?.status, 400)
        XCTAssertTrue(events.rejected(am.url).first?.reason.contains("start time must be before end time") ?? false,
                      events.rejected(am.url).first?.reason ?? "")
        XCTAssertEqual(delivery.stats(for: am.url)?.failed, 2)
        XCTAssertEqual(try am.alerts().compactMap { $0.labels["alertname"] }, ["Fine"])
    }

    /// More than one batch's worth: every alert arrives, in batches of at most 1000.
    func testMoreThanOneBatchArrives() throws {
        let am = try alertmanager()
        let events = Events()
        let delivery = delivery(config([am.url]), events: events)
        delivery.submit((1...2500).map { firing("Bulk", ["n": "\($0)"]) })
        try waitUntil("all 2500 are listed") { try am.alerts().count == 2500 }
        waitUntil("all counted sent") { delivery.stats(for: am.url)?.sent == 2500 }
        let sentSteps = events.list.compactMap { if case let .stats(_, s) = $0, s.sent > 0 { return s.sent } else { return nil } }
        XCTAssertEqual(Array(Set(sentSteps)).sorted(), [1000, 2000, 2500], "three POSTs")
    }

    // MARK: Stop and reload

    /// At stop, what is pending gets one more try: a resolution submitted
    /// just before arrives.
    func testFlushDeliversWhatIsPendingAtStop() async throws {
        let am = try alertmanager()
        let events = Events()
        let delivery = AlertmanagerDelivery(config: config([am.url]), credentials: AlertmanagerCredentials()) { events.record($0) }
        let alert = firing("Stopping")
        delivery.submit([alert])
        delivery.submit([resolved(alert)])
        let left = await delivery.flush(within: .seconds(30))
        XCTAssertEqual(left, [:])
        XCTAssertEqual(try am.metric(#"alertmanager_alerts_received_total{status="resolved",version="v2"}"#), 1)
        XCTAssertTrue(try am.alerts().isEmpty)
        await delivery.shutdown()  // a second time: nothing happens
        delivery.submit([firing("AfterStop")])
        XCTAssertEqual(delivery.stats(for: am.url)?.pending, 0, "nothing is taken after the stop")
    }

    /// An Alertmanager that accepts connections and never answers cannot
    /// hold the stop past its limit: flush returns what it left.
    func testFlushIsBoundedByItsLimit() async throws {
        let silent = try LoopbackTCP.silentListener()
        defer { close(silent.fd) }
        let url = "http://127.0.0.1:\(silent.port)"
        let events = Events()
        let delivery = AlertmanagerDelivery(config: config([url]) { $0.timeout = .minutes(5) },
                                            credentials: AlertmanagerCredentials()) { events.record($0) }
        delivery.submit([firing("Stuck1"), firing("Stuck2")])
        let started = Date()
        let left = await delivery.flush(within: .seconds(1))
        XCTAssertEqual(left, [url: 2])
        XCTAssertLessThan(Date().timeIntervalSince(started), 120, "returned long before the 5 min request timeout")
    }

    /// A reload adds a URL (it gets what is submitted from then on), takes
    /// one out (said once, its figures gone), and a changed endpoint keeps
    /// its queue.
    func testApplyAddsAndRemovesURLsAndKeepsTheQueueOfAChangedOne() throws {
        let one = try alertmanager(), two = try alertmanager()
        let port = try LoopbackTCP.freePort()
        let away = "http://127.0.0.1:\(port)"
        let events = Events()
        let delivery = delivery(config([one.url, away]), events: events)
        delivery.submit([firing("Before")])
        try waitUntil("one has it") { try one.alerts().count == 1 }
        XCTAssertEqual(pending(delivery, away), 1)

        // `away` gets a new timeout (a new client), `one` goes, `two` comes.
        delivery.apply(config([away, two.url]) { $0.timeout = .seconds(7) }, credentials: AlertmanagerCredentials())
        XCTAssertEqual(events.list.filter { if case .removed = $0 { return true } else { return false } }, [.removed(url: one.url)])
        XCTAssertNil(delivery.stats(for: one.url))
        XCTAssertEqual(pending(delivery, away), 1, "a changed endpoint keeps its queue")
        delivery.submit([firing("After")])
        try waitUntil("two has the new alert") { try two.alerts().count == 1 }
        XCTAssertEqual(try one.alerts().count, 1, "one, removed, got nothing more")
        XCTAssertEqual(pending(delivery, away), 2)

        let late = try alertmanager(port: port)
        try waitUntil("the kept queue arrives after the rebuild") { try late.alerts().count == 2 }
    }

    // MARK: TLS and basic auth

    func tlsAlertmanager(_ certificates: TestCertificates, clientCA: Bool = false,
                         users: [String: String] = [:], queryUser: (String, String)? = nil) throws -> AlertmanagerProcess {
        try alertmanager(
            web: .init(certFile: certificates.serverCertFile, keyFile: certificates.serverKeyFile,
                       clientCAFile: clientCA ? certificates.caFile : nil, basicAuthUsers: users),
            queryClient: .init(caFile: certificates.caFile, serverName: "alertmanager.test",
                               certFile: clientCA ? certificates.clientCertFile : nil,
                               keyFile: clientCA ? certificates.clientKeyFile : nil,
                               username: queryUser?.0, password: queryUser?.1))
    }

    func certificates() throws -> TestCertificates {
        // Named for a host name only, so the URL's 127.0.0.1 does not match it.
        let certificates = try TestCertificates(dnsNames: ["alertmanager.test"])
        cleanups.append { certificates.remove() }
        return certificates
    }

    func readSettings(_ configure: (inout AlertmanagerConfig) -> Void) throws -> (AlertmanagerConfig, AlertmanagerCredentials) {
        var config = AlertmanagerConfig()
        configure(&config)
        return (config, try AlertmanagerCredentials.read(for: config))
    }

    /// `ca_file` and `server_name`: the certificate names alertmanager.test,
    /// the URL is 127.0.0.1, and the delivery checks it against the server name.
    func testHTTPSWithTheCAAndServerNameDelivers() throws {
        let certificates = try certificates()
        let am = try tlsAlertmanager(certificates)
        let events = Events()
        let (settings, credentials) = try readSettings {
            $0.urls = [am.url]
            $0.tls.caFile = certificates.caFile
            $0.tls.serverName = "alertmanager.test"
        }
        let delivery = delivery(settings, credentials: credentials, events: events)
        delivery.submit([firing("OverTLS")])
        try waitUntil("it arrives over https") { try am.alerts().count == 1 }
        waitUntil("counted sent") { delivery.stats(for: am.url)?.sent == 1 }
        XCTAssertEqual(events.changes, [])
    }

    /// Without the CA the server's certificate is unknown: an outage whose
    /// reason says so, and the alert kept.
    func testHTTPSWithoutTheCAFailsOnTheCertificate() throws {
        let certificates = try certificates()
        let am = try tlsAlertmanager(certificates)
        let events = Events()
        let delivery = delivery(config([am.url]) { $0.tls.serverName = "alertmanager.test" }, events: events)
        delivery.submit([firing("Untrusted")])
        waitUntil("the outage is said") { !events.lost(am.url).isEmpty }
        let reason = events.lost(am.url)[0]
        XCTAssertTrue(reason.contains("CERTIFICATE_VERIFY_FAILED") || reason.lowercased().contains("certificate"), reason)
        XCTAssertEqual(delivery.stats(for: am.url), AlertmanagerDeliveryStats(pending: 1))
        XCTAssertEqual(try am.alerts(), [])
    }

    /// With the CA but no `server_name`, the certificate (for
    /// alertmanager.test) does not match the URL's 127.0.0.1.
    func testHTTPSWithoutServerNameFailsOnTheName() throws {
        let certificates = try certificates()
        let am = try tlsAlertmanager(certificates)
        let events = Events()
        let (settings, credentials) = try readSettings {
            $0.urls = [am.url]
            $0.tls.caFile = certificates.caFile
        }
        let delivery = delivery(settings, credentials: credentials, events: events)
        delivery.submit([firing("WrongName")])
        waitUntil("the outage is said") { !events.lost(am.url).isEmpty }
        let reason = events.lost(am.url)[0]
        // NIOSSL checks an IP address URL against the certificate's IP
        // names, and says `Couldn't find <none>` when none matches.
        XCTAssertTrue(reason.contains("failedToValidateHostname"), reason)
        XCTAssertEqual(delivery.stats(for: am.url)?.pending, 1)
    }

    /// An IP address URL needs no `server_name` when the certificate names that address.
    func testHTTPSToAnIPAddressTheCertificateNamesDelivers() throws {
        let certificates = try TestCertificates(dnsNames: ["alertmanager.test"], ipAddresses: ["127.0.0.1"])
        cleanups.append { certificates.remove() }
        let am = try tlsAlertmanager(certificates)
        let events = Events()
        let (settings, credentials) = try readSettings {
            $0.urls = [am.url]
            $0.tls.caFile = certificates.caFile
        }
        let delivery = delivery(settings, credentials: credentials, events: events)
        delivery.submit([firing("ByAddress")])
        try waitUntil("it arrives") { try am.alerts().count == 1 }
        XCTAssertEqual(events.changes, [])
    }

    /// An Alertmanager that requires a client certificate takes the one in
    /// `cert_file`/`key_file`.
    func testHTTPSWithAClientCertificateDelivers() throws {
        let certificates = try certificates()
        let am = try tlsAlertmanager(certificates, clientCA: true)
        let events = Events()
        let (settings, credentials) = try readSettings {
            $0.urls = [am.url]
            $0.tls.caFile = certificates.caFile
            $0.tls.serverName = "alertmanager.test"
            $0.tls.certFile = certificates.clientCertFile
            $0.tls.keyFile = certificates.clientKeyFile
        }
        let delivery = delivery(settings, credentials: credentials, events: events)
        delivery.submit([firing("WithClientCert")])
        try waitUntil("it arrives") { try am.alerts().count == 1 }
        XCTAssertEqual(events.changes, [])

        // The same without the client certificate is refused in the handshake.
        let without = Events()
        let (plain, plainCredentials) = try readSettings {
            $0.urls = [am.url]
            $0.tls.caFile = certificates.caFile
            $0.tls.serverName = "alertmanager.test"
        }
        let refused = self.delivery(plain, credentials: plainCredentials, events: without)
        refused.submit([firing("NoClientCert")])
        waitUntil("the outage is said") { !without.lost(am.url).isEmpty }
        XCTAssertEqual(refused.stats(for: am.url)?.pending, 1)
    }

    /// Basic auth over HTTPS: the right password delivers; a wrong one is
    /// 401, counted failed and dropped; a reload with the right one
    /// delivers what comes next.
    func testBasicAuthDeliversAndAWrongPasswordIsRefused() throws {
        let certificates = try certificates()
        let am = try tlsAlertmanager(certificates, users: ["dockward": Self.passwordHash],
                                     queryUser: ("dockward", Self.password))
        let dir = certificates.directory
        try (Self.password + "\n").write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        try "wrong\n".write(toFile: dir + "/wrong", atomically: true, encoding: .utf8)
        func settings(_ passwordFile: String) throws -> (AlertmanagerConfig, AlertmanagerCredentials) {
            try readSettings {
                $0.urls = [am.url]
                $0.resendInterval = .seconds(2)
                $0.tls.caFile = certificates.caFile
                $0.tls.serverName = "alertmanager.test"
                $0.basicAuthUsername = "dockward"
                $0.basicAuthPasswordFile = passwordFile
            }
        }

        let events = Events()
        let (good, goodCredentials) = try settings(dir + "/password")
        XCTAssertEqual(goodCredentials.authorization, .basic(username: "dockward", password: Self.password),
                       "the file's newline is not part of the password")
        let delivery = delivery(good, credentials: goodCredentials, events: events)
        delivery.submit([firing("Authorised")])
        try waitUntil("it arrives") { try am.alerts().count == 1 }

        let wrongEvents = Events()
        let (bad, badCredentials) = try settings(dir + "/wrong")
        let refused = self.delivery(bad, credentials: badCredentials, events: wrongEvents)
        refused.submit([firing("Refused1"), firing("Refused2")])
        waitUntil("the refusal is said") { !wrongEvents.rejected(am.url).isEmpty }
        XCTAssertEqual(wrongEvents.rejected(am.url).first?.status, 401)
        waitUntil("counted failed") { refused.stats(for: am.url)?.failed == 2 }
        XCTAssertEqual(refused.stats(for: am.url), AlertmanagerDeliveryStats(sent: 0, failed: 2, dropped: 0, pending: 0))
        XCTAssertEqual(wrongEvents.lost(am.url), [])

        refused.apply(good, credentials: goodCredentials)
        refused.submit([firing("AfterReload")])
        try waitUntil("the reloaded password delivers") { !named(try am.alerts(), "AfterReload").isEmpty }
        XCTAssertTrue(named(try am.alerts(), "Refused1").isEmpty)
    }

    // MARK: Pieces without an Alertmanager

    func testTheRequestURLJoinsURLPathPrefixAndAPIPath() {
        func request(_ url: String, _ prefix: String) -> String? {
            var config = AlertmanagerConfig()
            config.pathPrefix = prefix
            return AlertmanagerEndpoint(url: url, config: config, credentials: AlertmanagerCredentials()).requestURL
        }
        XCTAssertEqual(request("http://am:9093", "/"), "http://am:9093/api/v2/alerts")
        XCTAssertEqual(request("http://am:9093/", "/"), "http://am:9093/api/v2/alerts")
        XCTAssertEqual(request("http://am:9093", "alertmanager"), "http://am:9093/alertmanager/api/v2/alerts")
        XCTAssertEqual(request("http://am:9093/", "/alertmanager/"), "http://am:9093/alertmanager/api/v2/alerts")
        XCTAssertEqual(request("https://host/base/", "//am//"), "https://host/base/am/api/v2/alerts")
        XCTAssertEqual(request("http://am:9093?x=1", "/"), "http://am:9093/api/v2/alerts")
        XCTAssertNil(request("am:9093", "/"))
        XCTAssertNil(request("ftp://am", "/"))
    }

    func testURLUserinfoIsBasicAuthAndNeverLeavesTheConfig() {
        let endpoint = AlertmanagerEndpoint(url: "http://me:p%40ss@am:9093", config: AlertmanagerConfig(),
                                            credentials: AlertmanagerCredentials())
        XCTAssertEqual(endpoint.requestURL, "http://am:9093/api/v2/alerts")
        XCTAssertEqual(endpoint.displayURL, "http://am:9093")
        XCTAssertEqual(endpoint.authorization, "Basic " + Data("me:p@ss".utf8).base64EncodedString())
        let configured = AlertmanagerEndpoint(url: "http://me:x@am:9093", config: AlertmanagerConfig(),
                                              credentials: AlertmanagerCredentials(authorization: .bearer(token: "t0k")))
        XCTAssertEqual(configured.authorization, "Bearer t0k", "configured credentials win")
        XCTAssertEqual(AlertmanagerConfig.displayURL("https://u@h/p@x"), "https://h/p@x")
        XCTAssertEqual(AlertmanagerConfig.displayURL("http://h:1"), "http://h:1")
    }

    func testServerNameIsWhatTheRequestNamesAndTheHostIsWhereItConnects() {
        var config = AlertmanagerConfig()
        config.tls.serverName = "alertmanager.test"
        let https = AlertmanagerEndpoint(url: "https://10.0.0.5:9093", config: config, credentials: AlertmanagerCredentials())
        XCTAssertEqual(https.requestURL, "https://alertmanager.test:9093/api/v2/alerts")
        XCTAssertEqual(https.dnsOverride, ["alertmanager.test": "10.0.0.5"])
        let http = AlertmanagerEndpoint(url: "http://10.0.0.5:9093", config: config, credentials: AlertmanagerCredentials())
        XCTAssertEqual(http.dnsOverride, [:], "no TLS, no name to check")
    }

    func testCredentialsNameTheFileAndTheSystemsReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-cred-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var config = AlertmanagerConfig()
        config.basicAuthUsername = "u"
        config.basicAuthPasswordFile = dir + "/missing"
        XCTAssertThrowsError(try AlertmanagerCredentials.read(for: config)) { error in
            XCTAssertEqual("\(error)", "alertmanager basic auth password file \(dir)/missing: No such file or directory")
        }

        try "  s3cret \n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        config = AlertmanagerConfig()
        config.bearerTokenFile = dir + "/token"
        XCTAssertEqual(try AlertmanagerCredentials.read(for: config).authorization, .bearer(token: "s3cret"))
        config.basicAuthUsername = "u"
        XCTAssertThrowsError(try AlertmanagerCredentials.read(for: config)) { error in
            XCTAssertTrue("\(error)".contains("exclude each other"), "\(error)")
        }

        try "not a certificate".write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        config = AlertmanagerConfig()
        config.tls.caFile = dir + "/ca.pem"
        XCTAssertThrowsError(try AlertmanagerCredentials.read(for: config)) { error in
            XCTAssertEqual("\(error)", "alertmanager CA file \(dir)/ca.pem: no PEM certificate in it")
        }
        config = AlertmanagerConfig()
        config.tls.certFile = dir + "/ca.pem"
        XCTAssertThrowsError(try AlertmanagerCredentials.read(for: config)) { error in
            XCTAssertTrue("\(error)".contains("needs tls.key_file"), "\(error)")
        }
        if getuid() != 0 {
            try "x".write(toFile: dir + "/locked", atomically: true, encoding: .utf8)
            chmod(dir + "/locked", 0)
            config = AlertmanagerConfig()
            config.bearerTokenFile = dir + "/locked"
            XCTAssertThrowsError(try AlertmanagerCredentials.read(for: config)) { error in
                XCTAssertTrue("\(error)".hasSuffix("Permission denied"), "\(error)")
            }
        }
        XCTAssertEqual(try AlertmanagerCredentials.read(for: AlertmanagerConfig()), AlertmanagerCredentials())
    }
}
