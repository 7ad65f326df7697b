import FoundationEssentials
import DockwardYAML

/// A Compose file that cannot be read, with where.
public struct ComposeError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads Compose files the way Compose v2 (`docker compose config`,
/// compose-go) does for the keys that decide host control: the `.env` file
/// of the project folder under the process environment, the project name
/// (`-p`, `COMPOSE_PROJECT_NAME`, top-level `name:`, the folder's name),
/// which every value may use as `${COMPOSE_PROJECT_NAME}`, interpolation of
/// every value, several files merged in order (mappings merged, `volumes`
/// and `devices` by container path, `cap_add`, `volumes_from` and
/// `profiles` as unions, scalars replaced), `extends` from the same or
/// another file (in each file before the merge), `include:` of other
/// projects, relative and `~` paths made
/// absolute against the project folder (an extended or included file's own
/// folder for what it brings).
public struct ComposeLoader {
    public var environment: [String: String]
    /// `--env-file`; default `<project folder>/.env` when it exists.
    public var envFile: String?
    /// `--project-directory`; default the first file's folder.
    public var projectDirectory: String?
    /// `-p`; default `COMPOSE_PROJECT_NAME`, else the files' `name:`, else
    /// the project folder's name.
    public var projectName: String?
    public var currentDirectory: String

    public init(environment: [String: String], envFile: String? = nil, projectDirectory: String? = nil,
                projectName: String? = nil, currentDirectory: String = FileManager.default.currentDirectoryPath) {
        self.environment = environment
        self.envFile = envFile
        self.projectDirectory = projectDirectory
        self.projectName = projectName
        self.currentDirectory = currentDirectory
    }

    /// `files` as given on the command line: findings name them so.
    public func load(files: [String]) throws(ComposeError) -> ComposeProject {
        guard let first = files.first else { throw ComposeError(file: "", line: 0, message: "no Compose file given") }
        let directory = projectDirectory.map(absolute) ?? Self.folder(of: absolute(first))
        var env = try Self.readEnvFile(path: envFile.map(absolute) ?? directory + "/.env", display: envFile ?? ".env",
                                       required: envFile != nil, environment: environment)
        for (k, v) in environment { env[k] = v }
        var documents: [Document] = []
        for file in files { documents.append(try Self.readDocument(display: file, path: absolute(file))) }
        // The name first: every value may use it.
        var context = Context(environment: env, home: environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path)
        let name = try resolveProjectName(documents: documents, directory: directory, context: &context)
        context.environment["COMPOSE_PROJECT_NAME"] = name
        let model = try Self.loadModel(documents: documents, directory: directory, context: &context, including: [])
        // Compose v2 leaves out the volumes no service mounts (a later file
        // may have replaced the mount); they decide nothing here either.
        let mounted = Set(model.services.flatMap { $0.volumes.filter { $0.type == .volume }.compactMap(\.source) })
        var volumes = model.volumes.filter { mounted.contains($0.key) }
        for key in volumes.keys {
            if volumes[key]!.engineName.isEmpty {
                volumes[key]!.engineName = volumes[key]!.external ? key : "\(name)_\(key)"
            }
        }
        let profiles = (env["COMPOSE_PROFILES"] ?? "").split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        return ComposeProject(name: name, directory: directory, files: files, services: model.services, volumes: volumes,
                              unsetVariables: context.unset.sorted(), environmentProfiles: profiles)
    }

    /// `-p` and `COMPOSE_PROJECT_NAME` must already be a valid name (Compose
    /// v2 refuses others); `name:` and the folder's name are made one.
    private func resolveProjectName(documents: [Document], directory: String,
                                    context: inout Context) throws(ComposeError) -> String {
        if let given = projectName ?? context.environment["COMPOSE_PROJECT_NAME"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard Self.isValidProjectName(given) else {
                throw ComposeError(file: documents[0].display, line: 0, message: "invalid project name \"\(given)\": "
                    + "it must be lower case letters, digits, - and _, and start with a letter or digit")
            }
            return given
        }
        var named: String?
        for document in documents {
            guard let node = document.root.mapping?["name"] else { continue }
            var reader = NodeReader(file: document.display, workingDirectory: directory, context: context)
            named = try reader.string(node)
            context = reader.context
        }
        let name = Self.normalizeProjectName(named ?? Self.lastName(of: directory))
        guard !name.isEmpty else {
            throw ComposeError(file: documents[0].display, line: 0,
                               message: "no project name: \(named.map { "name: \($0)" } ?? directory) has no letter or digit")
        }
        return name
    }

    static func isValidProjectName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return name.allSatisfy { $0 == "-" || $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }
    }

    /// compose-go's NormalizeProjectName: lower case, only `-`, `_`, letters
    /// and digits, no leading `-` or `_`.
    static func normalizeProjectName(_ name: String) -> String {
        let kept = name.lowercased().filter { $0 == "-" || $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        return String(kept.drop { $0 == "-" || $0 == "_" })
    }

    struct Document {
        var display: String
        var path: String
        var root: Node
    }

    static func readDocument(display: String, path: String) throws(ComposeError) -> Document {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ComposeError(file: display, line: 0, message: "cannot read the file")
        }
        let root: Node?
        do { root = try DockwardYAML.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw ComposeError(file: display, line: Self.line(of: error), message: "not valid YAML: \(error)")
        }
        guard let root, root.mapping != nil else {
            throw ComposeError(file: display, line: 1, message: "a Compose file is a mapping (services:, volumes:, ...)")
        }
        return Document(display: display, path: path, root: resolvingMergeKeys(root))
    }

    /// YAML merge keys (`<<: *common`, `<<: [*a, *b]`) as Compose reads
    /// them: the merged mappings' keys first, each key once, a key written
    /// in the mapping itself over a merged one, an earlier merged mapping
    /// over a later one. Projects share settings between services so.
    static func resolvingMergeKeys(_ node: Node) -> Node {
        switch node {
        case .mapping(let map):
            var merged: [(Node, Node)] = []
            var own: [(Node, Node)] = []
            for (key, value) in map {
                if let k = key.scalar, k.string == "<<", k.style == .plain {
                    let sources = value.sequence.map(Array.init) ?? [value]
                    for source in sources.reversed() {
                        guard case .mapping = source, let pairs = resolvingMergeKeys(source).mapping else { continue }
                        merged += pairs.map { ($0.key, $0.value) }
                    }
                } else {
                    own.append((key, resolvingMergeKeys(value)))
                }
            }
            guard !merged.isEmpty else { return .mapping(Node.Mapping(own, map.tag, map.style, map.mark, map.anchor)) }
            // The last of each key wins: own keys come last, earlier sources later.
            var pairs: [(Node, Node)] = []
            for (key, value) in merged + own {
                if let i = pairs.firstIndex(where: { $0.0.scalar?.string == key.scalar?.string }) { pairs.remove(at: i) }
                pairs.append((key, value))
            }
            return .mapping(Node.Mapping(pairs, map.tag, map.style, map.mark, map.anchor))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.map(resolvingMergeKeys), seq.tag, seq.style, seq.mark, seq.anchor))
        default:
            return node
        }
    }

    /// The services and volumes of `documents`, `extends` resolved in each,
    /// merged in order, then those of the projects they include.
    static func loadModel(documents: [Document], directory: String, context: inout Context,
                          including: [String]) throws(ComposeError) -> ParsedFile {
        var services: [ComposeService] = []
        var volumes: [String: ComposeVolume] = [:]
        var includes: [ComposeInclude] = []
        for document in documents {
            let parsed = try parse(root: document.root, display: document.display, workingDirectory: directory, context: &context)
            // Compose v2 resolves `extends` in each file on its own, before
            // the files are merged: a later file's change to a service does
            // not reach the services that extend it in an earlier file.
            var own: [ComposeService] = []
            for service in parsed.services {
                own.append(try resolveExtends(service, in: parsed.services, context: &context, chain: []))
            }
            for service in own {
                if let index = services.firstIndex(where: { $0.name == service.name }) {
                    services[index] = merge(services[index], service)
                } else {
                    services.append(service)
                }
            }
            for (key, volume) in parsed.volumes { volumes[key] = volume }
            includes += parsed.includes
        }
        var resolved = services
        for include in includes {
            let paths = include.paths
            guard !including.contains(paths[0]) else {
                throw ComposeError(file: include.location.file, line: include.location.line,
                                   message: "include cycle: \((including + [paths[0]]).joined(separator: " -> "))")
            }
            // An included project is read in its own folder, with its own
            // .env under the including project's variables.
            let folder = include.projectDirectory ?? Self.folder(of: paths[0])
            var env: [String: String] = [:]
            for file in include.envFiles ?? [folder + "/.env"] {
                env.merge(try readEnvFile(path: file, display: file, required: include.envFiles != nil,
                                          environment: context.environment)) { $1 }
            }
            env.merge(context.environment) { $1 }
            var inner = Context(environment: env, home: context.home, unset: context.unset, extended: [:])
            var docs: [Document] = []
            for path in paths { docs.append(try readDocument(display: path, path: path)) }
            let model = try loadModel(documents: docs, directory: folder, context: &inner, including: including + [paths[0]])
            context.unset = inner.unset
            for service in model.services {
                guard !resolved.contains(where: { $0.name == service.name }) else {
                    throw ComposeError(file: include.location.file, line: include.location.line,
                                       message: "service \(service.name) of \(paths[0]) conflicts with one of the including project")
                }
                resolved.append(service)
            }
            for (key, volume) in model.volumes where volumes[key] == nil { volumes[key] = volume }
        }
        return ParsedFile(services: resolved, volumes: volumes, includes: [])
    }

    struct Context {
        var environment: [String: String]
        var home: String
        var unset: Set<String> = []
        /// Files read for `extends: {file:}`, by absolute path.
        var extended: [String: [ComposeService]] = [:]
    }

    struct ParsedFile {
        var services: [ComposeService]
        var volumes: [String: ComposeVolume]
        var includes: [ComposeInclude] = []
    }

    private func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : currentDirectory + "/" + path
        return Self.normalize(joined)
    }

    /// The last name in a path, trailing slashes aside (NSString's
    /// lastPathComponent): "/srv/app/" gives "app", "/" gives "/".
    static func lastName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard trimmed != "/" else { return "/" }
        return String(trimmed.split(separator: "/").last ?? trimmed)
    }

    static func folder(of path: String) -> String {
        // NSString's deletingLastPathComponent: trailing slashes go first,
        // then the last name; "/" stays "/".
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "/" }
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `os.path.abspath`: `.` and `..` collapsed, no symlink resolved.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func readEnvFile(path: String, display: String, required: Bool,
                            environment: [String: String]) throws(ComposeError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw ComposeError(file: display, line: 0, message: "cannot read the env file") }
            return [:]
        }
        do {
            return try ComposeDotEnv.parse(String(decoding: data, as: UTF8.self), environment: environment)
        } catch {
            throw ComposeError(file: display, line: error.line, message: error.message)
        }
    }

    static func parseFile(display: String, path: String, workingDirectory: String,
                          context: inout Context) throws(ComposeError) -> ParsedFile {
        try parse(root: try readDocument(display: display, path: path).root, display: display,
                  workingDirectory: workingDirectory, context: &context)
    }

    /// One file's services, volumes and includes; pure but for the context
    /// (the environment, the unset names).
    static func parse(root: Node, display: String, workingDirectory: String,
                      context: inout Context) throws(ComposeError) -> ParsedFile {
        guard let top = root.mapping else {
            throw ComposeError(file: display, line: 1, message: "a Compose file is a mapping (services:, volumes:, ...)")
        }
        var reader = NodeReader(file: display, workingDirectory: workingDirectory, context: context)
        // Compose interpolates every value before it reads any: a bad
        // reference anywhere fails the file.
        try reader.checkInterpolation(root)
        var parsed = ParsedFile(services: [], volumes: [:])
        if let services = top["services"] {
            guard let map = services.mapping else { throw reader.error(services, "services must be a mapping") }
            for (key, value) in map {
                let name = try reader.string(key)
                parsed.services.append(try reader.service(name: name, key: key, value: value))
            }
        }
        if let volumes = top["volumes"] {
            guard let map = volumes.mapping else { throw reader.error(volumes, "volumes must be a mapping") }
            for (key, value) in map {
                let name = try reader.string(key)
                parsed.volumes[name] = try reader.volume(key: name, keyNode: key, value: value)
            }
        }
        if let includes = top["include"] {
            guard let seq = includes.sequence else { throw reader.error(includes, "include must be a list") }
            for item in seq { parsed.includes.append(try reader.include(item)) }
        }
        context = reader.context
        return parsed
    }

    static func line(of error: Error) -> Int {
        if let yaml = error as? YamlError, case .scanner(_, _, let mark, _) = yaml { return mark.line }
        if let yaml = error as? YamlError, case .parser(_, _, let mark, _) = yaml { return mark.line }
        return 1
    }

    /// docker-compose's merge of a later file's service onto an earlier one.
    static func merge(_ base: ComposeService, _ override: ComposeService) -> ComposeService {
        var out = base
        out.image = override.image ?? base.image
        out.containerName = override.containerName ?? base.containerName
        out.privileged = override.privileged ?? base.privileged
        out.pid = override.pid ?? base.pid
        out.pidsLimit = override.pidsLimit ?? base.pidsLimit
        out.deployPidsLimit = override.deployPidsLimit ?? base.deployPidsLimit
        out.networkMode = override.networkMode ?? base.networkMode
        out.extends = override.extends ?? base.extends
        out.labels.merge(override.labels) { $1 }
        out.volumes = mergedByKey(base.volumes, override.volumes, key: \.target)
        out.devices = mergedByKey(base.devices, override.devices, key: \.containerPath)
        out.capAdd = union(base.capAdd, override.capAdd, key: \.value)
        // Compose v2 keeps `b` and `b:ro` both: entries are unique as written.
        out.volumesFrom = union(base.volumesFrom, override.volumesFrom, key: \.written)
        out.profiles = union(base.profiles, override.profiles, key: \.self)
        return out
    }

    private static func mergedByKey<T, K: Hashable>(_ base: [T], _ override: [T], key: KeyPath<T, K>) -> [T] {
        var out = base
        for item in override {
            if let i = out.firstIndex(where: { $0[keyPath: key] == item[keyPath: key] }) { out[i] = item } else { out.append(item) }
        }
        return out
    }

    private static func union<T, K: Equatable>(_ base: [T], _ override: [T], key: KeyPath<T, K>) -> [T] {
        var out = base
        for item in override where !out.contains(where: { $0[keyPath: key] == item[keyPath: key] }) { out.append(item) }
        return out
    }

    private static func resolveExtends(_ service: ComposeService, in services: [ComposeService], context: inout Context,
                                chain: [String]) throws(ComposeError) -> ComposeService {
        guard let extends = service.extends else { return service }
        let here = "\(extends.file ?? "")#\(service.name)"
        guard !chain.contains(here) else {
            throw ComposeError(file: extends.location.file, line: extends.location.line,
                               message: "circular extends: \((chain + [here]).joined(separator: " -> "))")
        }
        var pool = services
        if let file = extends.file {
            if context.extended[file] == nil {
                // What an extended file brings is resolved against its own folder.
                context.extended[file] = try parseFile(display: file, path: file, workingDirectory: Self.folder(of: file),
                                                       context: &context).services
            }
            pool = context.extended[file]!
        }
        guard var base = pool.first(where: { $0.name == extends.service }) else {
            throw ComposeError(file: extends.location.file, line: extends.location.line,
                               message: "extends: no service \(extends.service)\(extends.file.map { " in \($0)" } ?? "")")
        }
        base = try resolveExtends(base, in: pool, context: &context, chain: chain + [here])
        var own = service
        own.extends = nil
        base.extends = nil
        var merged = Self.merge(base, own)
        merged.name = service.name
        merged.location = service.location
        return merged
    }
}

