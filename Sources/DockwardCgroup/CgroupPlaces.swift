import DockwardCore

/// Where a container's cgroup is, asked of the kernel rather than guessed
/// from names: the pids line of `/proc/<pid>/cgroup` of its main process
/// (the v1 `N:pids:` line, or the v2 `0::` line), whatever the engine's
/// cgroup driver, a `--cgroup-parent`, or the runtime did.
public enum ProcessCgroup {
    /// The path (relative to the pids hierarchy, as the kernel prints it:
    /// `/acme.slice/docker-<id>.scope`) in the text of `/proc/<pid>/cgroup`.
    public static func pidsPath(inFile text: String, version: CgroupVersion) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            switch version {
            case .v2 where parts[0] == "0" && parts[1].isEmpty:
                return String(parts[2])
            case .v1 where parts[1].split(separator: ",").contains("pids"):
                return String(parts[2])
            default:
                continue
            }
        }
        return nil
    }

    /// Reads `<procRoot>/<pid>/cgroup`; nil when the process is gone or hidden.
    public static func pidsPath(ofProcess pid: Int32, procRoot: String = "/proc", version: CgroupVersion) -> String? {
        guard pid > 0, case .success(let bytes) = FileSystem.readSmall("\(procRoot)/\(pid)/cgroup", limit: 16384)
        else { return nil }
        return pidsPath(inFile: String(decoding: bytes, as: UTF8.self), version: version)
    }
}

/// A cgroup path the kernel printed (or `/proc/<pid>/cgroup` gave), split at
/// the component that names a container: `/docker/<id>`, `*-<id>.scope`.
public struct ContainerCgroupPath: Equatable, Sendable {
    public let id: ContainerID
    /// Up to and including the component naming the container (`/acme.slice/docker-<id>.scope`).
    public let container: String
    /// The whole path: the container's, or a cgroup inside it.
    public let full: String

    /// The deepest component that names a container decides (Docker in
    /// Docker nests one inside another; the inner one is the one that forked).
    public init?(_ path: Substring, names: CgroupNames) {
        let components = path.split(separator: "/")
        // "/.." leads out of the reader's cgroup namespace: not under the hierarchy it sees.
        guard !components.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        for index in components.indices.reversed() {
            let name = components[index]
            guard let id = names.containerID(inName: name) else { continue }
            self.id = id
            container = "/" + components[...index].joined(separator: "/")
            full = "/" + components.joined(separator: "/")
            return
        }
        return nil
    }

    /// The forking cgroup is inside the container's.
    public var isBelowContainer: Bool { full != container }
}

extension CgroupDriver {
    /// The naming scheme a cgroup's path shows: a `.scope` is systemd's (a
    /// user manager's under `user@U.service`), anything else cgroupfs.
    public init(cgroupPath path: String) {
        guard path.hasSuffix(".scope") else { self = .cgroupfs; return }
        self = path.split(separator: "/").contains { $0.hasPrefix("user@") && $0.hasSuffix(".service") } ? .rootless : .systemd
    }
}

/// How the kernel counts `max` in `pids.events`.
public enum PidsEventCounting: Equatable, Sendable {
    /// In the cgroup that forked, whichever limit refused: cgroup v1, v2
    /// before Linux 6.11, and v2 mounted with `pids_localevents`.
    case forking
    /// In the cgroup whose limit refused and every cgroup above it (v2 from
    /// Linux 6.11): a container's count does not move when a slice above
    /// it refuses; that slice's `pids.events.local` does.
    case hierarchical

    /// From the layout, whether a cgroup has `pids.events.local` (6.11+),
    /// and the hierarchy's mount options in `/proc/self/mountinfo`.
    public static func detect(layout: CgroupLayout, sampleCgroup: String?,
                              mountInfo: String = "/proc/self/mountinfo") -> PidsEventCounting {
        guard layout.version == .v2, let sample = sampleCgroup,
              FileSystem.exists(FileSystem.join(sample, "pids.events.local")) else { return .forking }
        guard case .success(let bytes) = FileSystem.readSmall(mountInfo, limit: 1 << 20) else { return .hierarchical }
        let text = String(decoding: bytes, as: UTF8.self)
        return mountsLocalEvents(mountInfo: text, at: layout.hierarchyRoot) ? .forking : .hierarchical
    }

