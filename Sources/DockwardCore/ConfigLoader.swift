import DockwardYAML

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
/// first, so one `check-config` run shows them all, in the order of their lines.
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
            root = try DockwardYAML.compose(yaml: text)
        } catch .duplicatedKeysInMapping(let duplicates, _) {
            let names = duplicates.sorted()
            throw ConfigError([ConfigIssue(file: file, line: firstKeyLine(names, in: text) ?? firstComplexKeyLine(text) ?? 1,
                                           key: names.joined(separator: ", "), message: "given twice in one mapping")])
        } catch {
            throw ConfigError([ConfigIssue(file: file, line: yamlErrorLine(error), key: "",
                                           message: "not valid YAML: \(yamlErrorProblem(error))")])
        }
        // The whole file is read first, then checked as one policy: a check
        // across keys sees every section, whatever their order.
        var reader = ConfigReader(file: file)
        var config = DockwardConfig()
        if let root { reader.readRoot(root, into: &config) }
        let found = (reader.issues + ConfigValidation.issues(in: config, lines: reader.lines, file: file))
            .enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        if !found.isEmpty {
            var issues = Array(found.prefix(maxIssues))
            if found.count > maxIssues, let last = issues.last {
                issues.append(ConfigIssue(file: file, line: last.line, key: "",
                                          message: "and \(found.count - maxIssues) more problems"))
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
    /// a duplicate is reported at a line (DockwardYAML names the duplicated
    /// keys, in written order, but not where they stand).
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
