@testable import DockwardAudit
import DockwardTestSupport
import Foundation
import XCTest
import Yams

/// The corpus read by `ComposeLoader` against Debian's docker-compose 1.29
/// (`docker-compose -f ... config`), a real Compose implementation: for each
/// case the services' normalised keys (volumes, devices, privileged, pid,
/// cap_add, pids_limit, volumes_from, profiles, image) and the top-level
/// volumes must be the same. Fails in CI, skips elsewhere, without
/// docker-compose (scripts/test-services.sh installs it).
final class ComposeDifferentialTests: XCTestCase {
    func testCorpusMatchesDockerComposeConfig() throws {
        guard let compose = ComposeCorpus.dockerCompose else {
            try TestEnvironment.skipOrFailInCI("docker-compose is not installed (apt-get install docker-compose; "
                + "scripts/test-services.sh start installs it)")
        }
        let cases = ComposeCorpus.cases
        XCTAssertGreaterThanOrEqual(cases.count, 12, "the corpus is missing at \(ComposeCorpus.folder.path)")
        let env = ComposeCorpus.environment(runDir: "/run/dockward-test", blockDevice: "/dev/loop0")
        for c in cases {
            let args = c.files.flatMap { ["-f", c.folder.appendingPathComponent($0).path] } + ["config"]
            let out = try Subprocess.run(compose, args, environment: env, timeout: 60)
            XCTAssertEqual(out.status, 0, "\(c.name): docker-compose config failed: \(out.stderr)")
            guard out.status == 0 else { continue }
            let theirs = try Self.normalise(dockerComposeConfig: out.stdout)
            let project = try ComposeLoader(environment: env, currentDirectory: c.folder.path).load(files: c.files)
            let ours = Self.normalise(project)
            XCTAssertFalse(theirs.services.isEmpty, "\(c.name): docker-compose printed no services")
            XCTAssertEqual(ours.services.keys.sorted(), theirs.services.keys.sorted(), c.name)
            for (name, expected) in theirs.services {
                XCTAssertEqual(ours.services[name], expected, "\(c.name): service \(name)")
            }
            XCTAssertEqual(ours.volumes, theirs.volumes, "\(c.name): top-level volumes")
        }
    }

    /// One service as comparable text, key by key.
    typealias Service = [String: String]
    struct Normalised { var services: [String: Service]; var volumes: [String: String] }

    static func normalise(_ p: ComposeProject) -> Normalised {
        var services: [String: Service] = [:]
        for s in p.services {
            var out: Service = [:]
            out["image"] = s.image
            out["privileged"] = s.privileged.map { String($0.value) }
            out["pid"] = s.pid?.value
            out["pids_limit"] = s.pidsLimit.map { String($0.value) }
            out["cap_add"] = list(s.capAdd.map(\.value))
            out["devices"] = list(s.devices.map { "\($0.hostPath):\($0.containerPath):\($0.permissions)" })
            out["volumes"] = list(s.volumes.map { "\($0.type.rawValue)|\($0.source ?? "-")|\($0.target)|\($0.readOnly ? "ro" : "rw")" })
            out["volumes_from"] = list(s.volumesFrom.map { v -> String in
                switch v.source {
                case .service(let n): "service:\(n):\(v.readOnly ? "ro" : "rw")"
                case .container(let n): "container:\(n):\(v.readOnly ? "ro" : "rw")"
                }
            })
            out["profiles"] = list(s.profiles)
            services[s.name] = out.filter { !$0.value.isEmpty }
        }
        var volumes: [String: String] = [:]
        for (key, v) in p.volumes {
            volumes[key] = volume(driver: v.driver, options: v.driverOptions, external: v.external,
                                  name: v.external ? v.engineName : nil)
        }
        return Normalised(services: services, volumes: volumes)
    }

    static func normalise(dockerComposeConfig text: String) throws -> Normalised {
        let doc = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        var services: [String: Service] = [:]
        for (name, raw) in (doc["services"] as? [String: Any]) ?? [:] {
            let s = raw as? [String: Any] ?? [:]
            var out: Service = [:]
            out["image"] = s["image"].map { "\($0)" }
            out["privileged"] = s["privileged"].map { "\($0)" }
            out["pid"] = s["pid"].map { "\($0)" }
            out["pids_limit"] = s["pids_limit"].map { "\($0)" }
            out["cap_add"] = list((s["cap_add"] as? [Any] ?? []).map { "\($0)" })
            out["devices"] = list((s["devices"] as? [Any] ?? []).map { device("\($0)") })
            out["volumes"] = list((s["volumes"] as? [Any] ?? []).map(volumeEntry))
            out["volumes_from"] = list((s["volumes_from"] as? [Any] ?? []).map { "\($0)" })
            out["profiles"] = list((s["profiles"] as? [Any] ?? []).map { "\($0)" })
            services[name] = out.filter { !$0.value.isEmpty }
        }
        var volumes: [String: String] = [:]
        for (key, raw) in (doc["volumes"] as? [String: Any]) ?? [:] {
            let v = raw as? [String: Any] ?? [:]
            let external = (v["external"] as? Bool) ?? false
            volumes[key] = volume(driver: v["driver"] as? String,
                                  options: (v["driver_opts"] as? [String: Any] ?? [:]).mapValues { "\($0)" },
                                  external: external, name: external ? v["name"] as? String : nil)
        }
        return Normalised(services: services, volumes: volumes)
    }

    /// `SRC:DST:MODE`, `DST`, or the long mapping, as `type|source|target|mode`.
    static func volumeEntry(_ raw: Any) -> String {
        if let m = raw as? [String: Any] {
            let type = m["type"] as? String ?? "?"
            let ro = (m["read_only"] as? Bool) ?? false
            return "\(type)|\(m["source"].map { "\($0)" } ?? "-")|\(m["target"] ?? "?")|\(ro ? "ro" : "rw")"
        }
        let parts = "\(raw)".split(separator: ":").map(String.init)
        if parts.count == 1 { return "volume|-|\(parts[0])|rw" }
        let type = parts[0].hasPrefix("/") ? "bind" : "volume"
        let ro = parts.count > 2 && parts[2].split(separator: ",").contains("ro")
        return "\(type)|\(parts[0])|\(parts[1])|\(ro ? "ro" : "rw")"
    }

    static func device(_ text: String) -> String {
        let parts = text.split(separator: ":").map(String.init)
        return "\(parts[0]):\(parts.count > 1 ? parts[1] : parts[0]):\(parts.count > 2 ? parts[2] : "rwm")"
    }

    static func volume(driver: String?, options: [String: String], external: Bool, name: String?) -> String {
        "driver=\(driver ?? "local") opts=\(options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) "
            + "external=\(external)\(name.map { " name=\($0)" } ?? "")"
    }

    static func list(_ items: [String]) -> String { items.sorted().joined(separator: "\n") }
}