/// Reads one file's nodes into the model, interpolating each value.
struct NodeReader {
    let file: String
    let workingDirectory: String
    var context: ComposeLoader.Context

    init(file: String, workingDirectory: String, context: ComposeLoader.Context) {
        self.file = file
        self.workingDirectory = workingDirectory
        self.context = context
    }

    func location(_ node: Node) -> SourceLocation { SourceLocation(file: file, line: node.mark?.line ?? 1) }

    func error(_ node: Node, _ message: String) -> ComposeError {
        ComposeError(file: file, line: node.mark?.line ?? 1, message: message)
    }

    mutating func checkInterpolation(_ node: Node) throws(ComposeError) {
        switch node {
        case .scalar: _ = try string(node)
        case .mapping(let map): for (_, value) in map { try checkInterpolation(value) }
        case .sequence(let seq): for item in seq { try checkInterpolation(item) }
        default: break
        }
    }

    mutating func string(_ node: Node) throws(ComposeError) -> String {
        guard let raw = node.scalar?.string else { throw error(node, "expected a single value") }
        do {
            return try ComposeInterpolation.interpolate(raw, environment: context.environment, unset: &context.unset)
        } catch let failure {
            throw error(node, "\(failure)")
        }
    }

    mutating func bool(_ node: Node) throws(ComposeError) -> Bool {
        switch try string(node).lowercased() {
        case "true", "yes", "y", "on", "1": return true
        case "false", "no", "n", "off", "0": return false
        case let other: throw error(node, "expected true or false, not \(other)")
        }
    }

