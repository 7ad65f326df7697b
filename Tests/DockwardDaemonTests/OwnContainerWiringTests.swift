import DockwardCore
import DockwardDaemon
import Foundation
import XCTest

/// dockward in a container: its own container (named by the kernel,
/// `OwnContainer`) mounts the engine's socket, as it must; that is said
/// once as `self-exempt`, never as `socket-mount`. Another container that
/// copies its name, image and labels is reported as any other.
final class OwnContainerWiringTests: XCTestCase {
    private var host: FixtureHost!
    private var engine: ScriptedEngine!

    override func setUpWithError() throws {
        host = try FixtureHost(self)
        engine = ScriptedEngine(socketPath: host.engineSocket)
    }

    private func makeDaemon(own: OwnContainer?, config: String = "") throws -> DaemonUnderTest {
        let d = try DaemonUnderTest(host: host, engine: engine, config: config, ownContainer: own)
        addTeardownBlock { d.stop() }
        return d
    }

    private func dockward(_ id: ContainerID, privileged: Bool = false) -> ContainerDetails {
        var d = details(id, name: "dockward", binds: [(host.engineSocket, "/var/run/docker.sock")],
                        labels: ["org.opencontainers.image.title": "dockward"])
        d.metadata.image = "dockward:0.1.0"
        d.privileged = privileged
        return d
    }

    func testOwnContainerIsExemptedOnceAndALookalikeIsNot() throws {
        let own = IDs.make(0x51), lookalike = IDs.make(0x52)
        engine.add(dockward(own))
        engine.add(dockward(lookalike))
        let self_ = OwnContainer(id: own, cgroupPath: "/docker/" + own.full)
        let d = try makeDaemon(own: self_)
        d.start()
        d.waitForNames([own, lookalike])
        d.waitUntil("both verdicts") {
            !d.writer.entries(.selfExempt).isEmpty && !d.writer.entries(.socketMount).isEmpty
        }
        d.ticks(2)

        let exempt = d.writer.entries(.selfExempt, for: own)
        XCTAssertEqual(exempt.count, 1)
        XCTAssertEqual(exempt.first?.priority, .info)
        XCTAssertEqual(field(exempt.first, "SELF_CGROUP"), "/docker/" + own.full)
        XCTAssertEqual(field(exempt.first, "EXEMPTED_KINDS"), "socket-mount")
        XCTAssertEqual(field(exempt.first, "SOCKET_PATH"), host.engineSocket)
        XCTAssertEqual(d.writer.entries(.socketMount, for: own), [], "its own socket mount is not an alert")
        XCTAssertEqual(d.writer.entries(.socketMount, for: lookalike).count, 1,
                       "the same name, image and labels exempt nothing")
        XCTAssertEqual(d.writer.entries(.selfExempt).count, 1)

        // Re-judged at the next start of the container: still one entry.
        engine.emit("start", own)
        d.waitUntil("the start's inspect") { d.engine.inspected.filter { $0 == own }.count >= 2 }
        d.ticks(2)
        XCTAssertEqual(d.writer.entries(.selfExempt).count, 1)
    }

    /// Only the socket findings are exempted: a privileged dockward is
    /// still reported as privileged.
    func testOtherWaysToTheHostAreStillReported() throws {
        let own = IDs.make(0x53)
        engine.add(dockward(own, privileged: true))
        let d = try makeDaemon(own: OwnContainer(id: own, cgroupPath: "/system.slice/docker-\(own.full).scope"))
        d.start()
        d.waitForNames([own])
        d.waitUntil("the verdict") { !d.writer.entries(.privileged).isEmpty }
        XCTAssertEqual(d.writer.entries(.privileged, for: own).count, 1)
        XCTAssertEqual(d.writer.entries(.selfExempt, for: own).count, 1)
        XCTAssertEqual(d.writer.entries(.socketMount, for: own), [])
    }

    /// Without an own container (not in one, or a private cgroup namespace)
    /// nothing is exempted.
    func testNoOwnContainerExemptsNothing() throws {
        let id = IDs.make(0x54)
        engine.add(dockward(id))
        let d = try makeDaemon(own: nil)
        d.start()
        d.waitForNames([id])
        d.waitUntil("the socket-mount entry") { !d.writer.entries(.socketMount).isEmpty }
        XCTAssertEqual(d.writer.entries(.socketMount, for: id).count, 1)
        XCTAssertEqual(d.writer.entries(.selfExempt), [])
    }
}
