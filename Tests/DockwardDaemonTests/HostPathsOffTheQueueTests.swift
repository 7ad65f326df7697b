import DockwardCore
import DockwardDaemon
import DockwardHost
import Foundation
import XCTest

/// A host path that hangs (a stuck network mount as a container's mount
/// source) delays that container's verdict only: host paths are resolved
/// off the daemon's queue, so polls, refusals and the watchdog go on.
final class HostPathsOffTheQueueTests: XCTestCase {
    /// The real inspector, but `resolve` of one path blocks until released.
    final class StuckPath: HostPathInspector {
        let stuck: String
        let released = DispatchSemaphore(value: 0)
        private let real = HostPaths()
        init(stuck: String) { self.stuck = stuck }
        func resolve(_ path: String) -> String? {
            if path == stuck { released.wait(); released.signal() }
            return real.resolve(path)
        }
        func identity(_ path: String) -> FileIdentity? { real.identity(path) }
        func resolutionFailure(_ path: String) -> String? { real.resolutionFailure(path) }
        func expand(_ pattern: String) -> [String] { real.expand(pattern) }
        func linkCount(_ path: String) -> Int { real.linkCount(path) }
        func otherNames(of path: String, identity: FileIdentity, wanted: Int) -> [String] {
            real.otherNames(of: path, identity: identity, wanted: wanted)
        }
        func isBlockDevice(_ path: String) -> Bool { real.isBlockDevice(path) }
        func isSocket(_ path: String) -> Bool { real.isSocket(path) }
    }

    func testAStuckMountSourceHoldsNoPoll() throws {
        let host = try FixtureHost(self)
        let engine = ScriptedEngine(socketPath: host.engineSocket)
        let stuck = StuckPath(stuck: host.root + "/nfs/share")
        let mounting = IDs.make(0x81), bomb = IDs.make(0x82)
        engine.add(details(bomb, name: "bomb", pidsLimit: 20))
        try host.setPids(bomb, current: 3, max: 20)
        let d = try DaemonUnderTest(host: host, engine: engine, hostPaths: stuck)
        addTeardownBlock { stuck.released.signal(); d.stop() }
        d.start()
        d.waitForNames([bomb])
        d.waitUntil("the listing answered") { d.daemon.engineAnswersHandled >= 1 }

        // A container whose mount source hangs: its verdict waits on it.
        engine.add(details(mounting, name: "mounting", binds: [(stuck.stuck, "/data")]))
        engine.emit("create", mounting)
        d.waitUntil("its inspect answered") { d.daemon.engineAnswersHandled >= 2 }

        // Meanwhile a poll runs, and sees the bomb's refusal.
        try host.setPids(bomb, current: 20, max: 20, refused: 5)
        let polled = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            d.tick()
            polled.signal()
        }
        XCTAssertEqual(polled.wait(timeout: .now() + 5), .success, "the poll ran while the mount source hung")
        XCTAssertEqual(d.writer.entries(.pidsExhausted, for: bomb).count, 1)

        stuck.released.signal()
        d.waitUntil("the stuck container's verdict, once its path answered") {
            d.daemon.hostVerdictsUnderWay == 0
        }
    }
}
