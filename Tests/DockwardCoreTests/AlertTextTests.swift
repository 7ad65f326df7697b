import DockwardCore
import XCTest

final class AlertTextTests: XCTestCase {
    let id = ContainerID(String(repeating: "ab", count: 32))!

    func testExhaustedEntryCarriesDockerLogDriverFields() {
        let ref = ContainerRef(id: id, metadata: ContainerMetadata(name: "/web", image: "nginx:1"), cgroupPath: "/sys/fs/cgroup/pids/docker/x")
        let f = PidsFinding(kind: .pidsExhausted, priority: .crit, current: 50, limit: 50, refusedForks: 1234,
                            newlyRefused: 1234, rate: 0)
        let entry = Finding.containerPids(f, ref, peak: nil).entry
        let fields = Dictionary(entry.allFields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["PRIORITY"], "2")
        XCTAssertEqual(fields["MESSAGE_ID"], "9cbeffacd069472fb0b95e62b1ba4743")
        XCTAssertEqual(fields["DOCKWARD_ALERT"], "pids-exhausted")
        XCTAssertEqual(fields["CONTAINER_ID"], "abababababab")
        XCTAssertEqual(fields["CONTAINER_ID_FULL"], id.full)
        XCTAssertEqual(fields["CONTAINER_NAME"], "web")
        XCTAssertEqual(fields["IMAGE_NAME"], "nginx:1")
        XCTAssertEqual(fields["PIDS_CURRENT"], "50")
        XCTAssertEqual(fields["PIDS_MAX"], "50")
        XCTAssertEqual(fields["PIDS_REJECTED"], "1234")
        XCTAssertEqual(fields["CGROUP_PATH"], "/sys/fs/cgroup/pids/docker/x")
        XCTAssertEqual(entry.message, "Container web (abababababab) hit its pids limit: 50 of 50 tasks, the kernel refused 1234 forks (1234 since the last report).")
    }

    /// A socket that refuses dockward's user: for Podman's, the drop-in
    /// that gives it the group dockward, not the docker group.
    func testEngineLostAdviceForPodmansSocket() {
        let denied = "cannot connect to /run/podman/podman.sock: Permission denied (errno: 13)"
        let podman = Finding.lifecycle(.engineLost(socket: "/run/podman/podman.sock", reason: denied, retryCap: .seconds(30))).entry
        XCTAssertTrue(podman.message.contains("systemctl restart podman.socket"), podman.message)
        XCTAssertFalse(podman.message.contains("usermod"), podman.message)
        let docker = Finding.lifecycle(.engineLost(socket: "/var/run/docker.sock", reason: denied, retryCap: .seconds(30))).entry
        XCTAssertTrue(docker.message.contains("usermod -aG docker dockward"), docker.message)
    }

    /// One rule for every place that names a container: a non-empty name,
    /// else the short id (an empty name from the engine counts as none).
    func testDisplayNameIsTheNameElseTheShortID() {
        XCTAssertEqual(id.displayName(name: "web"), "web")
        XCTAssertEqual(id.displayName(name: nil), "abababababab")
        XCTAssertEqual(id.displayName(name: ""), "abababababab")
        XCTAssertEqual(ContainerRef(id: id, metadata: ContainerMetadata(name: "/web", image: "i")).displayName, "web")
        XCTAssertEqual(ContainerRef(id: id).displayName, "abababababab")
        let unnamed = ContainerRef(id: id, metadata: ContainerMetadata(name: "", image: "i"))
        XCTAssertEqual(unnamed.displayName, "abababababab")
        let f = PidsFinding(kind: .pidsUnlimited, priority: .warning, current: 5, limit: nil, limitIsHost: true)
        XCTAssertTrue(Finding.containerPids(f, unnamed, peak: nil).entry.message.hasPrefix("Container abababababab (abababababab)"),
                      Finding.containerPids(f, unnamed, peak: nil).entry.message)
    }

    func testHostileNameCannotBreakTheMessageLine() {
        let ref = ContainerRef(id: id, metadata: ContainerMetadata(name: "evil\nPRIORITY=0\u{1b}[2J", image: "x"))
        let entry = Finding.containerPids(PidsFinding(kind: .pidsUnlimited, priority: .warning, current: 1), ref, peak: nil).entry
        XCTAssertFalse(entry.message.contains("\n"))
        XCTAssertFalse(entry.message.contains("\u{1b}"))
    }

