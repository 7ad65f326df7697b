@testable import DockwardCore
import DockwardTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class HostControlTests: XCTestCase {
    let sockID = FileIdentity(device: 25, inode: 1001)
    lazy var host = RichHost(
        table: TableHost(
            files: [
                "/run/docker.sock": sockID,
                "/run/links/engine.sock": sockID,
                "/run/user/1000/docker.sock": FileIdentity(device: 25, inode: 2001),
                "/run/user/1001/podman/podman.sock": FileIdentity(device: 25, inode: 2002),
                "/var/lib/docker/containers/c1/config.v2.json": FileIdentity(device: 8, inode: 10),
                "/run/containerd/containerd.sock": FileIdentity(device: 25, inode: 3001),
                "/run/containerd/io.containerd.runtime.v2.task/moby/c1/config.json": FileIdentity(device: 25, inode: 3002),
                "/var/lib/docker/volumes/v/_data/x": FileIdentity(device: 8, inode: 11),
                "/srv/data/file": FileIdentity(device: 8, inode: 12),
                "/dev/sda": FileIdentity(device: 5, inode: 1),
                "/dev/null": FileIdentity(device: 5, inode: 2),
            ],
            symlinks: ["/var/run": "/run"],
            binds: ["/mnt/docker": "/var/lib/docker"]),
        links: ["/run/docker.sock": ["/run/links/engine.sock"]],
        blockDevices: ["/dev/sda"])

    func details(mounts: [MountPoint] = [], volumes: [VolumeMount] = [], privileged: Bool = false,
                 pidMode: String = "", capAdd: [String] = [], devices: [String] = []) -> ContainerDetails {
        ContainerDetails(id: ContainerID(String(repeating: "ab", count: 32))!,
                         metadata: ContainerMetadata(name: "c", image: "i", labels: [:]), mounts: mounts, binds: [],
                         state: "created", volumes: volumes, privileged: privileged, pidMode: pidMode, capAdd: capAdd,
                         devices: devices)
    }

    func bind(_ src: String, _ dst: String = "/x") -> MountPoint {
        MountPoint(kind: .bind, source: src, destination: dst, readWrite: true)
    }

    func bindVolume(_ name: String, device: String, o: String = "bind", driver: String = "local") -> VolumeMount {
        VolumeMount(name: name, destination: "/x", driver: driver, readWrite: true,
                    options: ["type": "none", "o": o, "device": device])
    }

    // MARK: Volumes

    func testVolumeHostBind() {
        XCTAssertEqual(bindVolume("v", device: "/run").hostBind,
                       MountPoint(kind: .bind, source: "/run", destination: "/x", readWrite: true, viaVolume: "v"))
        XCTAssertEqual(bindVolume("v", device: "/run", o: "rbind,ro").hostBind?.readWrite, false)
        XCTAssertNil(bindVolume("v", device: "/run", o: "size=10m").hostBind, "tmpfs-like options bind nothing")
        XCTAssertNil(bindVolume("v", device: "run", o: "bind").hostBind, "a relative device is no host path")
        XCTAssertNil(bindVolume("v", device: "/run", driver: "rexray").hostBind, "other drivers' options mean other things")
        XCTAssertNil(VolumeMount(name: "v", destination: "/x", driver: "local", readWrite: true).hostBind,
                     "a plain volume binds nothing")
        XCTAssertEqual(bindVolume("", device: "/run").hostBind?.viaVolume, "(anonymous)")
    }

    func testVolumeThatBindsTheSocketsFolderIsAnExposureThroughIt() {
        let engineView = MountPoint(kind: .volume, source: "/var/lib/docker/volumes/v/_data", destination: "/x", readWrite: true)
        let found = SocketExposureAnalysis.exposures(
            mounts: [engineView], binds: [], volumes: [bindVolume("v", device: "/var/run")],
            sockets: ProtectedSocket.resolve(["/var/run/docker.sock"], on: host), host: host)
        XCTAssertEqual(found.count, 1, "the engine's _data view of the same mount is not judged twice")
        XCTAssertEqual(found.first?.kind, .parentDir)
        XCTAssertEqual(found.first?.viaVolume, "v")
        XCTAssertEqual(found.first?.mountSource, "/var/run")
    }

    // MARK: Hard links and globs

    func testFolderHoldingAHardLinkOfTheSocket() {
        let socket = ProtectedSocket.resolve(["/var/run/docker.sock"], on: host)[0]
        let sockets = [socket] + socket.hardLinks(host.otherNames(of: "/run/docker.sock", identity: sockID, wanted: 1))
        XCTAssertEqual(sockets.last, ProtectedSocket(path: "/run/links/engine.sock", resolved: "/run/links/engine.sock",
                                                     identity: sockID, hardLinkOf: "/var/run/docker.sock"))
        for (source, expected) in [("/run/links", ExposureKind.hardLink), ("/run/links/engine.sock", .hardLink),
                                   ("/run", .parentDir), ("/srv/data", nil)] {
            let found = SocketExposureAnalysis.exposures(mounts: [bind(source)], binds: [], sockets: sockets, host: host)
            XCTAssertEqual(found.first?.kind, expected, source)
            XCTAssertLessThanOrEqual(found.count, 1, "\(source): one exposure per mount and socket")
            if expected == .hardLink {
                XCTAssertEqual(found.first?.socket, "/var/run/docker.sock", source)
                XCTAssertEqual(found.first?.hardLink, "/run/links/engine.sock", source)
            }
        }
        XCTAssertEqual(socket.hardLinks(["/run/docker.sock"]), [], "the socket's own name is no other name")
    }

    func testGlobsProtectEveryMatchNow() {
        let sockets = ProtectedSocket.resolve(["/run/user/*/docker.sock", "/run/user/*/podman/podman.sock",
                                               "/run/nothing/*/x.sock"], on: host)
        XCTAssertEqual(sockets.map(\.path), ["/run/user/1000/docker.sock", "/run/user/1001/podman/podman.sock"])
        let found = SocketExposureAnalysis.exposures(mounts: [bind("/run/user/1000")], binds: [], sockets: sockets, host: host)
        XCTAssertEqual(found.map(\.socket), ["/run/user/1000/docker.sock"])
        XCTAssertTrue(ProtectedSocket.isGlob("/run/user/[0-9]*/docker.sock"))
        XCTAssertFalse(ProtectedSocket.isGlob("/run/docker.sock"))
    }

    // MARK: The other classes

    func findings(_ d: ContainerDetails, checks: DockwardConfig.HostControlChecks = .init()) -> [HostControlFinding] {
        HostControlAnalysis.findings(d, checks: checks, statePaths: ["/var/lib/docker", "/var/lib/containerd"], host: host)
    }

    /// A pod's sandbox shares what its containers share and holds no
    /// workload: judged clean whatever it has, its containers are judged.
    func testAPodsSandboxIsNeverJudged() {
        var sandbox = details(mounts: [bind("/run/docker.sock")], privileged: true, pidMode: "host", capAdd: ["SYS_ADMIN"])
        let sockets = [ProtectedSocket(path: "/run/docker.sock", resolved: "/run/docker.sock", identity: sockID)]
        func verdict(_ d: ContainerDetails) -> HostControlVerdict {
            HostControlVerdict.judge(d, hostControl: .init(), sockets: sockets, statePaths: [], host: host, eventTimeNano: nil)
        }
        XCTAssertEqual(verdict(sandbox).socket, .exposed)
        sandbox.metadata = ContainerMetadata(name: "team-a/p", image: "pause", isSandbox: true)
        let judged = verdict(sandbox)
        XCTAssertEqual(judged.socket, .clean)
        XCTAssertEqual(judged.classes, [])
        XCTAssertTrue(judged.findings.isEmpty)
    }

    func testPrivileged() {
        XCTAssertEqual(findings(details(privileged: true)), [.privileged])
        XCTAssertEqual(findings(details()), [])
    }

    func testHostPIDNeedsPtraceOrAdmin() {
        let cases: [(String, [String], [String]?)] = [
            ("host", ["SYS_PTRACE"], ["SYS_PTRACE"]),
            ("host", ["cap_sys_ptrace", "CAP_SYS_PTRACE"], ["SYS_PTRACE"]),
            ("host", ["CAP_SYS_ADMIN", "NET_ADMIN"], ["SYS_ADMIN"]),
            ("host", ["ALL"], ["ALL"]),
            ("host", ["NET_ADMIN"], nil),
            ("host", [], nil),
            ("", ["SYS_PTRACE"], nil),
            ("container:abc", ["SYS_PTRACE"], nil),
        ]
        for (mode, caps, expected) in cases {
            let found = findings(details(pidMode: mode, capAdd: caps))
            XCTAssertEqual(found, expected.map { [.hostPID(capabilities: $0)] } ?? [], "\(mode) \(caps)")
        }
        XCTAssertEqual(findings(details(privileged: true, pidMode: "host")), [.privileged, .hostPID(capabilities: ["ALL"])])
    }

    func testEngineStateMounts() {
        let cases: [(String, MountPoint, String?)] = [
            ("the data root", bind("/var/lib/docker"), "/var/lib/docker"),
            ("above it", bind("/var/lib"), "/var/lib/docker"),
            ("the host's root", bind("/"), "/var/lib/docker"),
            ("inside it", bind("/var/lib/docker/containers"), "/var/lib/docker"),
            ("a second view of it", bind("/mnt/docker"), "/var/lib/docker"),
            ("one volume's data, bound", bind("/var/lib/docker/volumes/v/_data"), nil),
            ("the volumes folder", bind("/var/lib/docker/volumes"), "/var/lib/docker"),
            ("a volume, mounted as one",
             MountPoint(kind: .volume, source: "/var/lib/docker/volumes/v/_data", destination: "/v", readWrite: true), nil),
            ("unrelated", bind("/srv/data"), nil),
            ("lookalike", bind("/var/lib/docker-backup"), nil),
            ("one file of the state", bind("/var/lib/docker/containers/c1/config.v2.json"), "/var/lib/docker"),
            // A mount is judged by what it reaches: containerd's socket is
            // the socket checks' business, not a view of /run/containerd.
            ("containerd's socket alone", bind("/run/containerd/containerd.sock"), nil),
            ("containerd's socket, by /var/run", bind("/var/run/containerd/containerd.sock"), nil),
            ("containerd's task folder", bind("/run/containerd/io.containerd.runtime.v2.task"), "/run/containerd"),
            ("containerd's state folder", bind("/run/containerd"), "/run/containerd"),
        ]
        for (label, mount, expected) in cases {
            let found = HostControlAnalysis.findings(details(mounts: [mount]), checks: .init(),
                                                     statePaths: ["/var/lib/docker"] + HostControlAnalysis.containerdState,
                                                     host: host)
            XCTAssertEqual(found, expected.map { [.engineState(statePath: $0, mount: mount)] } ?? [], label)
        }
        // containerd's state folder does not exist on this host: nothing above it counts.
        XCTAssertEqual(findings(details(mounts: [bind("/var/lib/containerd")])), [])
        // A volume that binds the data root is judged by the folder it binds.
        let volume = VolumeMount(name: "v", destination: "/x", driver: "local", readWrite: true,
                                 options: ["type": "none", "o": "bind", "device": "/var/lib/docker"])
        XCTAssertEqual(findings(details(volumes: [volume])), [.engineState(statePath: "/var/lib/docker", mount: volume.hostBind!)])
    }

    func testBlockDevices() {
        XCTAssertEqual(findings(details(devices: ["/dev/null", "/dev/sda"])), [.blockDevice(path: "/dev/sda", volume: nil)])
        XCTAssertEqual(findings(details(devices: ["/dev/null"])), [])
        let disk = VolumeMount(name: "disk", destination: "/d", driver: "local", readWrite: true,
                               options: ["type": "ext4", "device": "/dev/sda"])
        XCTAssertEqual(findings(details(volumes: [disk])), [.blockDevice(path: "/dev/sda", volume: "disk")])
    }

    func testChecksSwitchedOffAreNotLookedAt() {
        var off = DockwardConfig.HostControlChecks()
        off.privileged = false
        off.hostPID = false
        off.engineState = false
        off.blockDevices = false
        let everything = details(mounts: [bind("/var/lib/docker")], privileged: true, pidMode: "host",
                                 capAdd: ["SYS_PTRACE"], devices: ["/dev/sda"])
        XCTAssertEqual(findings(everything).map(\.hostControlClass), [.privileged, .hostPID, .engineState, .blockDevice])
        XCTAssertEqual(findings(everything, checks: off), [])
    }

    // MARK: Entries

    func testEntriesHaveTheirKindPriorityAndFields() {
        let d = details()
        let cases: [(HostControlFinding, EntryKind, Priority, String, String)] = [
            (.privileged, .privileged, .crit, "HOST_CONTROL", "privileged"),
            (.hostPID(capabilities: ["SYS_PTRACE"]), .hostPID, .err, "CAPABILITIES", "SYS_PTRACE"),
            (.engineState(statePath: "/var/lib/docker", mount: bind("/var/lib")), .engineStateMount, .err,
             "ENGINE_STATE_PATH", "/var/lib/docker"),
            (.blockDevice(path: "/dev/sda", volume: nil), .blockDevice, .err, "DEVICE", "/dev/sda"),
        ]
        for (finding, kind, priority, field, value) in cases {
            let entry = Finding.hostControl(d, finding, allowedBy: nil, eventTimeNano: 7).entry
            XCTAssertEqual(entry.kind, kind)
            XCTAssertEqual(entry.priority, priority)
            XCTAssertTrue(entry.fields.contains { $0.name == field && $0.value == value }, "\(kind): \(entry.fields)")
            XCTAssertTrue(entry.fields.contains { $0.name == "ENGINE_EVENT_NANO" && $0.value == "7" })
            XCTAssertTrue(entry.message.contains("host_control.allow"), entry.message)
            let allowed = Finding.hostControl(d, finding, allowedBy: ContainerMatcher(name: "c"), eventTimeNano: nil).entry
            XCTAssertEqual(allowed.kind, .hostControlAllowed)
            XCTAssertEqual(allowed.priority, .notice)
            XCTAssertEqual(allowed.fields.first { $0.name == "HOST_CONTROL" }?.value, finding.hostControlClass.rawValue)
        }
    }
}
