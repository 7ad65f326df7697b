import FoundationEssentials

/// A place in a configuration file: `/etc/systemd/system/docker.service.d/tcp.conf:3`.
public struct ConfigPlace: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    /// 1-based; 0 when the line could not be told.
    public var line: Int

    public init(path: String, line: Int) {
        self.path = path
        self.line = line
    }

    public var description: String { line > 0 ? "\(path):\(line)" : path }
}

/// One configuration file's text, named by the path it has on the host
/// (not the path it was read at under a fixture root).
public struct ConfigText: Sendable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// How a TCP listener of the engine is protected.
public enum EngineTLS: String, Sendable {
    /// Plain HTTP: anyone who reaches the port owns the host.
    case none
    /// TLS without client verification: encrypted, but any client is let in.
    case noVerify = "no-verify"
    /// `--tlsverify`: only clients with a certificate the engine trusts.
    case verified
}

/// An engine TCP listener found in its configuration that lets unverified
/// clients in.
public struct EngineListenerFinding: Hashable, Sendable {
    /// As dockerd resolves it: `tcp://0.0.0.0:2375`, `tcp://localhost:2375`.
    public var address: String
    public var tls: EngineTLS
    /// Bound to loopback only: still every local user's and every
    /// host-network container's way to the host.
    public var isLoopback: Bool
    public var place: ConfigPlace

    public init(address: String, tls: EngineTLS, isLoopback: Bool, place: ConfigPlace) {
        self.address = address
        self.tls = tls
        self.isLoopback = isLoopback
        self.place = place
    }
}

/// The engine's unit as systemd merges it from the unit file and its drop-ins:
/// the effective `ExecStart=` commands (split into words, each with the line
/// it was written on), the `Environment=` variables and the `EnvironmentFile=`
/// paths. Only the `[Service]` section counts.
public struct EngineUnit: Sendable {
    public struct Word: Sendable {
        public var text: String
        public var place: ConfigPlace
    }

    public var commands: [[Word]] = []
    public var environment: [String: Word] = [:]
    /// Host paths, without systemd's `-` (missing is fine) prefix.
    public var environmentFiles: [String] = []

    public init() {}

    /// `files`: the unit file first, then its drop-ins in the order systemd
    /// applies them. An empty `ExecStart=` drops the commands set so far.
    public init(files: [ConfigText]) {
        for file in files {
            for setting in Self.serviceSettings(file) {
                switch setting.key {
                case "ExecStart":
                    let words = Self.words(setting.value, place: setting.place)
                    if words.isEmpty {
                        commands = []
                    } else {
                        commands.append(Self.droppingExecPrefixes(words))
                    }
                case "Environment":
                    for word in Self.words(setting.value, place: setting.place) {
                        guard let eq = word.text.firstIndex(of: "=") else { continue }
                        environment[String(word.text[..<eq])] = Word(text: String(word.text[word.text.index(after: eq)...]),
                                                                     place: word.place)
                    }
                case "EnvironmentFile":
                    let value = setting.value.trimmingBlanks()
                    if value.isEmpty {
                        environmentFiles = []
                    } else {
                        environmentFiles.append(value.hasPrefix("-") ? String(value.dropFirst()) : value)
                    }
                default:
                    break
                }
            }
        }
    }

    /// `Environment=` with the variables of the `EnvironmentFile=`s (read by
    /// the caller) laid over it, in systemd's order: files win.
    public func environment(with files: [ConfigText]) -> [String: Word] {
        var out = environment
        for file in files {
            for (name, value) in Self.environmentFileVariables(file) { out[name] = value }
        }
        return out
    }

    /// The commands with `$VAR` and `${VAR}` replaced: an unquoted variable
    /// becomes as many words as its value has (Debian's `$DOCKER_OPTS`), each
    /// placed where the variable was set.
    public func expandedCommands(environment: [String: Word]) -> [[Word]] {
        commands.map { command in
            command.flatMap { word -> [Word] in
                guard let name = Self.variableName(word.text) else { return [word] }
                guard let value = environment[name] else { return [] }
                return Self.words(value.text, place: value.place)
            }
        }
    }

