@testable import DockwardCore
import DockwardTestSupport
import XCTest

final class SocketExposureTests: XCTestCase {
    let sockID = FileIdentity(device: 25, inode: 1001)
    lazy var host = TableHost(
        files: [
            "/run/docker.sock": sockID,
            "/run/docker.sock.bak": FileIdentity(device: 25, inode: 1002),
            "/run/docker.sock.d/conf": FileIdentity(device: 25, inode: 1003),
            "/srv/data/file": FileIdentity(device: 8, inode: 5),
            "/var/lib/docker/volumes/v/_data/x": FileIdentity(device: 8, inode: 6),
            "/opt/hardlink.sock": sockID,
        ],
        symlinks: ["/var/run": "/run", "/home/u/link.sock": "/run/docker.sock"],
        binds: ["/mnt/hostrun": "/run"])

    var sockets: [ProtectedSocket] { ProtectedSocket.resolve(["/var/run/docker.sock"], on: host) }

    func check(_ mounts: [MountPoint], binds: [String] = []) -> [SocketExposure] {
        SocketExposureAnalysis.exposures(mounts: mounts, binds: binds, sockets: sockets, host: host)
    }

    func bind(_ src: String, _ dst: String = "/x", rw: Bool = true) -> MountPoint {
        MountPoint(kind: .bind, source: src, destination: dst, readWrite: rw)
    }

    func testProtectedSocketResolvesThroughSymlinkedFolder() {
        XCTAssertEqual(sockets, [ProtectedSocket(path: "/var/run/docker.sock", resolved: "/run/docker.sock", identity: sockID)])
    }

    func testTable() {
        let cases: [(String, [MountPoint], ExposureKind?)] = [
            ("socket at the usual place", [bind("/var/run/docker.sock", "/var/run/docker.sock")], .direct),
            ("socket under its resolved path, elsewhere", [bind("/run/docker.sock", "/elsewhere")], .direct),
            ("trailing slash and dots", [bind("/var/run/./docker.sock/", "/s")], .direct),
            ("read-only still counts", [bind("/var/run/docker.sock", "/s", rw: false)], .direct),
            ("parent folder /var/run", [bind("/var/run", "/host-run")], .parentDir),
            ("parent folder /run", [bind("/run", "/r")], .parentDir),
            ("root", [bind("/", "/host")], .parentDir),
            // /var/run is a symlink: inside the container it points at the
            // container's own /run, not the host's.
            ("/var (above the symlink)", [bind("/var", "/v")], nil),
            ("symlink to the socket", [bind("/home/u/link.sock", "/s")], .alias),
            ("hard link to the socket", [bind("/opt/hardlink.sock", "/s")], .alias),
            ("second view of the socket's folder", [bind("/mnt/hostrun", "/r")], .alias),
            ("lookalike file", [bind("/run/docker.sock.bak", "/s")], nil),
            ("lookalike folder", [bind("/run/docker.sock.d", "/d")], nil),
            ("unrelated bind", [bind("/srv/data", "/data")], nil),
            ("named volume", [MountPoint(kind: .volume, source: "/var/lib/docker/volumes/v/_data", destination: "/v", readWrite: true)], nil),
            ("tmpfs at the socket's path", [MountPoint(kind: .tmpfs, source: "", destination: "/var/run", readWrite: true)], nil),
            ("relative source", [bind("run/docker.sock", "/s")], nil),
            ("empty source", [bind("", "/s")], nil),
            ("source with newline", [bind("/run\n/docker.sock", "/s")], nil),
            ("dot-dot escaping to the socket", [bind("/srv/../run/docker.sock", "/s")], .direct),
        ]
        for (name, mounts, expected) in cases {
            let found = check(mounts)
            XCTAssertEqual(found.first?.kind, expected, name)
            XCTAssertLessThanOrEqual(found.count, 1, name)
            if let f = found.first {
                XCTAssertEqual(f.socket, "/var/run/docker.sock", name)
                XCTAssertEqual(f.readWrite, mounts[0].readWrite, name)
                XCTAssertEqual(f.mountDestination, mounts[0].destination, name)
            }
        }
    }

    func testUnresolvablePathsAreListedWithTheirReason() {
        var closedHost = host
        closedHost.closed = ["/srv/locked": "Permission denied", "/home/u/loop": "Too many levels of symbolic links"]
        let mounts = [bind("/srv/locked/docker.sock", "/s", rw: false), bind("/srv/data", "/d"),
                      bind("/home/u/loop/x", "/l"), bind("/nowhere/at/all", "/n")]
        let found = SocketExposureAnalysis.unresolved(mounts: mounts, binds: ["/srv/locked/docker.sock:/s:ro"],
                                                      host: closedHost)
        XCTAssertEqual(found, [
            UnresolvedMount(source: "/srv/locked/docker.sock", destination: "/s", reason: "Permission denied"),
            UnresolvedMount(source: "/home/u/loop/x", destination: "/l", reason: "Too many levels of symbolic links"),
        ], "a path that does not exist reaches nothing; the same mount in Binds is one")
        XCTAssertEqual(SocketExposureAnalysis.exposures(mounts: mounts, binds: [], sockets: sockets, host: closedHost), [],
                       "behind a closed folder nothing can be compared")
        XCTAssertEqual(SocketExposureAnalysis.unresolved(mounts: mounts, binds: [], host: host), [],
                       "an inspector that can resolve everything has nothing to report")
    }

    func testBindsFromHostConfigCountWhenMountsAreEmpty() {
        let found = check([], binds: ["/var/run:/host/run:ro", "named-volume:/data", "/srv/data:/d"])
        XCTAssertEqual(found.map(\.kind), [.parentDir])
        XCTAssertEqual(found.first?.readWrite, false)
    }

    func testSameMountInMountsAndBindsIsOneExposure() {
        let found = check([bind("/var/run/docker.sock", "/var/run/docker.sock")],
                          binds: ["/var/run/docker.sock:/var/run/docker.sock"])
        XCTAssertEqual(found.count, 1)
    }

    func testMissingSocketStillMatchesByPath() {
        let absent = ProtectedSocket.resolve(["/run/containerd/containerd.sock"], on: host)
        XCTAssertNil(absent.first?.identity)
        let found = SocketExposureAnalysis.exposures(mounts: [bind("/run/containerd", "/c")], binds: [],
                                                     sockets: absent, host: host)
        XCTAssertEqual(found.map(\.kind), [.parentDir])
    }

    func testNormalize() {
        XCTAssertEqual(SocketExposureAnalysis.normalize("//var//run/../run/./docker.sock/"), "/var/run/docker.sock")
        XCTAssertEqual(SocketExposureAnalysis.normalize("/../.."), "/")
    }
}
