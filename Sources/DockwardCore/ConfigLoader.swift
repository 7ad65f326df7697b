import Yams

/// One problem in a config file, located as precisely as the parser allows.
public struct ConfigIssue: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// Dotted path of the key, e.g. `pids.warn_ratio` or `overrides[2].match.name`.
    public var key: String
    public var message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
    }
}

/// All problems found in a config file; `run` refuses to start on any.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public init(_ issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Strict YAML decoding: unknown keys, wrong types and out-of-range values are
/// errors naming file, line and key. Every problem is collected, not just the
/// first, so one `check-config` run shows them all.
public enum ConfigLoader {
    /// Config files are small; anything larger is a mistake (or an attack on
    /// the parser), refused before parsing.
    public static let maxBytes = 1 << 20

    public static func parse(bytes: [UInt8], file: String) throws(ConfigError) -> DockwardConfig {
        guard bytes.count <= maxBytes else {
            throw ConfigError([ConfigIssue(file: file, line: 1, key: "",
                                           message: "file is \(bytes.count) bytes; the limit is \(maxBytes)")])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let line = firstInvalidUTF8Line(bytes)
            throw ConfigError([ConfigIssue(file: file, line: line, key: "", message: "not valid UTF-8 text")])
        }
        return try parse(text, file: file)
    }

    /// At most this many problems are listed; a file with more is mostly
    /// noise, and the list goes into one journal entry on reload.
    public static let maxIssues = 50

    public static func parse(_ text: String, file: String) throws(ConfigError) -> DockwardConfig {
        // Anchors and aliases are refused before the parser sees them: a
        // config has no use for them, and "billion laughs" expands a few
        // hundred bytes into billions of nodes (for hashing, for walking).
        if let line = firstAnchorOrAliasLine(text) {
            throw ConfigError([ConfigIssue(file: file, line: line, key: "",
                                           message: "YAML anchors and aliases (&name, *name) are not supported here")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, _) {
            let names = duplicates.sorted()
            // Yams' own choice of line is not stable between runs; find one.
            throw ConfigError([ConfigIssue(file: file, line: firstKeyLine(names, in: text) ?? firstComplexKeyLine(text) ?? 1,
                                           key: names.joined(separator: ", "), message: "given twice in one mapping")])
        } catch let error as YamlError {
            throw ConfigError([ConfigIssue(file: file, line: yamlErrorLine(error), key: "",
                                           message: "not valid YAML: \(yamlErrorProblem(error))")])
        } catch {
            throw ConfigError([ConfigIssue(file: file, line: 1, key: "", message: "not valid YAML: \(error)")])
        }
        var reader = Reader(file: file)
        var config = DockwardConfig()
        if let root { reader.readRoot(root, into: &config) }
        if !reader.issues.isEmpty {
            var issues = Array(reader.issues.prefix(maxIssues))
            if reader.issues.count > maxIssues, let last = issues.last {
                issues.append(ConfigIssue(file: file, line: last.line, key: "",
                                          message: "and \(reader.issues.count - maxIssues) more problems"))
            }
            throw ConfigError(issues)
        }
        return config
    }

    /// The line of the first `&anchor` or `*alias` outside quotes and
    /// comments, where YAML would read one: at the start of a node (after
    /// whitespace, `[`, `{` or `,`) and followed by a name.
    static func firstAnchorOrAliasLine(_ text: String) -> Int? {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var quote: Character?
            var previous: Character = " "
            var index = line.startIndex
            while index < line.endIndex {
                let c = line[index]
                let next = line.index(after: index)
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    if " \t[{,:".contains(previous) { quote = c }
                } else if c == "#" && (previous == " " || previous == "\t" || index == line.startIndex) {
                    break
                } else if (c == "&" || c == "*") && " \t[{,".contains(previous), next < line.endIndex,
                          !" \t,]}".contains(line[next]) {
                    return lineNumber
                }
                previous = c
                index = next
            }
        }
        return nil
    }

    /// The first `? key` (a complex mapping key) line, for duplicates that
    /// are not plain words.
    static func firstComplexKeyLine(_ text: String) -> Int? {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("?") { return lineNumber }
        }
        return nil
    }

    /// The first line where one of `keys` stands as a plain mapping key, so
    /// a duplicate is reported at the same line every run (the parser's own
    /// choice between the duplicates is not stable).
    static func firstKeyLine(_ keys: [String], in text: String) -> Int? {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" || $0 == "-" })
            for key in keys where trimmed.hasPrefix(key) {
                let rest = trimmed.dropFirst(key.count).drop(while: { $0 == " " })
                if rest.hasPrefix(":") { return lineNumber }
            }
        }
        return nil
    }

    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int {
        var line = 1
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            if String(validating: bytes[start..<i], as: UTF8.self) == nil { return line }
            line += 1
            start = i + 1
        }
        return line
    }

    static func yamlErrorLine(_ error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return 1
        }
    }

    static func yamlErrorProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "parse error"
        }
    }
}

