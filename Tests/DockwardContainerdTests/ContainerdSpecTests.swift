@testable import DockwardContainerd
import DockwardCore
import Foundation
import XCTest

/// The OCI spec translation on hand-written specs: what reaches the host.
final class ContainerdSpecTests: XCTestCase {
    let id = ContainerID(String(repeating: "0c", count: 32))!

    func details(_ spec: String, labels: [String: String] = [:]) throws -> ContainerDetails {
        try ContainerdSpec.details(id: id, labels: labels, image: "img", specJSON: Data(spec.utf8), state: "running", mainPid: 7)
    }

    func testAPrivilegedContainerInTheHostsPIDNamespace() throws {
        // The CRI plugin's privileged: every capability, nothing masked; no pid namespace: the host's.
        let d = try details("""
            {"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_SYS_PTRACE"]}},
             "linux":{"namespaces":[{"type":"mount"},{"type":"network"}],"devices":[{"path":"/dev/sda","type":"b"}],
                      "resources":{"pids":{"limit":512}},"cgroupsPath":"/kubepods/burstable/pod1234/\(id.full)"}}
            """)
        XCTAssertTrue(d.privileged)
        XCTAssertEqual(d.pidMode, "host")
        XCTAssertEqual(d.capAdd, ["SYS_ADMIN", "SYS_PTRACE"])
        XCTAssertEqual(d.devices, ["/dev/sda"])
        XCTAssertEqual(d.pidsLimit, 512)
        XCTAssertTrue(d.hasOwnPidsLimit)
        XCTAssertEqual(d.cgroupParent, "/kubepods/burstable/pod1234")
    }

    func testAPodSharingItsSandboxsPIDNamespaceIsNotTheHosts() throws {
        let d = try details(#"{"linux":{"namespaces":[{"type":"pid","path":"/proc/77/ns/pid"}],"maskedPaths":["/proc/kcore"]}}"#)
        XCTAssertEqual(d.pidMode, "shared")
        XCTAssertFalse(d.privileged)
    }

    func testBindsOfOtherPodsFilesAndTheFoldersAboveThemStayHostPaths() throws {
        let own = "11111111-2222-3333-4444-555555555555"
        let other = "99999999-2222-3333-4444-555555555555"
        let d = try details("""
            {"mounts":[{"destination":"/a","type":"bind","source":"/var/lib/kubelet/pods/\(other)/volumes","options":["rbind"]},
                       {"destination":"/b","type":"bind","source":"/var/lib/kubelet","options":["rbind"]},
                       {"destination":"/c","type":"bind","source":"/var/lib/kubelet/pods/\(own)/../\(other)","options":["rbind"]},
                       {"destination":"/d","source":"/var/run","options":["rbind","ro"]},
                       {"destination":"/e","type":"bind","source":"/var/lib/kubelet/pods/\(own)/volumes/x","options":["rbind"]},
                       {"destination":"/tmp","type":"tmpfs","source":"tmpfs"}]}
            """, labels: ["io.kubernetes.pod.namespace": "ns", "io.kubernetes.pod.name": "p", "io.kubernetes.pod.uid": own])
        XCTAssertEqual(d.mounts.map(\.destination), ["/a", "/b", "/c", "/d"])
        XCTAssertEqual(d.mounts[3].readWrite, false)
    }

    func testNamesOutsideKubernetes() throws {
        XCTAssertEqual(try details("{}", labels: ["nerdctl/name": "web"]).metadata.name, "web")
        let bare = try details("{}")
        XCTAssertEqual(bare.metadata.name, "")
        XCTAssertNil(bare.metadata.pod)
        XCTAssertEqual(bare.pidMode, "")  // no linux section: nothing said of its namespaces
    }

    func testASpecThatIsNoJSONThrows() {
        XCTAssertThrowsError(try details("not json"))
    }

    func testTheCgroupParentOfEitherDriversPath() {
        XCTAssertEqual(ContainerdSpec.cgroupParent(ofCgroupsPath: "kubepods-pod12_34.slice:cri-containerd:\(id.full)"), "kubepods-pod12_34.slice")
        XCTAssertEqual(ContainerdSpec.cgroupParent(ofCgroupsPath: "/kubepods/pod12/\(id.full)"), "/kubepods/pod12")
        XCTAssertEqual(ContainerdSpec.cgroupParent(ofCgroupsPath: "/\(id.full)"), "")
        XCTAssertEqual(ContainerdSpec.cgroupParent(ofCgroupsPath: "system.slice:docker:x:y"), "")
        XCTAssertEqual(ContainerdSpec.cgroupParent(ofCgroupsPath: ""), "")
    }
}
