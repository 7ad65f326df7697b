import DockwardYAML

/// Walks the composed YAML tree. Each `read...` records an issue and leaves
/// the default in place when a value is wrong. Which keys a mapping takes,
/// and how each value is read, come from `ConfigTable`; the reader only
/// walks. Checks that involve more than one key wait for the whole file
/// (`ConfigValidation`), so the order of sections can't change them.
struct ConfigReader {
    let file: String
    var issues: [ConfigIssue] = []
    /// The line of each key that was read successfully, by its dotted path
    /// (`pids.warn_ratio`, `overrides[2].critical_ratio`), for the checks
    /// across keys.
    var lines: [String: Int] = [:]

    init(file: String) { self.file = file }

    mutating func issue(_ node: Node?, _ key: String, _ message: String) {
        issues.append(ConfigIssue(file: file, line: node?.mark?.line ?? 1, key: key, message: message))
    }

    /// Visits each entry of a mapping, flagging duplicate and unknown keys.
    mutating func entries(_ node: Node, _ path: String, known: [String],
                          _ visit: (inout ConfigReader, String, Node, String) -> Void) {
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

    mutating func noteRead(_ node: Node, _ path: String) {
        lines[path] = node.mark?.line ?? 1
    }

    mutating func readRoot(_ root: Node, into config: inout DockwardConfig) {
        if case .scalar(let s) = root, s.string.isEmpty || s.tag.rawValue.hasSuffix("null") { return }
        var known = ConfigTable.children(of: "")
        for alias in ConfigTable.sectionAliases {
            known.insert(alias.old, at: (known.firstIndex(of: alias.current) ?? known.count - 1) + 1)
        }
        var sectionGiven: [String: String] = [:]
        entries(root, "", known: known) { r, key, value, path in
            let section = ConfigTable.sectionAliases.first { $0.old == key }?.current ?? key
            if let first = sectionGiven[section] {
                let old = ConfigTable.sectionAliases.first { $0.current == section }?.old ?? section
                r.issue(value, path, "\(first) is given too; they are one section (\(old) is its old name)")
                return
            }
            sectionGiven[section] = key
            if ConfigTable.sectionsThatMayBeEmpty.contains(section) && r.isNull(value) { return }
            r.read(value, tablePath: section, path: path, into: &config)
        }
    }

    /// Reads a key of the table, or a mapping of them, at `tablePath` (its
    /// name in the table) written at `path` (its name in the file: an old
    /// section name stays in messages).
    mutating func read(_ node: Node, tablePath: String, path: String, into config: inout DockwardConfig) {
        if let row = ConfigTable.rowsByKey[tablePath] {
            if row.read(&self, node, path, into: &config) { noteRead(node, path) }
            return
        }
        entries(node, path, known: ConfigTable.children(of: tablePath)) { r, key, value, full in
            r.read(value, tablePath: "\(tablePath).\(key)", path: full, into: &config)
        }
    }

    /// The rules of `overrides:`, each with the keys the table lets a rule set.
    mutating func readOverrides(_ node: Node, _ path: String) -> [DockwardConfig.Override]? {
        guard let seq = node.sequence else {
            if !isNull(node) { issue(node, path, "expected a list of rules") }
            return nil
        }
        let ruleRows = Dictionary(uniqueKeysWithValues: ConfigTable.rows.compactMap { row in row.overrideKey.map { ($0, row) } })
        var rules: [DockwardConfig.Override] = []
        for (i, item) in seq.enumerated() {
            let p = "\(path)[\(i)]"
            var rule = DockwardConfig.Override(match: ContainerMatcher(), line: item.mark?.line ?? 0)
            var sawMatch = false
            entries(item, p, known: ConfigTable.ruleKeys) { r, key, v, kp in
                switch key {
                case ConfigTable.ruleMatchKey: sawMatch = true; if let m = r.matcher(v, kp) { rule.match = m }
                case ConfigTable.ruleIgnoreKey: rule.ignore = ConfigValueKind<Bool>.bool.read(&r, v, kp)
                case ConfigTable.ruleActionsKey: rule.actions = r.readActions(v, kp)
                default: if let row = ruleRows[key], row.read(&r, v, kp, into: &rule) { r.noteRead(v, kp) }
                }
            }
            if !sawMatch && item.mapping != nil { issue(item, "\(p).match", "every rule needs a match") }
            rules.append(rule)
        }
        return rules
    }

    /// The keys of an override's `actions:` mapping; only the keys given are set.
    mutating func readActions(_ node: Node, _ path: String) -> ActionsOverride? {
        let actionRows = Dictionary(uniqueKeysWithValues: ConfigTable.rows.compactMap { row in row.actionsKey.map { ($0, row) } })
        var a = ActionsOverride()
        entries(node, path, known: ConfigTable.rows.compactMap(\.actionsKey)) { r, key, v, p in
            _ = actionRows[key]?.read(&r, v, p, into: &a)
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
        guard n >= 0 && n <= ConfigReader.maxPidsLimit else {
            issue(node, path, "must be from 0 (off) to \(ConfigReader.maxPidsLimit), got \(n)")
            return nil
        }
        return n
    }

    // MARK: - Values

    mutating func matcher(_ node: Node, _ path: String) -> ContainerMatcher? {
        var m = ContainerMatcher()
        var ok = true
        entries(node, path, known: ConfigTable.matcherKeys) { r, key, v, p in
            switch key {
            case "name": m.name = r.nonEmptyString(v, p)
            case "image": m.image = r.nonEmptyString(v, p)
            case "label":
                if let s = r.nonEmptyString(v, p) { m.labels.append(ConfigReader.labelCriterion(s)) }
            case "labels":
                guard let seq = v.sequence else { r.issue(v, p, "expected a list of KEY or KEY=VALUE"); ok = false; return }
                for (i, item) in seq.enumerated() {
                    if let s = r.nonEmptyString(item, "\(p)[\(i)]") { m.labels.append(ConfigReader.labelCriterion(s)) }
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

    /// `alertmanager.labels`: names as Prometheus takes them, none that
    /// dockward sets itself (a static label would overwrite what tells one
    /// alert from another); values non-empty. Null keeps the default.
    mutating func alertLabels(_ node: Node, _ path: String) -> [String: String]? {
        guard let mapping = node.mapping else {
            if !isNull(node) { issue(node, path, "expected a mapping of label names to values") }
            return nil
        }
        var labels: [String: String] = [:]
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string else {
                issue(keyNode, path, "label names must be plain words")
                continue
            }
            let p = "\(path).\(name)"
            if let problem = ConfigReader.labelNameProblem(name) {
                issue(keyNode, p, problem)
                continue
            }
            if let v = nonEmptyString(value, p) { labels[name] = v }
        }
        return labels
    }

    /// Why `name` can't be a static label, or nil. Alertmanager refuses a
    /// name outside Prometheus' pattern and the whole POST with it.
    static func labelNameProblem(_ name: String) -> String? {
        func isLetter(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        let scalars = name.unicodeScalars
        guard scalars.first.map(isLetter) == true, scalars.allSatisfy({ isLetter($0) || ("0"..."9").contains($0) }) else {
            return "a label name is letters, digits and _, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)"
        }
        if name.hasPrefix("__") { return "names starting with __ are reserved for Alertmanager's own use" }
        if AlertmanagerConfig.reservedLabelNames.contains(name) {
            return "reserved: dockward sets this label itself (\(AlertmanagerConfig.reservedLabelNames.joined(separator: ", ")))"
        }
        return nil
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
}
