import DockwardCore
import Foundation
import XCTest
import DockwardYAML

/// The schema is one table (`ConfigTable`): the shipped file, the known keys
/// and the reload lines all come from it.
final class ConfigTableTests: XCTestCase {
    static let shippedFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../config/dockward.yml").standardized

    /// Comments included: the file is the table written out. To take a table
    /// change into the file, copy the text this test leaves in the temp folder.
    func testShippedFileIsTheTableWrittenOut() throws {
        let shipped = try String(contentsOf: Self.shippedFile, encoding: .utf8)
        let rendered = ConfigTable.renderedFile()
        if shipped != rendered {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("dockward.yml.rendered")
            try rendered.write(to: out, atomically: true, encoding: .utf8)
            XCTFail("config/dockward.yml differs from ConfigTable.renderedFile(); the table's text is in \(out.path)")
        }
    }

    /// Read by the YAML parser, not by the table's writer: every key of the
    /// table stands in the shipped file with its default, and no other.
    func testShippedFileShowsEveryTableKeyWithItsDefaultAndNoOther() throws {
        let root = try XCTUnwrap(try DockwardYAML.compose(yaml: String(contentsOf: Self.shippedFile, encoding: .utf8)))
        var found: [String: ConfigFileValue] = [:]
        func walk(_ node: Node, _ path: String) {
            switch node {
            case .mapping(let mapping) where ConfigTable.keys.contains(path):
                // A key whose value is a mapping (alertmanager.labels).
                found[path] = .mapping(Dictionary(uniqueKeysWithValues: mapping.map { ($0.key.string ?? "?", $0.value.string ?? "?") }))
            case .mapping(let mapping):
                for (key, value) in mapping { walk(value, path.isEmpty ? key.string ?? "?" : "\(path).\(key.string ?? "?")") }
            case .sequence(let seq):
                found[path] = .list(seq.map { $0.string ?? "\($0)" })
            case .scalar(let s):
                found[path] = .scalar(s.style == .doubleQuoted ? "\"\(s.string)\"" : s.string)
            default:
                XCTFail("\(path): \(node)")
            }
        }
        walk(root, "")
        XCTAssertEqual(Set(found.keys).subtracting(ConfigTable.keys), [], "keys in the file that the table lacks")
        XCTAssertEqual(Set(ConfigTable.keys).subtracting(found.keys), [], "table keys the file does not show")
        for (key, value) in ConfigTable.defaultFileValues {
            XCTAssertEqual(found[key], value, key)
        }
        XCTAssertEqual(ConfigTable.defaultFileValues["pids.warn_ratio"], .scalar("0.80"))
        XCTAssertEqual(ConfigTable.defaultFileValues["metrics.listen"], .scalar("\"\""))
        XCTAssertEqual(ConfigTable.defaultFileValues["alertmanager.labels"], .mapping([:]))
        XCTAssertEqual(ConfigTable.defaultFileValues["alertmanager.tls.ca_file"], .scalar("\"\""))
        XCTAssertEqual(ConfigTable.defaultFileValues["alertmanager.queue_capacity"], .scalar("10000"))
    }

    func testShippedFileSaysWhatEachPollReads() throws {
        let shipped = try String(contentsOf: Self.shippedFile, encoding: .utf8)
        XCTAssertFalse(shipped.contains("pids.current, pids.max and pids.events are"),
                       "each poll reads pids.current only; pids.max and pids.events on the kernel's word")
        XCTAssertTrue(shipped.contains("How often every container's pids.current is read"))
    }

