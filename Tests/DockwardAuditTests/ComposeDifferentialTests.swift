@testable import DockwardAudit
import DockwardTestSupport
import Foundation
import XCTest

/// The corpus read by `ComposeLoader` against Compose v2 itself (Debian
/// 13's docker-compose 2.26, `docker-compose config --format json`): for
/// each case the project's name and, for each service, the fields that
/// decide host control and pids limits (image, mounts as type, source,
/// target and read-only, privileged, pid mode, capabilities, devices,
/// pids_limit, deploy's pids limit, volumes_from, profiles) and the
/// top-level volumes must be the same. Every profile is enabled for
/// Compose (`--profile '*'`), since check-compose reads all services and
/// only then leaves out the inactive ones. Fails in CI, skips elsewhere,
/// without the binary (scripts/test-services.sh start fetches it).
final class ComposeDifferentialTests: XCTestCase {
    /// The keys compared for each service, present or not.
    static let serviceFields = ["image", "volumes", "privileged", "pid", "cap_add", "devices", "pids_limit",
                                "deploy_pids", "volumes_from", "profiles"]

    func testCorpusMatchesComposeV2Config() throws {
        guard let compose = ComposeCorpus.composeV2 else { try TestEnvironment.skipOrFailInCI(ComposeCorpus.composeV2Missing) }
        let cases = ComposeCorpus.cases
        XCTAssertGreaterThanOrEqual(cases.count, 30, "the corpus is missing at \(ComposeCorpus.folder.path)")
        let env = ComposeCorpus.environment(runDir: "/run/dockward-test", blockDevice: "/dev/loop0")
        var services = 0, fields = 0, differences = 0
        for c in cases {
            let args = c.files.flatMap { ["-f", c.folder.appendingPathComponent($0).path] }
                + ["--profile", "*", "config", "--format", "json"]
            let out = try Subprocess.run(compose, args, environment: env, timeout: 60)
            XCTAssertEqual(out.status, 0, "\(c.name): docker-compose config failed: \(out.stderr)")
            guard out.status == 0 else { differences += 1; continue }
            let theirs = try Self.normalise(composeConfig: out.stdout)
            // A file dockward refuses and Compose reads is one difference; the
            // rest of the corpus is still compared.
            let project: ComposeProject
            do {
                project = try ComposeLoader(environment: env, currentDirectory: c.folder.path).load(files: c.files)
            } catch {
                differences += 1
                XCTFail("\(c.name): dockward refused what Compose v2 reads: \(error)")
                continue
            }
            let ours = Self.normalise(project)
            XCTAssertFalse(theirs.services.isEmpty, "\(c.name): docker-compose printed no services")
            func compare(_ mine: String?, _ expected: String?, _ what: String) {
                fields += 1
                if mine != expected {
                    differences += 1
                    XCTFail("\(c.name): \(what): dockward read \(mine ?? "nothing"), Compose v2 \(expected ?? "nothing")")
                }
            }
            compare(ours.name, theirs.name, "project name")
            compare(ours.services.keys.sorted().joined(separator: ","), theirs.services.keys.sorted().joined(separator: ","),
                    "services")
            for (name, expected) in theirs.services.sorted(by: { $0.key < $1.key }) {
                services += 1
                for field in Self.serviceFields {
                    compare(ours.services[name]?[field], expected[field], "service \(name), \(field)")
                }
            }
            for key in Set(ours.volumes.keys).union(theirs.volumes.keys).sorted() {
                compare(ours.volumes[key], theirs.volumes[key], "top-level volume \(key)")
            }
        }
        let files = Self.composeFiles(under: ComposeCorpus.folder)
        print("compose differential: \(cases.count) cases, \(files) Compose files, \(services) services, "
            + "\(fields) fields compared, \(differences) differences")
        XCTAssertEqual(differences, 0)
    }

    /// One service as comparable text, key by key; an absent key is nil.
    typealias Service = [String: String]
    struct Normalised { var name: String; var services: [String: Service]; var volumes: [String: String] }

