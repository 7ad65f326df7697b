import DockwardSystem
import FoundationEssentials
import Glibc

/// The state file in the service's state directory (`StateDirectory=dockward`,
/// so `$STATE_DIRECTORY`). Written atomically (a temporary file, fsync,
/// rename); a missing, truncated or garbled file is reported and ignored:
/// alerts are then repeated, never lost.
public struct StateFile: Sendable {
    public static let fileName = "state.json"
    /// Far above any real state (a few hundred bytes per alerting container).
    public static let maxBytes = 16 << 20

    public let path: String

    public init(directory: String) {
        path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
    }

    public enum LoadResult<State> {
        case none
        case loaded(State)
        /// Unusable; the reason is for the log.
        case ignored(String)
    }

    /// The state as last saved, decoded; the caller checks what it means
    /// (its format, its boot).
    public func load<State: Decodable>(_ type: State.Type) -> LoadResult<State> {
        let data: Data
        switch FileDescriptorReader.readFile(path, upTo: Self.maxBytes + 1) {
        case .bytes(let bytes): data = Data(bytes)
        case .failed(let code) where code == ENOENT: return .none
        case .failed(let code): return .ignored("cannot read: \(FileDescriptorReader.describe(code))")
        case .tooLarge: preconditionFailure("readFile(_:upTo:) stops at its count")
        }
        guard data.count <= Self.maxBytes else { return .ignored("larger than \(Self.maxBytes) bytes") }
        do { return .loaded(try JSONDecoder().decode(State.self, from: data)) } catch {
            return .ignored("not a dockward state file (\(Self.describe(error)))")
        }
    }

    public func save<State: Encodable>(_ state: State) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(state)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var ok = FileDescriptorWriter.writeAll(fd, [UInt8](data))
        // The rename must not land before the data: fsync first, or a crash
        // could leave an empty file under the real name.
        ok = ok && fsync(fd) == 0
        let savedErrno = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let code = ok ? errno : savedErrno
            unlink(temporary)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
    }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`), or "" when unreadable.
    public static func currentBootID(procRoot: String = "/proc") -> String {
        let text = (try? String(contentsOfFile: procRoot + "/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
        return text.filter { !$0.isWhitespace }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}