    /// The unknown-key errors list the table's keys, as before the table.
    func testUnknownKeyErrorsListTheTablesKeys() {
        func expected(_ yaml: String) -> String? {
            do { _ = try ConfigLoader.parse(yaml, file: "t.yml"); return nil } catch { return error.issues.first?.message }
        }
        XCTAssertEqual(expected("colour: red\n"), "unknown key; expected one of: "
            + "cgroup, docker, engine, pids, alerts, overrides, host_control, socket_watch, metrics, actions, alertmanager, node_pids")
        XCTAssertEqual(expected("pids:\n  colour: red\n"), "unknown key; expected one of: "
            + "poll_interval, warn_ratio, critical_ratio, high_for, unlimited, forecast_horizon, forecast_window")
        XCTAssertEqual(expected("overrides:\n  - match: { name: x }\n    colour: red\n"), "unknown key; expected one of: "
            + "match, warn_ratio, critical_ratio, high_for, unlimited, forecast_horizon, ignore, actions")
        XCTAssertEqual(expected("overrides:\n  - match: { colour: red }\n"),
                       "unknown key; expected one of: name, image, label, labels")
        XCTAssertEqual(expected("host_control:\n  colour: red\n"), "unknown key; expected one of: "
            + "protect, allow, resync_interval, checks, engine_config_root")
        XCTAssertEqual(expected("socket_watch:\n  checks: { colour: red }\n"), "unknown key; expected one of: "
            + "privileged, host_pid, engine_state, block_devices, engine_tcp")
        XCTAssertEqual(expected("actions:\n  colour: red\n"), "unknown key; expected one of: "
            + "enabled, dry_run, cap_unlimited, on_exhausted, exhausted_for")
        XCTAssertEqual(expected("overrides:\n  - match: { name: x }\n    actions: { colour: red }\n"),
                       "unknown key; expected one of: enabled, dry_run, cap_unlimited, on_exhausted, exhausted_for")
        XCTAssertEqual(expected("alerts:\n  colour: red\n"),
                       "unknown key; expected one of: repeat_interval, recover_after")
        XCTAssertEqual(expected("alertmanager:\n  colour: red\n"), "unknown key; expected one of: "
            + "urls, path_prefix, resend_interval, timeout, labels, tls, basic_auth, bearer_token_file, queue_capacity")
        XCTAssertEqual(expected("alertmanager:\n  tls: { colour: red }\n"),
                       "unknown key; expected one of: ca_file, cert_file, key_file, server_name")
        XCTAssertEqual(expected("alertmanager:\n  basic_auth: { colour: red }\n"),
                       "unknown key; expected one of: username, password_file")
        XCTAssertEqual(expected("metrics: 3\n"), "expected a mapping of keys (listen)")
    }

