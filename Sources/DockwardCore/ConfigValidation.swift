/// Checks that involve more than one key. They run on the whole config once
/// every section is read, so the order of sections in the file can't change
/// the answer: warn_ratio against critical_ratio for every container, and
/// the `alertmanager:` keys that go together (`alertmanagerIssues`).
///
/// A container's effective `warn_ratio` is set by the last matching rule that
/// sets it (the `pids` section when none does), and likewise its
/// `critical_ratio`. So for every place that gives a warn ratio `w` (the
/// `pids` section or a rule) and every place that gives a critical ratio `c`
/// with `w > c`, one container could end up warning above its critical
/// ratio, unless no container can be matched by both, or a rule that
/// overrides one of them provably matches every container of that pair.
enum ConfigValidation {
    /// One place a ratio is given.
    struct RatioSource {
        /// The override's index; nil for the `pids` section.
        var rule: Int?
        /// nil for the `pids` section: every container.
        var match: ContainerMatcher?
        var value: Double
        /// The key's line; nil for a built-in default.
        var line: Int?

        var section: String { rule.map { "overrides[\($0)]" } ?? "pids" }
        /// Rules apply after the `pids` section, in list order.
        var precedence: Int { rule ?? -1 }
    }

    static func issues(in config: DockwardConfig, lines: [String: Int], file: String) -> [ConfigIssue] {
        ratioIssues(in: config, lines: lines, file: file) + alertmanagerIssues(config.alertmanager, lines: lines, file: file)
    }

    static func ratioIssues(in config: DockwardConfig, lines: [String: Int], file: String) -> [ConfigIssue] {
        func sources(_ name: String, global: Double, _ field: KeyPath<DockwardConfig.Override, Double?>) -> [RatioSource] {
            [RatioSource(rule: nil, match: nil, value: global, line: lines["pids.\(name)"])]
                + config.overrides.enumerated().compactMap { i, rule in
                    rule[keyPath: field].map {
                        RatioSource(rule: i, match: rule.match, value: $0, line: lines["overrides[\(i)].\(name)"] ?? rule.line)
                    }
                }
        }
        let warns = sources("warn_ratio", global: config.pids.warnRatio, \.warnRatio)
        // Lowest first: each warn ratio visits only the critical ratios below it.
        let crits = sources("critical_ratio", global: config.pids.criticalRatio, \.criticalRatio)
            .enumerated().sorted { ($0.element.value, $0.offset) < ($1.element.value, $1.offset) }.map(\.element)
        var out: [ConfigIssue] = []
        var work = 0
        for w in warns {
            for c in crits {
                guard w.value > c.value else { break }
                work += 1
                guard work <= maxWork, out.count < maxIssues else {
                    out.append(ConfigIssue(file: file, line: config.overrides.first?.line ?? 1, key: "overrides",
                                           message: "too many rules give warn_ratio above another's critical_ratio to check "
                                               + "them all; stopped after \(out.count) problem(s)"))
                    return out
                }
                guard mayMatchOneContainer(w.match, c.match), !overridden(w, c, in: config.overrides, work: &work) else { continue }
                out.append(issue(warn: w, critical: c, file: file))
            }
        }
        return out
    }

    /// Rule comparisons the check may spend: a file of thousands of rules
    /// whose ratios cross would otherwise take minutes to refuse.
    static let maxWork = 1_000_000
    /// Beyond this many, more problems add nothing the first ones don't say.
    static let maxIssues = 500

    static func mayMatchOneContainer(_ a: ContainerMatcher?, _ b: ContainerMatcher?) -> Bool {
        guard let a, let b else { return true }
        return a.mayMatchTheSameContainer(as: b)
    }

    /// Whether a later rule takes over the warn ratio of `w` or the critical
    /// ratio of `c` for every container both match: it sets that ratio, comes
    /// after it, and provably matches every container of `w` or of `c`. (A
    /// rule that sets both ratios overrides the `pids` section's this way;
    /// its own pair is checked on its own.)
    static func overridden(_ w: RatioSource, _ c: RatioSource, in rules: [DockwardConfig.Override], work: inout Int) -> Bool {
        // The two themselves first: the later one setting the other ratio too
        // (a rule giving both ratios) settles it without a search.
        if let i = c.rule, i > w.precedence, rules[i].warnRatio != nil { return true }
        if let i = w.rule, i > c.precedence, rules[i].criticalRatio != nil { return true }
        let from = min(w.precedence, c.precedence) + 1
        work += rules.count - from
        return rules[from...].enumerated().contains { offset, r in
            let k = from + offset
            let coversPair = (w.match.map(r.match.covers) ?? false) || (c.match.map(r.match.covers) ?? false)
            guard coversPair else { return false }
            return (k > w.precedence && r.warnRatio != nil) || (k > c.precedence && r.criticalRatio != nil)
        }
    }

    /// The issue names the place with the later precedence (the rule over
    /// the `pids` section, the later rule over the earlier), its line and
    /// key, and the other place with its line.
    static func issue(warn w: RatioSource, critical c: RatioSource, file: String) -> ConfigIssue {
        if w.rule == c.rule {
            return ConfigIssue(file: file, line: w.line ?? c.line ?? 1, key: "\(w.section).warn_ratio",
                               message: "must not be above critical_ratio (\(w.value) > \(c.value))")
        }
        func other(_ s: RatioSource, _ name: String) -> String {
            let place = s.line.map { "\(s.section).\(name) at line \($0)" } ?? "\(s.section).\(name) by default"
            return s.rule == nil ? place : "\(place), a rule that can match the same containers"
        }
        if w.precedence > c.precedence {
            return ConfigIssue(file: file, line: w.line ?? 1, key: "\(w.section).warn_ratio",
                               message: "must not be above critical_ratio (\(w.value) > \(c.value), \(other(c, "critical_ratio")))")
        }
        return ConfigIssue(file: file, line: c.line ?? 1, key: "\(c.section).critical_ratio",
                           message: "must not be below warn_ratio (\(c.value) < \(w.value), \(other(w, "warn_ratio")))")
    }
}