    // MARK: Unit file syntax

    struct Setting {
        var key: String
        var value: String
        var place: ConfigPlace
    }

    /// `Key=value` lines of the `[Service]` section, continuation lines
    /// (a trailing backslash) joined, comments (`#`, `;`) left out, also
    /// inside a continued value, as systemd does.
    static func serviceSettings(_ file: ConfigText) -> [Setting] {
        var out: [Setting] = []
        var section = ""
        var pending: Setting?
        for (index, raw) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingBlanks()
            if var continued = pending {
                if line.hasPrefix("#") || line.hasPrefix(";") { continue }
                let (text, goesOn) = Self.continuation(line)
                continued.value += " " + text
                if goesOn { pending = continued } else {
                    pending = nil
                    out.append(continued)
                }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                section = line
                continue
            }
            guard section == "[Service]", let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingBlanks()
            let (value, goesOn) = Self.continuation(line[line.index(after: eq)...].trimmingBlanks())
            let setting = Setting(key: key, value: value, place: ConfigPlace(path: file.path, line: index + 1))
            if goesOn { pending = setting } else { out.append(setting) }
        }
        if let pending { out.append(pending) }
        return out
    }

    private static func continuation(_ line: String) -> (text: String, goesOn: Bool) {
        line.hasSuffix("\\") ? (String(line.dropLast()), true) : (line, false)
    }

    /// systemd's word splitting: whitespace separates, single and double
    /// quotes group, a backslash escapes the next character.
    static func words(_ text: String, place: ConfigPlace) -> [Word] {
        var out: [Word] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in text {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
                inWord = true
            } else if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
                inWord = true
            } else if ch == " " || ch == "\t" {
                if inWord { out.append(Word(text: current, place: place)) }
                current = ""
                inWord = false
            } else {
                current.append(ch)
                inWord = true
            }
        }
        if inWord { out.append(Word(text: current, place: place)) }
        return out
    }

    /// `-`, `@`, `+`, `!`, `!!` and `:` before the program only change how
    /// systemd runs it.
    private static func droppingExecPrefixes(_ words: [Word]) -> [Word] {
        guard var first = words.first else { return words }
        first.text = String(first.text.drop { "-@+!:".contains($0) })
        return [first] + words.dropFirst()
    }

    /// `NAME` of a whole word `$NAME` or `${NAME}`.
    private static func variableName(_ word: String) -> String? {
        guard word.hasPrefix("$") else { return nil }
        var name = word.dropFirst()
        if name.hasPrefix("{") {
            guard name.hasSuffix("}") else { return nil }
            name = name.dropFirst().dropLast()
        }
        guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) else { return nil }
        return String(name)
    }

    /// `NAME=value` lines of an environment file (`/etc/default/docker`):
    /// comments, `export ` and surrounding quotes as shells write them.
    static func environmentFileVariables(_ file: ConfigText) -> [(String, Word)] {
        var out: [(String, Word)] = []
        for (index, raw) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingBlanks()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingBlanks() }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let name = String(line[..<eq])
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            out.append((name, Word(text: value, place: ConfigPlace(path: file.path, line: index + 1))))
        }
        return out
    }
}

/// The engine's TCP listeners without client verification, from its unit
/// (with drop-ins and environment files) and its `daemon.json`. Pure: the
/// caller reads the files.
public enum EngineListeners {
    /// `daemon.json` is not an object of JSON: dockerd would refuse to start
    /// with it, and what it sets cannot be told.
    public struct MalformedJSON: Error, Sendable {
        public var path: String
        public var reason: String
    }

    public struct Report: Sendable {
        public var findings: [EngineListenerFinding] = []
        /// Files that exist but could not be taken in (unparsable JSON).
        public var malformed: [MalformedJSON] = []
    }