    /// Every key changed at once: one reload line per key, in table order,
    /// each as the reload entry has always written it.
    func testChangesHasOneLinePerTableKey() throws {
        var new = try ConfigLoader.parse("""
        cgroup: { root: /host/cgroup }
        docker: { socket: /run/d.sock }
        engine: { kind: containerd, socket: /run/k3s/containerd/containerd.sock, namespaces: [k8s.io, moby] }
        pids:
          poll_interval: 500ms
          warn_ratio: 0.5
          critical_ratio: 0.6
          high_for: 0s
          unlimited: ignore
          forecast_horizon: 2m
          forecast_window: 1m
        alerts: { repeat_interval: 1h, recover_after: 1m }
        overrides:
          - match: { name: x }
            ignore: true
        host_control:
          protect: [/run/a.sock]
          allow: [{ name: portainer }, { image: "x/*" }]
          resync_interval: 1m
          checks: { privileged: false, host_pid: false, engine_state: false, block_devices: false, engine_tcp: false }
          engine_config_root: /host
        metrics: { listen: "127.0.0.1:9327" }
        actions: { enabled: true, dry_run: true, cap_unlimited: 9, on_exhausted: kill, exhausted_for: 5s }
        alertmanager:
          urls: [https://am:9093]
          path_prefix: /am
          resend_interval: 30s
          timeout: 5s
          labels: { cluster: prod }
          tls: { ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/c.key, server_name: am.internal }
          basic_auth: { username: dockward, password_file: /etc/pw }
          queue_capacity: 100
        node_pids: { kubelet_config: /etc/kubelet.yaml, threshold: 10%, forecast_horizon: 1m }
        """, file: "t.yml")
        // A file can't give a bearer token beside basic_auth; the reload
        // line is the table's either way.
        new.alertmanager.bearerTokenFile = "/etc/token"
        let lines = new.changes(from: DockwardConfig())
        XCTAssertEqual(lines.map { String($0.prefix { $0 != ":" }) }, ConfigTable.keys)
        XCTAssertEqual(lines, [
            "cgroup.root: /sys/fs/cgroup -> /host/cgroup",
            "docker.socket: /var/run/docker.sock -> /run/d.sock",
            "engine.kind: docker -> containerd",
            "engine.socket: unset -> /run/k3s/containerd/containerd.sock",
            "engine.namespaces: [] -> [k8s.io, moby]",
            "pids.poll_interval: 1s -> 500ms",
            "pids.warn_ratio: 0.8 -> 0.5",
            "pids.critical_ratio: 0.95 -> 0.6",
            "pids.high_for: 3s -> 0s",
            "pids.unlimited: warn -> ignore",
            "pids.forecast_horizon: 1m -> 2m",
            "pids.forecast_window: 30s -> 1m",
            "alerts.repeat_interval: 10m -> 1h",
            "alerts.recover_after: 30s -> 1m",
            "overrides: 0 rule(s) -> 1",
            "host_control.protect: [\"/run/containerd/containerd.sock\", \"/var/run/containerd/containerd.sock\", "
                + "\"/run/crio/crio.sock\", \"/var/run/crio/crio.sock\", \"/run/podman/podman.sock\", "
                + "\"/var/run/podman/podman.sock\", \"/run/nri/nri.sock\", \"/var/run/nri/nri.sock\", "
                + "\"/run/user/*/docker.sock\", \"/run/user/*/podman/podman.sock\"] "
                + "-> [\"/run/a.sock\"]",
            "host_control.allow: 0 rule(s) -> 2",
            "host_control.resync_interval: 5m -> 1m",
            "host_control.checks.privileged: true -> false",
            "host_control.checks.host_pid: true -> false",
            "host_control.checks.engine_state: true -> false",
            "host_control.checks.block_devices: true -> false",
            "host_control.checks.engine_tcp: true -> false",
            "host_control.engine_config_root: / -> /host",
            "metrics.listen: off -> 127.0.0.1:9327",
            "actions.enabled: false -> true",
            "actions.dry_run: false -> true",
            "actions.cap_unlimited: 0 -> 9",
            "actions.on_exhausted: none -> kill",
            "actions.exhausted_for: 30s -> 5s",
            "alertmanager.urls: [] -> [\"https://am:9093\"]",
            "alertmanager.path_prefix: / -> /am",
            "alertmanager.resend_interval: 1m -> 30s",
            "alertmanager.timeout: 10s -> 5s",
            "alertmanager.labels: 0 label(s) -> 1",
            "alertmanager.tls.ca_file: unset -> /etc/ca.pem",
            "alertmanager.tls.cert_file: unset -> /etc/c.pem",
            "alertmanager.tls.key_file: unset -> /etc/c.key",
            "alertmanager.tls.server_name: unset -> am.internal",
            "alertmanager.basic_auth.username: unset -> dockward",
            "alertmanager.basic_auth.password_file: unset -> /etc/pw",
            "alertmanager.bearer_token_file: unset -> /etc/token",
            "alertmanager.queue_capacity: 10000 -> 100",
            "node_pids.kubelet_config: /var/lib/kubelet/config.yaml -> /etc/kubelet.yaml",
            "node_pids.threshold: 0 -> 10%",
            "node_pids.forecast_horizon: 5m -> 1m",
        ])
        XCTAssertEqual(DockwardConfig().changes(from: new).count, ConfigTable.keys.count, "and back")
        XCTAssertEqual(new.changes(from: new), [])
    }
}