    /// The cgroup2 mount at `mountPoint` carries `pids_localevents`.
    public static func mountsLocalEvents(mountInfo text: String, at mountPoint: String) -> Bool {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == mountPoint, let dash = fields.firstIndex(of: "-"),
                  fields.index(after: dash) < fields.endIndex, fields[fields.index(after: dash)] == "cgroup2"
            else { continue }
            return fields[(dash + 1)...].contains { $0.split(separator: ",").contains("pids_localevents") }
        }
        return false
    }
}

/// Reads the cgroups from one that forked up to the hierarchy root's child,
/// for `RefusingLimitFinder`: a handful of small reads, done only when a
/// container's forks were refused.
public enum CgroupLimitChain {
    /// `forking` and `container` are relative to `root` (`/acme.slice/docker-<id>.scope`);
    /// returns the chain and the index of the container's own cgroup in it.
    public static func read(root: String, forking: String, container: String) -> (chain: [CgroupLimitReading], containerIndex: Int)? {
        var chain: [CgroupLimitReading] = []
        var containerIndex: Int?
        var path = forking
        while path.count > 1 {
            let dir = FileSystem.join(root, String(path.dropFirst()))
            guard let current = readValue(dir, "pids.current", PidsFileParser.parseCount) else { break }
            let limit = readValue(dir, "pids.max", PidsFileParser.parseLimit)
            let local = readValue(dir, "pids.events.local", PidsFileParser.parseRefusedForks)
            if path == container { containerIndex = chain.count }
            chain.append(CgroupLimitReading(cgroup: path, limit: limit.flatMap { $0 < 0 ? nil : $0 },
                                            current: current, localRefusals: local))
            path = parent(of: path)
        }
        guard let containerIndex else { return nil }
        return (chain, containerIndex)
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func readValue(_ dir: String, _ name: String,
                                  _ parse: (UnsafeRawBufferPointer) -> Int64?) -> Int64? {
        readPidsValue(FileSystem.join(dir, name), parse)
    }
}

/// A Kubernetes pod's cgroup and the containers in it.
public enum PodCgroup {
    /// Each container cgroup directly in `directory` (absolute) with its
    /// `pids.current`; a folder that vanished while read is left out.
    public static func containerTasks(directory: String, names: CgroupNames) -> [(id: ContainerID, tasks: Int64)] {
        FileSystem.subdirectories(of: directory).compactMap { name in
            guard let id = names.containerID(inName: name),
                  let tasks = readPidsValue(FileSystem.join(FileSystem.join(directory, name), "pids.current"),
                                            PidsFileParser.parseCount) else { return nil }
            return (id, tasks)
        }
    }
}

/// One value of a pids file read once (open, read, close), or nil when the
/// file cannot be read or holds nothing the parser takes: the cold reads of
/// the walk up the tree and of the counters kept beside a container's own.
private func readPidsValue(_ path: String, _ parse: (UnsafeRawBufferPointer) -> Int64?) -> Int64? {
    guard case .success(let bytes) = FileSystem.readSmall(path) else { return nil }
    return bytes.withUnsafeBytes(parse)
}

/// A refusal count kept beside a container's own `pids.events`: the
/// `pids.events` of a cgroup inside it that forked (where the kernel counts
/// in the cgroup that forked), or the `pids.events.local` of a cgroup above
/// it whose limit refused (where it counts in the cgroup whose limit
/// refused). Counts from `base`; a file gone keeps what it counted.
public struct RefusalCounterFile: Equatable, Sendable {
    public let path: String
    private var base: Int64
    private var counted: Int64
    private var last: Int64

    /// `alreadyCounted` refusals belong to the container before the first
    /// read: those the kernel reported that the file's `base` holds.
    public init(path: String, base: Int64, alreadyCounted: Int64 = 0) {
        self.path = path
        self.base = base
        counted = alreadyCounted
        last = base
    }

    /// The file's `max` count now, or nil when it cannot be read.
    public static func read(_ path: String) -> Int64? { readPidsValue(path, PidsFileParser.parseRefusedForks) }

    /// Refusals counted so far; re-reads the file.
    public mutating func refusals() -> Int64 {
        if let now = Self.read(path), now >= last { last = now }
        return counted + (last - base)
    }
}