    mutating func integer(_ node: Node) throws(ComposeError) -> Int64 {
        let text = try string(node)
        guard let value = Int64(text) else { throw error(node, "expected a whole number, not \(text)") }
        return value
    }

    mutating func strings(_ node: Node) throws(ComposeError) -> [Located<String>] {
        if node.scalar != nil { return [Located(try string(node), location(node))] }
        guard let seq = node.sequence else { throw error(node, "expected a list") }
        var out: [Located<String>] = []
        for item in seq { out.append(Located(try string(item), location(item))) }
        return out
    }

    /// `~`, `.` and `..` against the working folder; absolute paths as written.
    func hostPath(_ path: String) -> String {
        var p = path
        if p == "~" || p.hasPrefix("~/") { p = context.home + p.dropFirst() }
        if p.hasPrefix("/") { return p == path ? p : ComposeLoader.normalize(p) }
        return ComposeLoader.normalize(workingDirectory + "/" + p)
    }

    /// A mount's target as Compose v2 keeps it (Go's path.Clean): `/data/`
    /// and `/data` are one target, for merges as for the engine.
    static func containerPath(_ target: String) -> String {
        target.hasPrefix("/") ? ComposeLoader.normalize(target) : target
    }

    static func isPath(_ source: String) -> Bool { source.hasPrefix(".") || source.hasPrefix("/") || source.hasPrefix("~") }