/// Walks the composed YAML tree. Each `read...` records an issue and leaves
/// the default in place when a value is wrong.
private struct Reader {
    let file: String
    var issues: [ConfigIssue] = []

    mutating func issue(_ node: Node?, _ key: String, _ message: String) {
        issues.append(ConfigIssue(file: file, line: node?.mark?.line ?? 1, key: key, message: message))
    }

    /// Visits each entry of a mapping, flagging duplicate and unknown keys.
    mutating func entries(_ node: Node, _ path: String, known: [String],
                          _ visit: (inout Reader, String, Node, String) -> Void) {
        guard let mapping = node.mapping else {
            issue(node, path, "expected a mapping of keys (\(known.joined(separator: ", ")))")
            return
        }
        var seen = Set<String>()
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                issue(keyNode, path, "keys must be plain words")
                continue
            }
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                issue(keyNode, full, "unknown key; expected one of: \(known.joined(separator: ", "))")
                continue
            }
            guard seen.insert(key).inserted else {
                issue(keyNode, full, "given twice")
                continue
            }
            visit(&self, key, value, full)
        }
    }

    mutating func readRoot(_ root: Node, into config: inout DockwardConfig) {
        if case .scalar(let s) = root, s.string.isEmpty || s.tag.rawValue.hasSuffix("null") { return }
                var hostControlKey: String?
        entries(root, "", known: ["cgroup", "docker", "pids", "alerts", "overrides", "host_control", "socket_watch", "metrics", "actions"]) { r, key, value, path in
            switch key {
            case "cgroup":
                r.entries(value, path, known: ["root"]) { r, _, v, p in
                    if let s = r.absolutePath(v, p) { config.cgroupRoot = s }
                }
            case "docker":
                r.entries(value, path, known: ["socket"]) { r, _, v, p in
                    if let s = r.absolutePath(v, p) { config.dockerSocket = s }
                }
            case "pids": r.readPids(value, path, into: &config)
            case "alerts":
                r.entries(value, path, known: ["repeat_interval", "recover_after"]) { r, k, v, p in
                    guard let d = r.positiveInterval(v, p) else { return }
                    if k == "repeat_interval" { config.repeatInterval = d } else { config.recoverAfter = d }
                }
            case "overrides": r.readOverrides(value, path, into: &config)
            case "host_control", "socket_watch":
                // socket_watch is the section's first name, still read.
                if let first = hostControlKey {
                    r.issue(value, path, "\(first) is given too; they are one section (socket_watch is its old name)")
                    return
                }
                hostControlKey = key
                r.readHostControl(value, path, into: &config)
            case "actions":
                if r.isNull(value) { return }
                if let a = r.readActions(value, path) { config.actions = a.applied(to: config.actions) }
            case "metrics":
                r.entries(value, path, known: ["listen"]) { r, _, v, p in
                    if r.isNull(v) { config.metricsListen = nil; return }
                    guard let s = r.scalar(v, p, expected: ListenAddress.expected) else { return }
                    if s.isEmpty || s == "off" { config.metricsListen = nil; return }
                    guard ListenAddress(s) != nil else {
                        r.issue(v, p, "expected \(ListenAddress.expected) with a port from 1 to 65535, got \"\(s)\"")
                        return
                    }
                    config.metricsListen = s
                }
            default: break
            }
        }
    }

    mutating func readPids(_ node: Node, _ path: String, into config: inout DockwardConfig) {
        let known = ["poll_interval", "warn_ratio", "critical_ratio", "high_for", "unlimited",
                     "forecast_horizon", "forecast_window"]
        var warnNode: Node?
        var critNode: Node?
        entries(node, path, known: known) { r, key, v, p in
            switch key {
            case "poll_interval":
                if let d = r.positiveInterval(v, p) {
                    // Below 100ms the daemon would spend more on reading than the
                    // kernel spends on the counters' changes; above 1m a fork bomb
                    // goes unreported for too long.
                    if d < .milliseconds(100) || d > .minutes(1) {
                        r.issue(v, p, "must be between 100ms and 1m, got \(d)")
                    } else {
                        config.pollInterval = d
                    }
                }
            case "warn_ratio": if let x = r.ratio(v, p) { config.pids.warnRatio = x; warnNode = v }
            case "critical_ratio": if let x = r.ratio(v, p) { config.pids.criticalRatio = x; critNode = v }
            case "high_for": if let d = r.interval(v, p) { config.pids.highFor = d }
            case "unlimited": if let u = r.unlimitedAction(v, p) { config.pids.unlimited = u }
            case "forecast_horizon": if let d = r.positiveInterval(v, p) { config.pids.forecastHorizon = d }
            case "forecast_window":
                if let d = r.positiveInterval(v, p) {
                    if d < .seconds(5) || d > .minutes(30) {
                        r.issue(v, p, "must be between 5s and 30m, got \(d)")
                    } else {
                        config.pids.forecastWindow = d
                    }
                }
            default: break
            }
        }
        if config.pids.warnRatio > config.pids.criticalRatio {
            issue(warnNode ?? critNode, "\(path).warn_ratio",
                  "must not be above critical_ratio (\(config.pids.warnRatio) > \(config.pids.criticalRatio))")
        }
    }

    mutating func readOverrides(_ node: Node, _ path: String, into config: inout DockwardConfig) {
        guard let seq = node.sequence else {
            if !isNull(node) { issue(node, path, "expected a list of rules") }
            return
        }
        for (i, item) in seq.enumerated() {
            let p = "\(path)[\(i)]"
            var rule = DockwardConfig.Override(match: ContainerMatcher(), line: item.mark?.line ?? 0)
            var sawMatch = false
            entries(item, p, known: ["match", "warn_ratio", "critical_ratio", "high_for", "unlimited",
                                     "forecast_horizon", "ignore", "actions"]) { r, key, v, kp in
                switch key {
                case "match": sawMatch = true; if let m = r.matcher(v, kp) { rule.match = m }
                case "warn_ratio": rule.warnRatio = r.ratio(v, kp)
                case "critical_ratio": rule.criticalRatio = r.ratio(v, kp)
                case "high_for": rule.highFor = r.interval(v, kp)
                case "unlimited": rule.unlimited = r.unlimitedAction(v, kp)
                case "forecast_horizon": rule.forecastHorizon = r.positiveInterval(v, kp)
                case "ignore": rule.ignore = r.bool(v, kp)
                case "actions": rule.actions = r.readActions(v, kp)
                default: break
                }
            }
            if !sawMatch && item.mapping != nil { issue(item, "\(p).match", "every rule needs a match") }
            let warn = rule.warnRatio ?? config.pids.warnRatio
            let crit = rule.criticalRatio ?? config.pids.criticalRatio
            if warn > crit {
                issue(item, "\(p).warn_ratio", "must not be above critical_ratio (\(warn) > \(crit))")
            }
            config.overrides.append(rule)
        }
    }

    /// The keys of an `actions:` mapping, top level or in an override; only
    /// the keys given are set.
    mutating func readActions(_ node: Node, _ path: String) -> ActionsOverride? {
        var a = ActionsOverride()
        entries(node, path, known: ["enabled", "dry_run", "cap_unlimited", "on_exhausted", "exhausted_for"]) { r, key, v, p in
            switch key {
            case "enabled": a.enabled = r.bool(v, p)
            case "dry_run": a.dryRun = r.bool(v, p)
            case "cap_unlimited": a.capUnlimited = r.pidsLimit(v, p)
            case "on_exhausted":
                guard let s = r.scalar(v, p, expected: "none, pause, stop or kill") else { return }
                guard let x = ActionsPolicy.OnExhausted(rawValue: s) else {
                    r.issue(v, p, "expected none, pause, stop or kill, got \"\(s)\"")
                    return
                }
                a.onExhausted = x
            case "exhausted_for": a.exhaustedFor = r.positiveInterval(v, p)
            default: break
            }
        }
        return node.mapping != nil ? a : nil
    }

    /// The largest pids limit the kernel takes (PID_MAX_LIMIT on 64-bit).
    static let maxPidsLimit: Int64 = 4_194_304

    mutating func pidsLimit(_ node: Node, _ path: String) -> Int64? {
        guard let s = scalar(node, path, expected: "a whole number of tasks (0 = off)") else { return nil }
        guard let n = Int64(s) else {
            issue(node, path, "expected a whole number of tasks (0 = off), got \"\(s)\"")
            return nil
        }
        guard n >= 0 && n <= Reader.maxPidsLimit else {
            issue(node, path, "must be from 0 (off) to \(Reader.maxPidsLimit), got \(n)")
            return nil
        }
        return n
    }

    mutating func readHostControl(_ node: Node, _ path: String, into config: inout DockwardConfig) {
        entries(node, path, known: ["protect", "allow", "resync_interval", "checks", "engine_config_root"]) { r, key, v, p in
            switch key {
            case "protect":
                guard let seq = v.sequence else { r.issue(v, p, "expected a list of socket paths"); return }
                var paths: [String] = []
                for (i, item) in seq.enumerated() {
                    if let s = r.absolutePath(item, "\(p)[\(i)]") { paths.append(s) }
                }
                config.hostControl.protect = paths
            case "allow":
                guard let seq = v.sequence else {
                    if !r.isNull(v) { r.issue(v, p, "expected a list of match rules") }
                    return
                }
                config.hostControl.allow = seq.enumerated().compactMap { i, item in r.matcher(item, "\(p)[\(i)]") }
            case "resync_interval":
                if let d = r.positiveInterval(v, p) { config.hostControl.resyncInterval = d }
            case "checks":
                r.entries(v, p, known: ["privileged", "host_pid", "engine_state", "block_devices", "engine_tcp"]) { r, k, v, p in
                    guard let on = r.bool(v, p) else { return }
                    switch k {
                    case "privileged": config.hostControl.checks.privileged = on
                    case "host_pid": config.hostControl.checks.hostPID = on
                    case "engine_state": config.hostControl.checks.engineState = on
                    case "block_devices": config.hostControl.checks.blockDevices = on
                    default: config.hostControl.checks.engineTCP = on
                    }
                }
            case "engine_config_root":
                if let s = r.absolutePath(v, p) { config.hostControl.engineConfigRoot = s }
            default: break
            }
        }
    }

    // MARK: - Values

    mutating func matcher(_ node: Node, _ path: String) -> ContainerMatcher? {
        var m = ContainerMatcher()
        var ok = true
        entries(node, path, known: ["name", "image", "label", "labels"]) { r, key, v, p in
            switch key {
            case "name": m.name = r.nonEmptyString(v, p)
            case "image": m.image = r.nonEmptyString(v, p)
            case "label":
                if let s = r.nonEmptyString(v, p) { m.labels.append(Reader.labelCriterion(s)) }
            case "labels":
                guard let seq = v.sequence else { r.issue(v, p, "expected a list of KEY or KEY=VALUE"); ok = false; return }
                for (i, item) in seq.enumerated() {
                    if let s = r.nonEmptyString(item, "\(p)[\(i)]") { m.labels.append(Reader.labelCriterion(s)) }
                }
            default: break
            }
        }
        if node.mapping != nil && m.isEmpty {
            issue(node, path, "needs at least one of name, image, label")
            ok = false
        }
        return ok && node.mapping != nil ? m : nil
    }

    static func labelCriterion(_ s: String) -> ContainerMatcher.LabelCriterion {
        if let eq = s.firstIndex(of: "=") {
            return .init(key: String(s[..<eq]), value: String(s[s.index(after: eq)...]))
        }
        return .init(key: s, value: nil)
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node else { return false }
        return s.tag.rawValue.hasSuffix("null") || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string))
    }

    mutating func scalar(_ node: Node, _ path: String, expected: String) -> String? {
        guard case .scalar(let s) = node, !isNull(node) else {
            issue(node, path, "expected \(expected)")
            return nil
        }
        return s.string
    }

    mutating func nonEmptyString(_ node: Node, _ path: String) -> String? {
        guard let s = scalar(node, path, expected: "a string") else { return nil }
        if s.isEmpty { issue(node, path, "must not be empty"); return nil }
        return s
    }

    mutating func absolutePath(_ node: Node, _ path: String) -> String? {
        guard let s = scalar(node, path, expected: "an absolute path") else { return nil }
        guard s.hasPrefix("/"), !s.contains("\0"), !s.contains("\n") else {
            issue(node, path, "expected an absolute path, got \"\(s)\"")
            return nil
        }
        return s
    }

    mutating func ratio(_ node: Node, _ path: String) -> Double? {
        guard let s = scalar(node, path, expected: "a number in (0, 1]") else { return nil }
        guard let x = Double(s), x.isFinite else { issue(node, path, "expected a number in (0, 1], got \"\(s)\""); return nil }
        guard x > 0 && x <= 1 else { issue(node, path, "must be in (0, 1], got \(s)"); return nil }
        return x
    }

    mutating func interval(_ node: Node, _ path: String) -> Interval? {
        guard let s = scalar(node, path, expected: "a duration like 500ms, 1s, 5m") else { return nil }
        guard let d = Interval(text: s) else {
            issue(node, path, "expected a duration like 500ms, 1s, 5m, got \"\(s)\"")
            return nil
        }
        return d
    }

    mutating func positiveInterval(_ node: Node, _ path: String) -> Interval? {
        guard let d = interval(node, path) else { return nil }
        guard d.nanoseconds > 0 else { issue(node, path, "must be greater than 0"); return nil }
        return d
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard let s = scalar(node, path, expected: "true or false") else { return nil }
        switch s {
        case "true": return true
        case "false": return false
        default: issue(node, path, "expected true or false, got \"\(s)\""); return nil
        }
    }

    mutating func unlimitedAction(_ node: Node, _ path: String) -> PidsPolicy.UnlimitedAction? {
        guard let s = scalar(node, path, expected: "warn or ignore") else { return nil }
        guard let a = PidsPolicy.UnlimitedAction(rawValue: s) else {
            issue(node, path, "expected warn or ignore, got \"\(s)\"")
            return nil
        }
        return a
    }
}
