import FoundationEssentials

/// Writing man pages (roff, the man macros): text escaped so that groff
/// reads it as text, never as a request or an escape.
public enum Roff {
    /// One line of running text: backslashes doubled as `\e`, a leading `.`
    /// or `'` guarded by `\&`, characters beyond ASCII written as `\[uXXXX]`
    /// (groff reads the page without a preprocessor for encodings).
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\e"
            case "-": out += "\\-"
            case _ where scalar.value > 0x7e || scalar.value < 0x20 && scalar != "\t":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\[u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "]"
            default: out.unicodeScalars.append(scalar)
            }
        }
        if out.hasPrefix(".") || out.hasPrefix("'") { out = "\\&" + out }
        return out
    }

    /// `.TH` with the page's name, section, date, source and manual.
    public static func header(_ name: String, section: String, date: String, source: String, manual: String) -> String {
        ".TH \(quoted(name.uppercased())) \(section) \(quoted(date)) \(quoted(source)) \(quoted(manual))"
    }

    /// A macro argument in double quotes (a `"` inside written `\(dq`).
    public static func quoted(_ text: String) -> String {
        "\"" + escape(text).replacing("\"", with: "\\(dq") + "\""
    }

    /// Text kept as written (examples, aligned lists): `.nf` ... `.fi`.
    public static func preformatted(_ lines: [String]) -> [String] {
        [".nf"] + lines.map { $0.isEmpty ? "" : escape($0) } + [".fi"]
    }

    /// Paragraphs of filled text: a blank line starts a new `.PP`; text
    /// whose lines are indented (a list, a table, an example) is kept as
    /// written.
    public static func paragraphs(_ text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.contains(where: { $0.hasPrefix("  ") }) { return [".PP"] + preformatted(trimmingBlankEdges(lines)) }
        var out: [String] = []
        var startsParagraph = true
        for line in lines {
            if line.trimmingBlanks().isEmpty { startsParagraph = true; continue }
            if startsParagraph { out.append(".PP"); startsParagraph = false }
            out.append(escape(line))
        }
        return out
    }

    static func trimmingBlankEdges(_ lines: [String]) -> [String] {
        var lines = lines
        while lines.first?.trimmingBlanks().isEmpty == true { lines.removeFirst() }
        while lines.last?.trimmingBlanks().isEmpty == true { lines.removeLast() }
        return lines
    }
}

extension ConfigTable {
    /// Keys the daemon reads at start only: a reload logs their change and
    /// says it takes effect at the next restart (`Daemon.reload`).
    public static let keysReadAtStart: Set<String> = [
        "cgroup.root", "docker.socket", "engine.kind", "engine.socket", "engine.namespaces",
    ]

    /// What a reload (SIGHUP, `systemctl reload dockward`) does with a key.
    static func reloadText(_ key: String) -> String {
        if keysReadAtStart.contains(key) {
            return "Read at start only: a reload logs the new value and says it takes effect at the next restart."
        }
        switch key {
        case "metrics.listen":
            return "Applied at reload: the endpoint stops and, unless off, listens again on the new address."
        case "node_pids.kubelet_config":
            return "Applied at reload: the file is read again at each reload, changed or not."
        case let k where k.hasPrefix("alertmanager."):
            return "Applied at reload: the deliveries are rebuilt, and the files named here read again."
        default:
            return "Applied at reload; the journal's reload entry names the change (key: old -> new)."
        }
    }

    /// A default as the page writes it: the shipped file's text.
    static func defaultText(_ value: ConfigFileValue) -> String {
        switch value {
        case .scalar(let text): return text == "\"\"" ? "empty" : text
        case .list(let items) where items.isEmpty: return "[] (none)"
        case .list(let items): return items.joined(separator: ", ")
        case .mapping(let entries) where entries.isEmpty: return "{} (none)"
        case .mapping(let entries): return entries.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        }
    }

