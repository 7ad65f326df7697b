import DockwardCore
import Foundation
import XCTest

/// Findings as Alertmanager alerts: which open an episode, under which key
/// and name, with which labels; the wire body; the state file's key text.
final class AlertmanagerAlertTests: XCTestCase {
    func testEveryAlertKindThatOpensAnEpisodeHasAStableNameAndNothingElseDoes() {
        var keys: Set<AlertEpisodeKey> = []
        for finding in FindingTests.everyCase() {
            let key = finding.episodeKey
            let alert = AlertmanagerAlerts.alert(for: finding, entry: finding.entry, startsAt: 1, endsAt: 2, host: "h",
                                                 extraLabels: [:])
            XCTAssertEqual(key != nil, alert != nil, "\(finding.kind)")
            // The kind table says which kinds open an episode: those with an alertname.
            XCTAssertEqual(key != nil, finding.kind.facts.alertName != nil, "\(finding.kind)")
            if let key {
                keys.insert(key)
                XCTAssertEqual(AlertEpisodeKey(text: key.text), key, "the state file's text reads back: \(key.text)")
                XCTAssertTrue(finding.kind.role == .alert || finding.kind == .engineLost, "\(finding.kind)")
            }
        }
        XCTAssertEqual(keys.count, 14, "one key per kind and container: \(keys)")
        let names = EntryKind.allCases.compactMap(\.facts.alertName)
        XCTAssertEqual(Set(names).count, names.count, "names are distinct")
        XCTAssertTrue(names.allSatisfy { $0.range(of: "^Dockward[A-Z][A-Za-z]+$", options: .regularExpression) != nil })
    }

    func testLabelsAnnotationsAndTheEpisodeIdentity() throws {
        let id = FindingTests.id
        let ref = ContainerRef(id: id, metadata: FindingTests.metadata, cgroupPath: "/docker/\(id.full)")
        let finding = Finding.containerPids(PidsFinding(kind: .pidsExhausted, priority: .crit, current: 64, limit: 64,
                                                        refusedForks: 43), ref, peak: 64)
        let start: Int64 = 1_800_000_000_123_000_000
        let alert = try XCTUnwrap(AlertmanagerAlerts.alert(for: finding, entry: finding.entry, startsAt: start, endsAt: start + 240_000_000_000,
                                                           host: "node-1", extraLabels: ["cluster": "eu-1", "host": "forged"]))
        XCTAssertEqual(alert.labels, [
            "alertname": "DockwardPidsExhausted", "severity": "critical", "kind": "pids-exhausted",
            "container": "web", "container_id": id.short, "image": "nginx:1", "host": "node-1",
            "episode": "1800000000123", "cluster": "eu-1",
        ], "dockward's own labels win over the static ones")
        XCTAssertEqual(alert.annotations["summary"], finding.entry.message)
        XCTAssertEqual(alert.annotations["cgroup_path"], "/docker/\(id.full)")
        XCTAssertEqual(alert.annotations["pids_current"], "64")
        XCTAssertEqual(alert.annotations["message_id"], "9cbeffacd069472fb0b95e62b1ba4743")

        // Another episode of the same container and kind: another alert.
        let later = try XCTUnwrap(AlertmanagerAlerts.alert(for: finding, entry: finding.entry, startsAt: start + 1_000_000_000, endsAt: start,
                                                           host: "node-1", extraLabels: [:]))
        XCTAssertNotEqual(later.identity, alert.identity)
    }

    /// A pod's container by the names kube-state-metrics and the
    /// Prometheus Operator's rules use: namespace, pod, container.
    func testAPodsContainerCarriesItsNamespaceAndPod() throws {
        let id = FindingTests.id
        let pod = PodIdentity(namespace: "team-a", pod: "web-7d9c", podUID: "u-1", container: "app")
        let ref = ContainerRef(id: id, metadata: ContainerMetadata(name: pod.fullName, image: "nginx:1", pod: pod))
        let finding = Finding.containerPids(PidsFinding(kind: .pidsExhausted, current: 40, limit: 40, refusedForks: 1), ref, peak: nil)
        let alert = try XCTUnwrap(AlertmanagerAlerts.alert(for: finding, entry: finding.entry, startsAt: 1, endsAt: 2,
                                                           host: "node-1", extraLabels: ["pod": "forged"]))
        XCTAssertEqual(alert.labels["namespace"], "team-a")
        XCTAssertEqual(alert.labels["pod"], "web-7d9c")
        XCTAssertEqual(alert.labels["container"], "app")
        XCTAssertEqual(finding.entry.allFields.filter { $0.name.hasPrefix("K8S_") }.map { "\($0.name)=\($0.value)" },
                       ["K8S_NAMESPACE=team-a", "K8S_POD=web-7d9c", "K8S_CONTAINER=app", "K8S_POD_UID=u-1"])
    }

    func testSeverityFromPriority() {
        XCTAssertEqual(AlertmanagerAlerts.severity(.crit), "critical")
        XCTAssertEqual(AlertmanagerAlerts.severity(.err), "critical")
        XCTAssertEqual(AlertmanagerAlerts.severity(.warning), "warning")
        XCTAssertEqual(AlertmanagerAlerts.severity(.notice), "info")
    }

    func testBodyIsWhatTheV2APITakes() throws {
        let alert = AlertmanagerAlert(labels: ["alertname": "DockwardSocketMount", "container": "ci/1"],
                                      annotations: ["summary": "Container \"ci\" mounts /var/run"],
                                      startsAt: 1_800_000_000_123_456_789, endsAt: 1_800_000_240_000_000_000)
        let text = String(decoding: AlertmanagerAlert.body([alert]), as: UTF8.self)
        XCTAssertEqual(text, #"[{"annotations":{"summary":"Container \"ci\" mounts /var/run"},"endsAt":"2027-01-15T08:04:00.000Z","#
                           + #""labels":{"alertname":"DockwardSocketMount","container":"ci/1"},"startsAt":"2027-01-15T08:00:00.123Z"}]"#)
        XCTAssertEqual(String(decoding: AlertmanagerAlert.body([]), as: UTF8.self), "[]")
    }

    func testKeyTextRejectsWhatIsNoKey() {
        for text in ["", "pids-recovered/" + FindingTests.id.full, "socket-mount/xyz", "host-control-bogus/" + FindingTests.id.full,
                     "engine-tcp", "nonsense"] {
            XCTAssertNil(AlertEpisodeKey(text: text), text)
        }
    }
}