    public static func report(unit: EngineUnit, environmentFiles: [ConfigText], daemonJSON: ConfigText?) -> Report {
        var report = Report()
        let environment = unit.environment(with: environmentFiles)
        var flags = EngineFlags()
        // dockerd takes DOCKER_TLS_VERIFY from its environment as the
        // default of --tlsverify.
        if let verify = environment["DOCKER_TLS_VERIFY"], !verify.text.isEmpty { flags.tlsVerify = true }
        for command in unit.expandedCommands(environment: environment) where isDockerd(command.first?.text) {
            flags.take(Array(command.dropFirst()))
        }
        var json = DaemonJSON()
        if let daemonJSON {
            do { json = try DaemonJSON(daemonJSON) } catch { report.malformed.append(error) }
        }
        let tls: EngineTLS
        if flags.tlsVerify ?? json.tlsVerify ?? false {
            tls = .verified
        } else if flags.tls ?? json.tls ?? false {
            tls = .noVerify
        } else {
            tls = .none
        }
        guard tls != .verified else { return report }
        for host in flags.hosts + json.hosts {
            guard let listener = tcpListener(host.text, tls: tls) else { continue }
            let finding = EngineListenerFinding(address: listener.address, tls: tls, isLoopback: listener.isLoopback,
                                                place: host.place)
            if !report.findings.contains(finding) { report.findings.append(finding) }
        }
        return report
    }

    /// Where dockerd reads its `daemon.json`: `--config-file` on its
    /// command line, else `/etc/docker/daemon.json`.
    public static func daemonJSONPath(unit: EngineUnit, environmentFiles: [ConfigText]) -> String {
        var flags = EngineFlags()
        for command in unit.expandedCommands(environment: unit.environment(with: environmentFiles))
        where isDockerd(command.first?.text) {
            flags.take(Array(command.dropFirst()))
        }
        return flags.configFile ?? "/etc/docker/daemon.json"
    }

    /// The program is dockerd (by any path); a wrapper such as `env` or a
    /// shell script is not read into.
    private static func isDockerd(_ program: String?) -> Bool {
        guard let program else { return false }
        return program.split(separator: "/").last == "dockerd"
    }

    /// `tcp://host:port` as dockerd resolves it, or nil for `unix://`,
    /// `fd://`, `npipe://` and other non-TCP hosts. A host without a scheme
    /// (`0.0.0.0:2375`, not a path) is TCP to dockerd; a missing host is `localhost`, a missing port 2375
    /// (2376 with TLS).
    public static func tcpListener(_ text: String, tls: EngineTLS) -> (address: String, isLoopback: Bool)? {
        let trimmed = text.trimmingBlanks()
        var rest: Substring
        if let scheme = trimmed.firstRange(of: "://") {
            guard trimmed[..<scheme.lowerBound].lowercased() == "tcp" else { return nil }
            rest = trimmed[scheme.upperBound...]
        } else {
            // A bare path is no TCP address: dockerd refuses it and does not start.
            guard !trimmed.isEmpty, !trimmed.hasPrefix("/") else { return nil }
            rest = Substring(trimmed)
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host: Substring
        var port: Substring = ""
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        let resolvedHost = host.isEmpty ? "localhost" : String(host)
        let resolvedPort = port.isEmpty ? (tls == .none ? "2375" : "2376") : String(port)
        let shownHost = resolvedHost.contains(":") ? "[\(resolvedHost)]" : resolvedHost
        return ("tcp://\(shownHost):\(resolvedPort)", isLoopback(resolvedHost))
    }

    static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        return lower == "localhost" || lower.hasSuffix(".localhost") || lower == "::1" || lower == "0:0:0:0:0:0:0:1"
            || lower.hasPrefix("127.")
    }
}

/// What dockerd's command line sets about listening.
struct EngineFlags {
    var hosts: [EngineUnit.Word] = []
    var tls: Bool?
    var tlsVerify: Bool?
    var configFile: String?

