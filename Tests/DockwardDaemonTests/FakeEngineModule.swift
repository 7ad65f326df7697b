import DockwardCore
import Foundation
import Synchronization

/// An engine that exists only in the tests, written as a real engine
/// module is: its own cgroup names and a runtime against `ContainerRuntime`
/// alone. Registering it is one line (`Engines.registered + [module]`), and
/// nothing in the daemon knows it (EngineModuleTests).
struct FakeEngineModule: EngineModule {
    let fake: FakeRuntime
    var name: String { "fake" }
    var cgroupNaming: any CgroupNaming { FakeCgroupNaming() }
    func runtime(_ endpoint: EngineEndpoint) throws -> ContainerRuntime { fake }
}

/// `fakeengine.slice/fake-<id>.scope`, and nowhere else.
struct FakeCgroupNaming: CgroupNaming {
    var containerParents: [String] { ["fakeengine.slice"] }
    var nestingParents: [String] { [] }
    func holdsContainers(_ folderName: String) -> Bool { false }
    func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID? {
        name.containerID(between: "fake-", and: ".scope")
    }
    func limitSubfolder(ofContainerFolderNamed name: String) -> String? { nil }
}

/// The fake engine's containers and its live events.
final class FakeRuntime: ContainerRuntime {
    let socketPath: String
    private struct State {
        var containers: [ContainerID: ContainerDetails] = [:]
        var streams: [AsyncThrowingStream<RuntimeEvent, Error>.Continuation] = []
    }
    private let state = Mutex(State())

    init(socketPath: String) { self.socketPath = socketPath }

    func add(_ details: ContainerDetails) { state.withLock { $0.containers[details.id] = details } }

    func emit(_ kind: RuntimeEvent.Kind, _ id: ContainerID) {
        let event = RuntimeEvent(kind, id: id, timeNano: Int64(Date().timeIntervalSince1970 * 1e9))
        for stream in state.withLock({ $0.streams }) { stream.yield(event) }
    }

    func connect() async throws -> RuntimeInfo { RuntimeInfo(product: "Fake 1.0", apiVersion: nil, dataRoot: nil) }
    func listContainers() async throws -> [ContainerID] { state.withLock { $0.containers.keys.sorted() } }
    func describe(_ id: ContainerID, refused: @escaping @Sendable (String) -> Void) async throws -> ContainerDetails? {
        state.withLock { $0.containers[id] }
    }
    func namedVolume(_ name: String) async throws -> NamedVolume? { nil }
    func events(sinceNano: Int64?) -> AsyncThrowingStream<RuntimeEvent, Error> {
        AsyncThrowingStream { continuation in state.withLock { $0.streams.append(continuation) } }
    }
    func isRefusal(_ error: Error) -> Bool { false }
    func shutdown() async throws {
        for stream in state.withLock({ s in defer { s.streams = [] }; return s.streams }) { stream.finish() }
    }
}