    /// dockward.yml(5): every key of the table with its type and range, its
    /// default, what it does and what a reload does with it, in the order of
    /// the shipped file. `scripts/build-deb.sh` writes it through
    /// `dockward manual dockward.yml.5`.
    public static func manualPage(version: String, date: String) -> String {
        var out = [
            Roff.header("dockward.yml", section: "5", date: date, source: "dockward \(version)", manual: "File Formats"),
            ".SH NAME",
            "dockward.yml \\- configuration of the dockward daemon",
            ".SH SYNOPSIS",
            "/etc/dockward/dockward.yml",
            ".SH DESCRIPTION",
            "The YAML file that",
            ".BR dockward (8)",
            "reads at start and at each reload.",
            "Every key is optional: a key left out, or the whole file missing, takes the default shown here.",
            "The package ships the file with every key at its default and its comment; it is a conffile, kept as edited across upgrades.",
            "An unknown key, a value of the wrong type or out of its range is refused with the line it is on.",
            ".PP",
            "Durations are written 500ms, 1s, 5m, 1h, or combined (1m30s).",
            "Validate a change with",
            ".B dockward check\\-config /etc/dockward/dockward.yml",
            "before reloading.",
            ".SH RELOAD",
            ".B systemctl reload dockward",
            "(SIGHUP) reads the file again.",
            "A file that does not parse or validate is refused: the running configuration stays and the journal says why.",
            "Otherwise the new values apply at once, and the reload entry lists each changed key as",
            ".IR key \": \" old \" \\-> \" new .",
            "The keys of",
            keysReadAtStart.count > 0 ? ".BR " + ConfigTable.rows.map(\.key).filter(keysReadAtStart.contains).joined(separator: " , ") : "",
            "are read at start only: a change to them takes effect at the next restart.",
            ".SH KEYS",
        ]
        for section in children(of: "") {
            out += manualSection(section)
        }
        out += [
            ".SH OVERRIDE RULES",
            "Each rule of",
            ".B overrides",
            "is a mapping with",
            ".B match:",
            "(" + matcherKeys.joined(separator: ", ") + ") and any of",
            ".BR " + ruleKeys.filter { $0 != ruleMatchKey }.joined(separator: " , ") + ".",
            "Its",
            ".B actions:",
            "mapping takes the keys of the",
            ".B actions",
            "section.",
            ".SH FILES",
            ".TP",
            ".I /etc/dockward/dockward.yml",
            "This file.",
            ".TP",
            ".I /usr/share/doc/dockward/examples/",
            "Drop-ins that turn on the metrics endpoint, the actions and the Alertmanager delivery, with the rights each needs.",
            ".SH SEE ALSO",
            ".BR dockward (8),",
            ".BR systemctl (1),",
            ".BR journalctl (1)",
        ]
        return out.filter { !$0.isEmpty }.joined(separator: "\n") + "\n"
    }

    static func manualSection(_ path: String) -> [String] {
        var out: [String] = []
        if let row = rowsByKey[path] {
            out.append(".TP")
            out.append(".B " + Roff.escape(row.key))
            let text = row.doc.filter { !$0.isEmpty }.joined(separator: " ")
            if !text.isEmpty { out.append(Roff.escape(text)) }
            if let inline = row.inlineDoc { out.append(Roff.escape(inline.prefix(1).uppercased() + inline.dropFirst() + ".")) }
            out.append(".br")
            out.append("Type: " + Roff.escape(row.type) + ".")
            out.append(".br")
            out.append("Default: " + Roff.escape(defaultText(row.defaultFileValue)) + ".")
            out.append(".br")
            out.append("Reload: " + Roff.escape(reloadText(row.key)))
            if !row.example.isEmpty {
                out.append(".br")
                out.append("For example:")
                out += Roff.preformatted([row.key.split(separator: ".").last.map { "\($0):" } ?? ""] + row.example)
            }
            return out
        }
        out.append(".SS " + Roff.quoted(path))
        let docs = sectionDocs[path]
        let intro = ((docs?.above ?? []) + (docs?.intro ?? [])).filter { !$0.isEmpty }.joined(separator: " ")
        if !intro.isEmpty { out += [".PP", Roff.escape(intro)] }
        for child in children(of: path) {
            out += manualSection("\(path).\(child)")
        }
        return out
    }
}
