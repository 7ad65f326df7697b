import DockwardCore
import DockwardSystem
import FoundationEssentials
import Glibc

/// The engine's configuration files as they lie under a root (`/`, or
/// `/host`, or a test's fixture folder): its systemd unit with drop-ins and
/// environment files, and `daemon.json`. Reads files only, never asks the
/// engine or the docker CLI: an engine that listens on TCP is one whose API
/// dockward should not need to trust to find out.
public struct EngineConfigFiles: Sendable {
    /// Files larger than this are refused: no real unit or daemon.json is near it.
    static let sizeLimit = 1 << 20

    /// Unit folders in systemd's precedence, highest first.
    static let unitFolders = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"]

    public let root: String

    public init(root: String) { self.root = root }

    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    struct Read {
        var unit = EngineUnit()
        var environmentFiles: [ConfigText] = []
        var daemonJSON: ConfigText?
        /// Each file or folder there but not readable.
        var problems: [Problem] = []
    }

    /// The engine's TCP listeners without client verification, and every
    /// file that could not be read (or parsed): the daemon's check at start
    /// and reload, and `dockward audit`'s.
    public func exposedListeners() -> (findings: [EngineListenerFinding], problems: [Problem]) {
        let read = read()
        let report = EngineListeners.report(unit: read.unit, environmentFiles: read.environmentFiles,
                                            daemonJSON: read.daemonJSON)
        return (report.findings, read.problems + report.malformed.map { Problem(path: $0.path, reason: $0.reason) })
    }

    func read() -> Read {
        var out = Read()
        var unitFiles: [ConfigText] = []
        for folder in Self.unitFolders {
            if let file = take(folder + "/docker.service", into: &out) {
                unitFiles.append(file)
                break
            }
        }
        // Drop-ins apply in file-name order across all folders; a name in a
        // higher folder masks the same name below it.
        var dropIns: [String: String] = [:]
        for folder in Self.unitFolders {
            let dir = folder + "/docker.service.d"
            for name in list(dir, into: &out) where name.hasSuffix(".conf") && dropIns[name] == nil {
                dropIns[name] = dir + "/" + name
            }
        }
        for name in dropIns.keys.sorted() {
            if let file = take(dropIns[name]!, into: &out) { unitFiles.append(file) }
        }
        out.unit = EngineUnit(files: unitFiles)
        out.environmentFiles = out.unit.environmentFiles.compactMap { take($0, into: &out) }
        let jsonPath = EngineListeners.daemonJSONPath(unit: out.unit, environmentFiles: out.environmentFiles)
        out.daemonJSON = take(jsonPath, into: &out)
        return out
    }

    /// The file at host path `path`; nil when it is missing (normal) or
    /// unreadable (noted in `problems`).
    private func take(_ path: String, into out: inout Read) -> ConfigText? {
        switch Self.readBounded(under(path)) {
        case .text(let text): return ConfigText(path: path, text: text)
        case .missing: return nil
        case .unreadable(let reason):
            out.problems.append(Problem(path: path, reason: reason))
            return nil
        }
    }

    private func list(_ dir: String, into out: inout Read) -> [String] {
        var names: [String] = []
        guard Directory.forEachEntry(in: under(dir), { entry in
            if !entry.isSelfOrParent { names.append(entry.name) }
            return true
        }) else {
            if errno != ENOENT && errno != ENOTDIR { out.problems.append(Problem(path: dir, reason: String(cString: strerror(errno)))) }
            return []
        }
        return names
    }

    private func under(_ path: String) -> String {
        root == "/" || root.isEmpty ? path : (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
    }

    enum Outcome: Equatable {
        case text(String)
        case missing
        case unreadable(String)
    }

    static func readBounded(_ path: String) -> Outcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable(String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .unreadable(String(cString: strerror(errno))) }
        // A unit linked to /dev/null is masked (systemctl mask): empty, so
        // the engine it would start sets nothing, and the unit below it is
        // not read in its place.
        if (st.st_mode & S_IFMT) == S_IFCHR { return .text("") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .unreadable("not a regular file") }
        guard st.st_size <= sizeLimit else { return .unreadable("larger than \(sizeLimit) bytes, not read") }
        switch FileDescriptorReader.readAll(fd, limit: sizeLimit) {
        case .bytes(let bytes): return .text(String(decoding: bytes, as: UTF8.self))
        case .tooLarge: return .unreadable("larger than \(sizeLimit) bytes, not read")
        case .failed(let code): return .unreadable(String(cString: strerror(code)))
        }
    }
}