    mutating func service(name: String, key: Node, value: Node) throws(ComposeError) -> ComposeService {
        var s = ComposeService(name: name, location: location(key))
        guard let map = value.mapping else { throw error(value, "service \(name) must be a mapping") }
        for (k, v) in map {
            let field = try string(k)
            switch field {
            case "image": s.image = try string(v)
            case "container_name": s.containerName = try string(v)
            case "network_mode": s.networkMode = try string(v)
            case "privileged": s.privileged = Located(try bool(v), location(v))
            case "pid": s.pid = Located(try string(v), location(v))
            case "cap_add": s.capAdd = try strings(v)
            case "pids_limit": s.pidsLimit = Located(try integer(v), location(v))
            case "profiles": s.profiles = try strings(v).map(\.value)
            case "labels": s.labels = try labels(v)
            case "volumes":
                guard let seq = v.sequence else { throw error(v, "volumes of service \(name) must be a list") }
                for item in seq { s.volumes.append(try mount(item)) }
            case "devices":
                guard let seq = v.sequence else { throw error(v, "devices of service \(name) must be a list") }
                for item in seq { s.devices.append(try device(item)) }
            case "volumes_from":
                for item in try strings(v) { s.volumesFrom.append(volumesFrom(item)) }
            case "extends": s.extends = try extends(v)
            case "deploy":
                if let pids = v.mapping?["resources"]?.mapping?["limits"]?.mapping?["pids"] {
                    s.deployPidsLimit = Located(try integer(pids), location(pids))
                }
            default: continue
            }
        }
        return s
    }