extension ConfigValidation {
    /// The `alertmanager:` keys that only make sense together. Each issue
    /// names a key that was given, its line, and the other key (with its
    /// line, or `by default`).
    static func alertmanagerIssues(_ am: AlertmanagerConfig, lines: [String: Int], file: String) -> [ConfigIssue] {
        let section = "alertmanager"
        func line(_ key: String) -> Int? { lines["\(section).\(key)"] }
        func place(_ key: String) -> String {
            line(key).map { "\(section).\(key) at line \($0)" } ?? "\(section).\(key) by default"
        }
        /// The keys of `pairs` that hold a value, the first given in the file first.
        func given(_ pairs: [(String, String?)]) -> [String] {
            pairs.filter { $0.1 != nil }.map(\.0).enumerated()
                .sorted { (line($0.element) ?? .max, $0.offset) < (line($1.element) ?? .max, $1.offset) }.map(\.element)
        }
        var out: [ConfigIssue] = []
        func add(_ key: String, _ message: String) {
            out.append(ConfigIssue(file: file, line: line(key) ?? 1, key: "\(section).\(key)", message: message))
        }

        // A POST that may outlast the interval would overlap the next send
        // of the same alerts.
        if am.timeout >= am.resendInterval {
            if line("timeout") != nil || line("resend_interval") == nil {
                add("timeout", "must be below resend_interval (\(am.timeout) >= \(am.resendInterval), \(place("resend_interval")))")
            } else {
                add("resend_interval", "must be above timeout (\(am.resendInterval) <= \(am.timeout), \(place("timeout")))")
            }
        }

        switch (am.tls.certFile, am.tls.keyFile) {
        case (.some, nil): add("tls.cert_file", "needs tls.key_file too: a client certificate goes with its key")
        case (nil, .some): add("tls.key_file", "needs tls.cert_file too: a client key goes with its certificate")
        default: break
        }
        // A tls key with only http:// urls would be silently unused, and
        // the operator believes the link is encrypted.
        let tlsGiven = given([("tls.ca_file", am.tls.caFile), ("tls.cert_file", am.tls.certFile),
                              ("tls.key_file", am.tls.keyFile), ("tls.server_name", am.tls.serverName)])
        let anyHTTPS = am.urls.contains { (try? AlertmanagerURL($0))?.isHTTPS == true }
        if !anyHTTPS, let first = tlsGiven.first {
            add(first, "tls applies only to https:// urls, and alertmanager.urls has none")
        }

        switch (am.basicAuthUsername, am.basicAuthPasswordFile) {
        case (.some, nil): add("basic_auth.username", "needs basic_auth.password_file too (the password stays in a file)")
        case (nil, .some): add("basic_auth.password_file", "needs basic_auth.username too")
        default: break
        }
        if am.bearerTokenFile != nil,
           let basic = given([("basic_auth.username", am.basicAuthUsername),
                              ("basic_auth.password_file", am.basicAuthPasswordFile)]).first {
            add("bearer_token_file", "not with basic_auth (\(place(basic))): one Authorization header per request")
        }
        return out
    }
}

extension ContainerMatcher {
    /// False only when no container can match both: a criterion both give
    /// is provably disjoint (two different literal names or images, a
    /// literal one that the other's glob does not match, or the same label
    /// with two such values). Anything else is taken to overlap.
    func mayMatchTheSameContainer(as other: ContainerMatcher) -> Bool {
        if let a = name, let b = other.name, Self.provablyDisjoint(a, b) { return false }
        if let a = image, let b = other.image, Self.provablyDisjoint(a, b) { return false }
        for mine in labels {
            for theirs in other.labels where mine.key == theirs.key {
                if let a = mine.value, let b = theirs.value, Self.provablyDisjoint(a, b) { return false }
            }
        }
        return true
    }

    /// True only when every container `other` matches provably matches this
    /// too: each criterion here is `*`, or given the same in `other`, or a
    /// glob that `other`'s literal value matches.
    func covers(_ other: ContainerMatcher) -> Bool {
        func covers(_ mine: String?, _ theirs: String?) -> Bool {
            guard let mine, mine != "*" else { return true }
            guard let theirs else { return false }
            return mine == theirs || (Self.isLiteral(theirs) && Self.glob(mine, theirs))
        }
        guard covers(name, other.name), covers(image, other.image) else { return false }
        return labels.allSatisfy { mine in
            other.labels.contains { theirs in
                theirs.key == mine.key && (mine.value == nil || mine.value == "*" || covers(mine.value, theirs.value))
            }
        }
    }

    /// A pattern without glob characters matches only itself.
    static func isLiteral(_ pattern: String) -> Bool {
        !pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" || $0 == "\\" }
    }

    static func provablyDisjoint(_ a: String, _ b: String) -> Bool {
        switch (isLiteral(a), isLiteral(b)) {
        case (true, true): a != b
        case (true, false): !glob(b, a)
        case (false, true): !glob(a, b)
        case (false, false): false
        }
    }
}
