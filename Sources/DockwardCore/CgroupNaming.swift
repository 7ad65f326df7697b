/// How one engine names its containers' cgroups: where to look, and what a
/// folder's name says. An engine module gives one; discovery lists every
/// registered engine's parents, and a folder names a container when one
/// registered naming says so. Nothing engine-specific is left in the
/// cgroup reader.
public protocol CgroupNaming: Sendable {
    /// Folders under the hierarchy's root (relative, no leading slash:
    /// `docker`, `system.slice`) whose children may be containers' cgroups.
    var containerParents: [String] { get }
    /// Those of its parents in which some child folders hold containers in
    /// turn (Podman's pods in `machine.slice`): only there is a name that
    /// is no container's looked at again.
    var nestingParents: [String] { get }
    /// Whether a child folder of a nesting parent holds containers in turn
    /// (Podman's pod slices): listed too, one level down.
    func holdsContainers(_ folderName: String) -> Bool
    /// The container a folder's name names (its bytes, so a rescan of
    /// hundreds of units allocates nothing), or nil. `parent` is the
    /// registered parent it was listed in (an engine may give a shape in one
    /// parent only: Docker's bare ids in `docker`, never in `system.slice`);
    /// nil for a folder found anywhere else (a learned parent, a user
    /// slice, a path the kernel printed), where any of its shapes counts.
    func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String?) -> ContainerID?
    /// The folder inside a container's cgroup that holds its processes and
    /// its own limit, when its runtime makes one (crun under systemd:
    /// `container`); nil when the container's folder is the place.
    func limitSubfolder(ofContainerFolderNamed name: String) -> String?
}

/// Every registered engine's naming as one.
public struct CgroupNames: Sendable {
    public let namings: [any CgroupNaming]

    public init(_ namings: [any CgroupNaming]) { self.namings = namings }

    /// The union of the engines' parents, in registration order.
    public var containerParents: [String] {
        var seen = Set<String>()
        return namings.flatMap(\.containerParents).filter { seen.insert($0).inserted }
    }

    public var nestingParents: Set<String> { Set(namings.flatMap(\.nestingParents)) }

    public func holdsContainers(_ folderName: String) -> Bool { namings.contains { $0.holdsContainers(folderName) } }

    public func containerID(inName name: UnsafeRawBufferPointer, inParent parent: String? = nil) -> ContainerID? {
        for naming in namings { if let id = naming.containerID(inName: name, inParent: parent) { return id } }
        return nil
    }

    public func containerID(inName name: some StringProtocol, inParent parent: String? = nil) -> ContainerID? {
        var text = String(name)
        return text.withUTF8 { containerID(inName: UnsafeRawBufferPointer($0), inParent: parent) }
    }

    public func limitSubfolder(ofContainerFolderNamed name: String) -> String? {
        for naming in namings { if let sub = naming.limitSubfolder(ofContainerFolderNamed: name) { return sub } }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the bytes are `prefix`, 64 lower-case hex digits, `suffix`,
    /// and if so the id: the shape most engines give a container's cgroup.
    public func containerID(between prefix: StaticString, and suffix: StaticString) -> ContainerID? {
        let p = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        let s = UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        guard count == p.count + 64 + s.count, starts(with: p), self[(count - s.count)...].elementsEqual(s) else { return nil }
        return ContainerID(utf8: self[p.count..<(p.count + 64)])
    }
}