    mutating func labels(_ node: Node) throws(ComposeError) -> [String: String] {
        var out: [String: String] = [:]
        if let map = node.mapping {
            for (k, v) in map { out[try string(k)] = v.scalar == nil ? "" : try string(v) }
            return out
        }
        for item in try strings(node) {
            let parts = item.value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return out
    }

    /// Short syntax `[SOURCE:]TARGET[:MODE]`, or the long mapping.
    mutating func mount(_ node: Node) throws(ComposeError) -> ComposeMount {
        let here = location(node)
        if node.scalar != nil {
            let text = try string(node)
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
                throw error(node, "volume \(text): expected [SOURCE:]TARGET[:MODE]")
            }
            if parts.count == 1 {
                return ComposeMount(type: .volume, source: nil, target: Self.containerPath(parts[0]), readOnly: false, location: here)
            }
            let readOnly = parts.count == 3 && parts[2].split(separator: ",").contains("ro")
            if Self.isPath(parts[0]) {
                return ComposeMount(type: .bind, source: hostPath(parts[0]), target: Self.containerPath(parts[1]), readOnly: readOnly,
                                    location: here)
            }
            return ComposeMount(type: .volume, source: parts[0], target: Self.containerPath(parts[1]), readOnly: readOnly,
                                location: here)
        }
        guard let map = node.mapping else { throw error(node, "a volume is a string or a mapping") }
        guard let typeNode = map["type"] else { throw error(node, "a volume in long syntax needs type:") }
        let typeText = try string(typeNode)
        guard let type = ComposeMount.Kind(rawValue: typeText) else { throw error(typeNode, "unknown volume type \(typeText)") }
        guard let targetNode = map["target"] else { throw error(node, "a volume in long syntax needs target:") }
        let target = Self.containerPath(try string(targetNode))
        var source = try map["source"].map { (n: Node) throws(ComposeError) -> String in try string(n) }
        if type == .bind, let s = source { source = hostPath(s) }
        if let s = source, s.isEmpty { source = nil }
        let readOnly = try map["read_only"].map { (n: Node) throws(ComposeError) -> Bool in try bool(n) } ?? false
        return ComposeMount(type: type, source: source, target: target, readOnly: readOnly, location: here)
    }