    static func normalise(_ p: ComposeProject) -> Normalised {
        var services: [String: Service] = [:]
        for s in p.services {
            var out: Service = [:]
            out["image"] = s.image
            out["privileged"] = s.privileged?.value == true ? "true" : nil
            out["pid"] = s.pid?.value
            out["pids_limit"] = s.pidsLimit.map { String($0.value) }
            out["deploy_pids"] = s.deployPidsLimit.map { String($0.value) }
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
            volumes[key] = volume(driver: v.driver, options: v.driverOptions, external: v.external, name: v.engineName)
        }
        return Normalised(name: p.name, services: services, volumes: volumes)
    }

    /// Compose v2's JSON; it writes a literal `$` as `$$` so that its output
    /// reads back the same, and that is undone here.
    static func normalise(composeConfig json: String) throws -> Normalised {
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        func str(_ value: Any?) -> String? {
            guard let value else { return nil }
            return "\(value)".replacingOccurrences(of: "$$", with: "$")
        }
        var services: [String: Service] = [:]
        for (name, raw) in (doc["services"] as? [String: Any]) ?? [:] {
            let s = raw as? [String: Any] ?? [:]
            var out: Service = [:]
            out["image"] = str(s["image"])
            out["privileged"] = (s["privileged"] as? Bool) == true ? "true" : nil
            out["pid"] = str(s["pid"])
            out["pids_limit"] = str(s["pids_limit"])
            let deploy = s["deploy"] as? [String: Any]
            let limits = (deploy?["resources"] as? [String: Any])?["limits"] as? [String: Any]
            out["deploy_pids"] = str(limits?["pids"])
            out["cap_add"] = list((s["cap_add"] as? [Any] ?? []).compactMap(str))
            out["devices"] = list((s["devices"] as? [[String: Any]] ?? []).map { (d: [String: Any]) -> String in
                let source = str(d["source"]) ?? "?", target = str(d["target"]) ?? "?"
                // Compose v2 writes `rwm` for the short syntax and leaves a long
                // entry's missing permissions out; the engine reads both as rwm.
                return "\(source):\(target):\(str(d["permissions"]) ?? "rwm")"
            })
            out["volumes"] = list((s["volumes"] as? [[String: Any]] ?? []).map { (m: [String: Any]) -> String in
                let ro = (m["read_only"] as? Bool) ?? false
                let type = str(m["type"]) ?? "?", source = str(m["source"]) ?? "-", target = str(m["target"]) ?? "?"
                return "\(type)|\(source)|\(target)|\(ro ? "ro" : "rw")"
            })
            out["volumes_from"] = list((s["volumes_from"] as? [Any] ?? []).compactMap(str).map(volumesFrom))
            out["profiles"] = list((s["profiles"] as? [Any] ?? []).compactMap(str))
            services[name] = out.filter { !$0.value.isEmpty }
        }
        var volumes: [String: String] = [:]
        for (key, raw) in (doc["volumes"] as? [String: Any]) ?? [:] {
            let v = raw as? [String: Any] ?? [:]
            volumes[key] = volume(driver: str(v["driver"]),
                                  options: (v["driver_opts"] as? [String: Any] ?? [:]).compactMapValues(str),
                                  external: (v["external"] as? Bool) ?? false, name: str(v["name"]) ?? key)
        }
        return Normalised(name: str(doc["name"]) ?? "", services: services, volumes: volumes)
    }

    /// Compose v2 prints `NAME[:MODE]` for a service, `container:NAME[:MODE]`.
    static func volumesFrom(_ entry: String) -> String {
        var parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var mode = "rw"
        if parts.count > 1, parts.last == "ro" || parts.last == "rw" { mode = parts.removeLast() }
        if parts.count == 2, parts[0] == "container" { return "container:\(parts[1]):\(mode)" }
        return "service:\(parts.joined(separator: ":")):\(mode)"
    }

    static func volume(driver: String?, options: [String: String], external: Bool, name: String) -> String {
        "driver=\(driver ?? "local") opts=\(options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) "
            + "external=\(external) name=\(name)"
    }

    static func list(_ items: [String]) -> String { items.sorted().joined(separator: "\n") }

    static func composeFiles(under folder: URL) -> Int {
        let paths = FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []
        return paths.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.count
    }
}