    func testMessageIDsAreUniqueAnd128Bit() {
        let ids = EntryKind.allCases.map(\.messageID)
        XCTAssertEqual(Set(ids).count, ids.count)
        for id in ids {
            XCTAssertEqual(id.count, 32)
            XCTAssertTrue(id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        }
    }

    func testRateFormatting() {
        XCTAssertEqual(AlertText.formatRate(2), "2")
        XCTAssertEqual(AlertText.formatRate(1.5), "1.5")
        XCTAssertEqual(AlertText.formatRate(0.034), "0.03")
        XCTAssertEqual(AlertText.formatRate(-0.5), "-0.5")
        XCTAssertEqual(AlertText.formatRate(.nan), "0")
    }

    func testUnresolvedMountEntryNamesThePathAndTheReason() throws {
        let id = try XCTUnwrap(ContainerID(String(repeating: "c", count: 64)))
        let details = ContainerDetails(id: id, metadata: ContainerMetadata(name: "/probe", image: "busybox"),
                                       mounts: [], binds: [], state: "running")
        XCTAssertTrue(Finding.socketUnresolved(details, [], eventTimeNano: nil).entry.message.contains("could not be checked"))
        let entry = Finding.socketUnresolved(details, [
            UnresolvedMount(source: "/srv/locked/docker.sock", destination: "/s", reason: "Permission denied"),
            UnresolvedMount(source: "/root/x", destination: "/x", reason: "Permission denied"),
        ], eventTimeNano: 42).entry
        XCTAssertEqual(entry.kind, .socketMountUnresolved)
        XCTAssertEqual(entry.priority, .err)
        XCTAssertEqual(entry.kind.role, .alert)
        XCTAssertTrue(entry.message.contains("/srv/locked/docker.sock"), entry.message)
        XCTAssertTrue(entry.message.contains("Permission denied"), entry.message)
        XCTAssertTrue(entry.message.contains("and 1 more mount(s)"), entry.message)
        let fields = Dictionary(entry.allFields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(fields["MOUNT_SOURCE"], "/srv/locked/docker.sock")
        XCTAssertEqual(fields["MOUNT_DESTINATION"], "/s")
        XCTAssertEqual(fields["PATH_ERROR"], "Permission denied")
        XCTAssertEqual(fields["UNRESOLVED_COUNT"], "2")
        XCTAssertEqual(fields["ENGINE_EVENT_NANO"], "42")
        XCTAssertEqual(fields["CONTAINER_STATE"], "running")
        XCTAssertEqual(fields["DOCKWARD_ALERT"], "socket-mount-unresolved")
    }

    func testEngineLostSaysWhatToDoForAMissingSocketOrAMissingGroup() {
        let denied = Finding.lifecycle(.engineLost(
            socket: "/var/run/docker.sock",
            reason: "cannot reach the Docker engine at /var/run/docker.sock: connect(descriptor:addr:size:): Permission denied (errno: 13)",
            retryCap: .seconds(30))).entry
        XCTAssertTrue(denied.message.contains("usermod -aG docker dockward"), denied.message)
        XCTAssertTrue(denied.message.contains("systemctl restart dockward"), denied.message)
        let missing = Finding.lifecycle(.engineLost(socket: "/var/run/docker.sock",
                                           reason: "Docker engine socket /var/run/docker.sock does not exist (is dockerd running?)",
                                           retryCap: .seconds(30))).entry
        XCTAssertTrue(missing.message.contains("Docker is not installed or not running"), missing.message)
        XCTAssertFalse(missing.message.contains("usermod"), missing.message)
        let reset = Finding.lifecycle(.engineLost(socket: "/var/run/docker.sock", reason: "connection reset", retryCap: .seconds(30))).entry
        XCTAssertFalse(reset.message.contains("usermod"), reset.message)
        XCTAssertTrue(reset.message.contains("The pids watch goes on"), reset.message)
    }
}

/// The two variants of pids entries that #11 added, field by field.
final class PidsEntryVariantTests: XCTestCase {
    private let container = ContainerRef(id: ContainerID(String(repeating: "cd", count: 32))!,
                                         metadata: ContainerMetadata(name: "web", image: "nginx"), cgroupPath: "/x")

    private func names(_ e: JournalEntry) -> [String] { e.allFields.map(\.name) }
    private func value(_ e: JournalEntry, _ name: String) -> String? { e.allFields.first { $0.name == name }?.value }

    func testUnlimitedUnderACeilingSetAroundIt() {
        let f = PidsFinding(kind: .pidsUnlimited, priority: .warning, current: 12, limit: 4915, limitIsInherited: true,
                            ceilingOrigin: "systemd's DefaultTasksMax on its scope")
        let e = Finding.containerPids(f, container, peak: nil).entry
        XCTAssertEqual(names(e), ["MESSAGE", "PRIORITY", "MESSAGE_ID", "DOCKWARD_ALERT", "CONTAINER_ID", "CONTAINER_ID_FULL",
                                  "CONTAINER_NAME", "IMAGE_NAME", "CGROUP_PATH", "PIDS_CURRENT", "PIDS_MAX",
                                  "PIDS_MAX_SOURCE", "PIDS_MAX_ORIGIN"])
        XCTAssertEqual(value(e, "PIDS_MAX_SOURCE"), "inherited")
        XCTAssertEqual(e.message, "Container web (cdcdcdcdcdcd) runs with no pids limit of its own: only the ceiling of 4915 tasks "
                       + "set around it (systemd's DefaultTasksMax on its scope) stops a fork bomb, and it is shared or far too "
                       + "high; 12 tasks now. Set one with docker update --pids-limit N.")
    }

    func testRefusalOfAContainerAlreadyGone() {
        let f = PidsFinding(kind: .pidsExhausted, priority: .crit, current: 0, limit: 300, cgroupGone: true)
        let e = Finding.containerPids(f, container, peak: nil).entry
        XCTAssertEqual(names(e), ["MESSAGE", "PRIORITY", "MESSAGE_ID", "DOCKWARD_ALERT", "CONTAINER_ID", "CONTAINER_ID_FULL",
                                  "CONTAINER_NAME", "IMAGE_NAME", "CGROUP_PATH", "CGROUP_GONE", "PIDS_MAX"])
        XCTAssertEqual(e.message, "Container web (cdcdcdcdcdcd) hit its pids limit of 300: the kernel refused a fork, and the "
                       + "container was gone a moment later (its cgroup removed; it likely died of it).")
    }
}