    /// `HOST[:CONTAINER[:PERMISSIONS]]`, or the long mapping Compose v2
    /// reads (`source`, `target`, `permissions`).
    mutating func device(_ node: Node) throws(ComposeError) -> ComposeDevice {
        let here = location(node)
        if let map = node.mapping {
            guard let sourceNode = map["source"] else { throw error(node, "a device in long syntax needs source:") }
            let source = try string(sourceNode)
            let target = try map["target"].map { (n: Node) throws(ComposeError) -> String in try string(n) } ?? source
            let permissions = try map["permissions"].map { (n: Node) throws(ComposeError) -> String in try string(n) } ?? "rwm"
            return ComposeDevice(hostPath: source, containerPath: target, permissions: permissions, location: here)
        }
        let text = try string(node)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts[0].isEmpty else {
            throw ComposeError(file: file, line: here.line, message: "device \(text): expected HOST[:CONTAINER[:PERMISSIONS]]")
        }
        return ComposeDevice(hostPath: parts[0], containerPath: parts.count > 1 ? parts[1] : parts[0],
                             permissions: parts.count > 2 ? parts[2] : "rwm", location: here)
    }

    func volumesFrom(_ item: Located<String>) -> ComposeVolumesFrom {
        var parts = item.value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count > 1, parts.last == "ro" || parts.last == "rw" { readOnly = parts.removeLast() == "ro" }
        let source: ComposeVolumesFrom.Source
        if parts.count == 2, parts[0] == "container" {
            source = .container(parts[1])
        } else if parts.count == 2, parts[0] == "service" {
            source = .service(parts[1])
        } else {
            source = .service(parts.joined(separator: ":"))
        }
        return ComposeVolumesFrom(source: source, readOnly: readOnly, location: item.location)
    }

