import DockwardCore
import DockwardDocker
import Foundation

/// An engine in memory behind `EngineAPI`: containers, volumes, a data root;
/// `unreachable` makes every call fail as a missing socket does. Counts
/// what it was asked, to show the audit asks nothing but reads.
final class FakeEngine: EngineAPI, @unchecked Sendable {
    let socketPath: String
    var containers: [ContainerDetails] = []
    var volumes: [String: VolumeInfo] = [:]
    var dataRoot: String? = "/var/lib/docker"
    var unreachable = false
    private let lock = NSLock()
    private var _calls: [String] = []
    var calls: [String] { lock.withLock { _calls } }

    init(socketPath: String = "/run/docker.sock") { self.socketPath = socketPath }

    private func call(_ name: String) throws {
        lock.withLock { _calls.append(name) }
        if unreachable { throw DockerClientError.socketMissing(path: socketPath) }
    }

    func negotiate() async throws -> String { try call("ping"); return "1.41" }
    func listContainers(all: Bool) async throws -> [ContainerSummary] {
        try call("list")
        return containers.map { ContainerSummary(id: $0.id, names: [$0.metadata.name], image: $0.metadata.image,
                                                 labels: $0.metadata.labels, state: $0.state) }
    }
    func inspect(_ id: ContainerID) async throws -> ContainerDetails? {
        try call("inspect")
        return containers.first { $0.id == id }
    }
    func volume(named name: String) async throws -> VolumeInfo? { try call("volume"); return volumes[name] }
    func info() async throws -> EngineInfo { try call("info"); return EngineInfo(dataRoot: dataRoot) }
    func events(sinceNano: Int64?) -> AsyncThrowingStream<EngineEvent, Error> {
        AsyncThrowingStream { $0.finish() }
    }
    func shutdown() async throws {}
}

/// A 64-hex id from a small number, for readable tests.
func testID(_ n: Int) -> ContainerID {
    let hex = String(n, radix: 16)
    return ContainerID(String(repeating: "a", count: 64 - hex.count) + hex)!
}
