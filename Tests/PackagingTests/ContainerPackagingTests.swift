import DockwardTestSupport
import Foundation
import XCTest

/// The ways to run dockward in a container, checked offline: the Compose
/// file says nothing under `dockward check-compose` but its own service's
/// socket, which the explicit allow entry of check-compose.yml makes a
/// notice; the Kubernetes manifests render with `kubectl kustomize` and
/// every document passes `kubernetes-validate --strict` for 1.33. Running
/// the image for real is scripts/image-test.sh (make test-image), and as the
/// DaemonSet's pod under containerd scripts/k8snode-test.sh (make test-k8snode).
final class ContainerPackagingTests: XCTestCase {
    let compose = TestEnvironment.repoRoot.appendingPathComponent("packaging/compose/compose.yml").path
    let checkConfig = TestEnvironment.repoRoot.appendingPathComponent("packaging/compose/check-compose.yml").path
    let kustomization = TestEnvironment.repoRoot.appendingPathComponent("packaging/kubernetes").path

    private func checkCompose(_ extra: [String]) throws -> (status: Int32, entries: [[String: String]]) {
        try Packaging.requireBinary()
        let result = try Subprocess.run(TestEnvironment.dockwardBinary.path,
                                        ["check-compose", "--no-engine", "--json"] + extra + [compose], timeout: 60)
        let entries = result.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.map { $0.compactMapValues { $0 as? String } }
        return (result.status, entries.filter { $0["DOCKWARD_ALERT"] != nil })
    }

    let cgroupV1 = TestEnvironment.repoRoot.appendingPathComponent("packaging/compose/compose.cgroup-v1.yml").path

    func testComposeFileSaysOnlyItsOwnAllowedSocket() throws {
        let checked = try checkCompose(["--config", checkConfig])
        XCTAssertEqual(checked.status, 0)
        XCTAssertEqual(checked.entries.map { $0["DOCKWARD_ALERT"] }, ["socket-mount-allowed"], "\(checked.entries)")
        XCTAssertEqual(checked.entries.first?["COMPOSE_SERVICE"], "dockward")
        XCTAssertEqual(checked.entries.first?["PRIORITY"], "5")
    }

    /// With the cgroup v1 override (each hierarchy read-only): still nothing else.
    func testComposeFileWithTheCgroupV1OverrideSaysNothingMore() throws {
        try Packaging.requireBinary()
        let result = try Subprocess.run(TestEnvironment.dockwardBinary.path,
                                        ["check-compose", "--no-engine", "--json", "--config", checkConfig, "-f", compose, "-f", cgroupV1],
                                        timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        let kinds = result.stdout.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["DOCKWARD_ALERT"] as? String
        }
        XCTAssertEqual(kinds, ["socket-mount-allowed"])
    }

    /// Without the allow entry its socket is an alert like any other's:
    /// the entry is what exempts it, and nothing else is found.
    func testComposeFileWithoutTheAllowEntryIsOneSocketMount() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-empty-\(UUID().uuidString).yml")
        try "{}\n".write(to: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }
        let checked = try checkCompose(["--config", empty.path])
        XCTAssertEqual(checked.status, 1)
        XCTAssertEqual(checked.entries.map { $0["DOCKWARD_ALERT"] }, ["socket-mount"], "\(checked.entries)")
    }

    private func require(_ tool: String, _ install: String) throws {
        if !Packaging.toolExists(tool) { try TestEnvironment.skipOrFailInCI("\(tool) not found: \(install)") }
    }

    /// Every rendered document, as JSON objects (PyYAML, which
    /// kubernetes-validate brings).
    private func rendered() throws -> (yaml: String, documents: [[String: Any]]) {
        try require("kubectl", "install kubectl (1.32 or later)")
        let render = try Packaging.run("kubectl", ["kustomize", kustomization])
        XCTAssertEqual(render.status, 0, render.stderr)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-k8s-\(UUID().uuidString).yaml")
        try render.stdout.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let json = try Packaging.run("python3", ["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", file.path])
        XCTAssertEqual(json.status, 0, json.stderr)
        let documents = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]] ?? []
        return (render.stdout, documents)
    }

    func testKubernetesManifestsRenderAndValidate() throws {
        try require("kubernetes-validate", "pip install kubernetes-validate")
        let (yaml, documents) = try rendered()
        XCTAssertEqual(Set(documents.compactMap { $0["kind"] as? String }), ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-k8s-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let validated = try Packaging.run("kubernetes-validate", ["-k", "1.33.0", "--strict", file.path])
        XCTAssertEqual(validated.status, 0, validated.stdout + validated.stderr)
        XCTAssertEqual(validated.stdout.components(separatedBy: " passed for resource ").count - 1, documents.count,
                       validated.stdout)
    }

    /// What packaging/image/README.md promises of the DaemonSet.
    func testDaemonSetKeepsItsPromises() throws {
        let documents = try rendered().documents
        guard let ds = documents.first(where: { $0["kind"] as? String == "DaemonSet" }),
              let template = (ds["spec"] as? [String: Any])?["template"] as? [String: Any],
              let pod = template["spec"] as? [String: Any],
              let container = (pod["containers"] as? [[String: Any]])?.first else {
            return XCTFail("no DaemonSet with a container")
        }
        let annotations = (template["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
        XCTAssertEqual(annotations["prometheus.io/scrape"], "true")
        XCTAssertEqual(annotations["prometheus.io/port"], "9327")
        XCTAssertNotEqual(pod["hostPID"] as? Bool, true)
        XCTAssertNotEqual(pod["hostNetwork"] as? Bool, true)
        XCTAssertEqual(pod["automountServiceAccountToken"] as? Bool, false)
        XCTAssertEqual((pod["tolerations"] as? [[String: Any]])?.first?["operator"] as? String, "Exists")
        let resources = container["resources"] as? [String: [String: String]] ?? [:]
        XCTAssertNotNil(resources["limits"]?["memory"])
        XCTAssertNotNil(resources["limits"]?["cpu"])
        XCTAssertNotNil(resources["requests"]?["memory"])
        let security = container["securityContext"] as? [String: Any] ?? [:]
        XCTAssertEqual(security["privileged"] as? Bool, false)
        XCTAssertEqual(security["readOnlyRootFilesystem"] as? Bool, true)
        XCTAssertEqual(security["allowPrivilegeEscalation"] as? Bool, false)
        let caps = security["capabilities"] as? [String: [String]] ?? [:]
        XCTAssertEqual(caps["drop"], ["ALL"])
        XCTAssertEqual(caps["add"] ?? [], [], "no capability is needed on a node")
        // Every host path is mounted read-only.
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let hostVolumes = Set(volumes.filter { $0["hostPath"] != nil }.compactMap { $0["name"] as? String })
        XCTAssertEqual(hostVolumes, ["containerd-socket", "cgroup", "journal"])
        for mount in container["volumeMounts"] as? [[String: Any]] ?? [] where hostVolumes.contains(mount["name"] as? String ?? "") {
            XCTAssertEqual(mount["readOnly"] as? Bool, true, "\(mount)")
        }
        guard let config = documents.first(where: { $0["kind"] as? String == "ConfigMap" }),
              let file = (config["data"] as? [String: String])?["dockward.yml"] else {
            return XCTFail("no ConfigMap with dockward.yml")
        }
        XCTAssertTrue(file.contains("kind: containerd"), file)
        XCTAssertTrue(file.contains("listen: 0.0.0.0:9327"), file)
    }
}