    mutating func extends(_ node: Node) throws(ComposeError) -> ComposeExtends {
        if node.scalar != nil { return ComposeExtends(service: try string(node), file: nil, location: location(node)) }
        guard let map = node.mapping, let serviceNode = map["service"] else { throw error(node, "extends needs service:") }
        let file = try map["file"].map { (n: Node) throws(ComposeError) -> String in hostPath(try string(n)) }
        return ComposeExtends(service: try string(serviceNode), file: file, location: location(node))
    }

    /// An `include:` entry: a path, or `path:` (one or a list) with
    /// `project_directory:` and `env_file:`; relative paths against this
    /// file's project folder.
    mutating func include(_ node: Node) throws(ComposeError) -> ComposeInclude {
        if node.scalar != nil {
            return ComposeInclude(paths: [hostPath(try string(node))], projectDirectory: nil, envFiles: nil, location: location(node))
        }
        guard let map = node.mapping, let pathNode = map["path"] else { throw error(node, "an include needs path:") }
        let paths = try strings(pathNode).map { hostPath($0.value) }
        guard !paths.isEmpty else { throw error(pathNode, "an include needs path:") }
        let directory = try map["project_directory"].map { (n: Node) throws(ComposeError) -> String in hostPath(try string(n)) }
        let envFiles = try map["env_file"].map { (n: Node) throws(ComposeError) -> [String] in try strings(n).map { hostPath($0.value) } }
        return ComposeInclude(paths: paths, projectDirectory: directory, envFiles: envFiles, location: location(node))
    }

    mutating func volume(key: String, keyNode: Node, value: Node) throws(ComposeError) -> ComposeVolume {
        var v = ComposeVolume(key: key, engineName: "", driver: nil, driverOptions: [:], external: false,
                              location: location(keyNode))
        guard let map = value.mapping else { return v }  // `name:` with nothing: a plain local volume
        for (k, val) in map {
            switch try string(k) {
            case "driver": v.driver = try string(val)
            case "name": v.engineName = try string(val)
            case "driver_opts":
                guard let opts = val.mapping else { throw error(val, "driver_opts must be a mapping") }
                for (ok, ov) in opts { v.driverOptions[try string(ok)] = try string(ov) }
            case "external":
                if let ext = val.mapping {
                    v.external = true
                    if let n = ext["name"] { v.engineName = try string(n) }
                } else {
                    v.external = try bool(val)
                }
            default: continue
            }
        }
        return v
    }
}