    /// pflag's forms: `-H x`, `-Hx`, `-H=x`, `-DH x` (boolean shorthands
    /// before it), `--host x`, `--host=x`; `--tls`, `--tls=false`,
    /// `--tlsverify`, `--tlsverify=true`.
    mutating func take(_ args: [EngineUnit.Word]) {
        var i = 0
        func value(inline: Substring, at index: Int) -> (EngineUnit.Word, consumed: Int)? {
            if !inline.isEmpty {
                let text = inline.hasPrefix("=") ? inline.dropFirst() : inline
                return (EngineUnit.Word(text: String(text), place: args[index].place), 0)
            }
            guard index + 1 < args.count else { return nil }
            return (args[index + 1], 1)
        }
        while i < args.count {
            let arg = args[i].text
            if arg == "--" { break }
            if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                let inline = body.contains("=") ? body[body.index(after: body.firstIndex(of: "=")!)...] : nil
                switch name {
                case "host":
                    if let inline {
                        hosts.append(EngineUnit.Word(text: String(inline), place: args[i].place))
                    } else if let (word, used) = value(inline: "", at: i) {
                        hosts.append(word)
                        i += used
                    }
                case "config-file":
                    if let inline {
                        configFile = String(inline)
                    } else if let (word, used) = value(inline: "", at: i) {
                        configFile = word.text
                        i += used
                    }
                case "tls": tls = Self.bool(inline)
                case "tlsverify": tlsVerify = Self.bool(inline)
                default: break
                }
            } else if arg.hasPrefix("-"), arg.count > 1 {
                // Shorthand booleans (only -D among dockerd's) may precede H.
                let cluster = arg.dropFirst().drop { $0 == "D" }
                if cluster.hasPrefix("H"), let (word, used) = value(inline: cluster.dropFirst(), at: i) {
                    hosts.append(word)
                    i += used
                }
            }
            i += 1
        }
    }

    /// pflag's booleans: bare means true; `=false`, `=0`, `=f` mean false.
    private static func bool(_ inline: Substring?) -> Bool {
        guard let inline else { return true }
        return !["false", "0", "f", "FALSE", "False", "F"].contains(String(inline))
    }
}

/// What `daemon.json` sets about listening.
struct DaemonJSON {
    var hosts: [EngineUnit.Word] = []
    var tls: Bool?
    var tlsVerify: Bool?

    init() {}

    init(_ file: ConfigText) throws(EngineListeners.MalformedJSON) {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(file.text.utf8))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw EngineListeners.MalformedJSON(path: file.path, reason: "not a JSON object")
        } catch {
            throw EngineListeners.MalformedJSON(path: file.path, reason: "not valid JSON")
        }
        let lines = file.text.split(separator: "\n", omittingEmptySubsequences: false)
        // The decoder keeps no positions: a host is placed on the
        // first line that has it quoted, else on the line of "hosts".
        func line(of needle: String) -> Int {
            (lines.firstIndex { $0.contains(needle) }).map { $0 + 1 } ?? 0
        }
        if let hosts = wire.hosts {
            let hostsLine = line(of: "\"hosts\"")
            self.hosts = hosts.map { host in
                let at = line(of: "\"\(host)\"")
                return EngineUnit.Word(text: host, place: ConfigPlace(path: file.path, line: at > 0 ? at : hostsLine))
            }
        }
        tls = wire.tls
        tlsVerify = wire.tlsverify
    }

    /// The keys read; one of another type than dockwardd expects is left
    /// out, as dockerd would refuse it at its own start.
    struct Wire: Decodable {
        var hosts: [String]?
        var tls: Bool?
        var tlsverify: Bool?

        enum Key: String, CodingKey { case hosts, tls, tlsverify }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            hosts = try? c.decodeIfPresent([String].self, forKey: .hosts)
            tls = try? c.decodeIfPresent(Bool.self, forKey: .tls)
            tlsverify = try? c.decodeIfPresent(Bool.self, forKey: .tlsverify)
        }
    }
}
