import DockwardCore
import FoundationEssentials

/// dockward(8), written from the command-line definitions themselves: the
/// JSON that swift-argument-parser prints for `dockward
/// --experimental-dump-help` (its ToolInfo, serialization version 0). Every
/// command, option and flag the parser knows is on the page, with its help
/// text, so the page cannot drift from `--help`.
public enum CommandManual {
    /// The part of ToolInfo the page uses.
    public struct ToolInfo: Decodable, Sendable {
        public var serializationVersion: Int
        public var command: Command
    }

    public struct Command: Decodable, Sendable {
        public var commandName: String
        public var abstract: String?
        public var discussion: String?
        public var shouldDisplay: Bool?
        public var subcommands: [Command]?
        public var arguments: [Argument]?
    }

    public struct Argument: Decodable, Sendable {
        public struct Name: Decodable, Sendable {
            public var kind: String
            public var name: String
        }
        public var kind: String
        public var names: [Name]?
        public var valueName: String?
        public var abstract: String?
        public var discussion: String?
        public var defaultValue: String?
        public var isOptional: Bool?
        public var isRepeating: Bool?
        public var shouldDisplay: Bool?
        public var allValues: [String]?
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        public var description: String {
            switch self { case .unreadable(let why): return "dockward manual: the command definitions did not decode: \(why)" }
        }
    }

    /// The commands the page has a section for: every subcommand shown in
    /// `--help`, depth first, with its path (`["alerts"]`).
    public static func commands(_ root: Command) -> [(path: [String], command: Command)] {
        var out: [(path: [String], command: Command)] = []
        func walk(_ c: Command, _ path: [String]) {
            for sub in c.subcommands ?? [] where sub.shouldDisplay ?? true {
                out.append((path + [sub.commandName], sub))
                walk(sub, path + [sub.commandName])
            }
        }
        walk(root, [])
        return out
    }

    public static func decode(_ json: Data) throws -> ToolInfo {
        do { return try JSONDecoder().decode(ToolInfo.self, from: json) } catch { throw Failure.unreadable("\(error)") }
    }

    /// The page, from `--experimental-dump-help`'s JSON.
    public static func page(toolInfo json: Data, version: String, date: String) throws -> String {
        let root = try decode(json).command
        var out = [
            Roff.header(root.commandName, section: "8", date: date, source: "\(root.commandName) \(version)",
                        manual: "System Administration"),
            ".SH NAME",
            Roff.escape(root.commandName) + " \\- " + Roff.escape(lowercasedFirst(trimmedPeriod(root.abstract ?? ""))),
            ".SH SYNOPSIS",
            ".B " + Roff.escape(root.commandName),
            ".I command",
            "[\\fIoptions\\fR]",
            ".br",
            ".B systemctl",
            "{start|reload|stop|status}",
            ".B " + Roff.escape(root.commandName),
            ".SH DESCRIPTION",
            Roff.escape(root.abstract ?? ""),
            "The package runs",
            ".B dockward run",
            "as the service",
            ".B dockward.service",
            "under the system user",
            ".BR dockward ;",
            "its alerts are journal entries with a",
            ".B MESSAGE_ID",
            "that",
            ".B journalctl \\-x",
            "explains, and",
            ".B dockward alerts",
            "lists.",
            "Its configuration is described in",
            ".BR dockward.yml (5).",
        ]
        if let discussion = root.discussion { out += Roff.paragraphs(discussion) }
        let rootOptions = options(root)
        if !rootOptions.isEmpty { out += [".SH OPTIONS"] + rootOptions }
        out.append(".SH COMMANDS")
        out.append("Each command also takes \\fB\\-\\-help\\fR, and \\fB\\-\\-version\\fR.")
        for (path, command) in commands(root) {
            let usage = ([root.commandName] + path).joined(separator: " ")
            out.append(".SS " + Roff.quoted(usage))
            out.append(".PP")
            out.append(".B " + Roff.escape(usage))
            out += synopsis(command)
            if let abstract = command.abstract, !abstract.isEmpty { out += [".PP", Roff.escape(abstract)] }
            if let discussion = command.discussion { out += Roff.paragraphs(discussion) }
            out += options(command)
        }
        out += [
            ".SH EXIT STATUS",
            "0 on success.",
            "For",
            ".BR run :",
            "a config file that does not validate, a cgroup tree that cannot be read or another failure at start exits non\\-zero with the reason on stderr and in the journal.",
            "For",
            ".BR check\\-config :",
            "0 when the file is valid.",
            "For",
            ".B audit",
            "and",
            ".BR check\\-compose :",
            "as their sections above say.",
            ".SH FILES",
            ".TP",
            ".I /etc/dockward/dockward.yml",
            "The configuration (a conffile), see",
            ".BR dockward.yml (5).",
            ".TP",
            ".I /var/lib/dockward/",
            "The open alert episodes (systemd's StateDirectory=), kept across restarts and upgrades so that none is announced twice; removed on purge.",
            ".TP",
            ".I /lib/systemd/system/dockward.service",
            "The service; drop\\-ins for the metrics endpoint, the actions and Alertmanager are in",
            ".IR /usr/share/doc/dockward/examples/ .",
            ".TP",
            ".I /usr/lib/systemd/catalog/dockward.catalog",
            "What",
            ".B journalctl \\-x",
            "says of each alert.",
            ".SH SEE ALSO",
            ".BR dockward.yml (5),",
            ".BR journalctl (1),",
            ".BR systemctl (1),",
            ".BR systemd.exec (5)",
        ]
        return out.joined(separator: "\n") + "\n"
    }

    /// The command's positional arguments after its name, as `--help` shows them.
    static func synopsis(_ command: Command) -> [String] {
        var parts: [String] = []
        let shown = (command.arguments ?? []).filter { $0.shouldDisplay ?? true }
        if shown.contains(where: { $0.kind != "positional" && !isBuiltIn($0) }) { parts.append("[\\fIoptions\\fR]") }
        for arg in shown where arg.kind == "positional" {
            var text = "\\fI" + Roff.escape(arg.valueName ?? "value") + "\\fR"
            if arg.isRepeating ?? false { text += " ..." }
            parts.append((arg.isOptional ?? false) ? "[" + text + "]" : text)
        }
        if !(command.subcommands ?? []).isEmpty { parts.append("\\fIcommand\\fR") }
        return parts
    }

    /// `--help` and `--version` are every command's; the page says so once.
    static func isBuiltIn(_ arg: Argument) -> Bool {
        let names = Set((arg.names ?? []).map(\.name))
        return arg.kind == "flag" && (names.contains("help") || names.contains("version"))
    }

    /// A `.TP` entry per option, flag and positional argument.
    static func options(_ command: Command) -> [String] {
        var out: [String] = []
        for arg in command.arguments ?? [] where (arg.shouldDisplay ?? true) && !isBuiltIn(arg) {
            out.append(".TP")
            let value = arg.valueName.map { "\\fI" + Roff.escape("<\($0)>") + "\\fR" } ?? ""
            switch arg.kind {
            case "positional":
                out.append(value + ((arg.isRepeating ?? false) ? " ..." : ""))
            default:
                let names = (arg.names ?? []).map { "\\fB" + ($0.kind == "short" ? "\\-" : "\\-\\-") + Roff.escape($0.name) + "\\fR" }
                out.append(names.joined(separator: ", ") + (arg.kind == "option" ? " " + value : ""))
            }
            var text = arg.abstract ?? ""
            if let values = arg.allValues, !values.isEmpty { text += (text.isEmpty ? "" : " ") + "One of: " + values.joined(separator: ", ") + "." }
            if let d = arg.defaultValue, !d.isEmpty { text += (text.isEmpty ? "" : " ") + "Default: \(d)." }
            if arg.isRepeating ?? false, arg.kind == "option" { text += (text.isEmpty ? "" : " ") + "May be repeated." }
            out.append(Roff.escape(text))
            if let discussion = arg.discussion, !discussion.isEmpty {
                out.append(".IP")
                out.append(Roff.escape(discussion.split(separator: "\n").joined(separator: " ")))
            }
        }
        return out
    }

    static func trimmedPeriod(_ s: String) -> String { s.hasSuffix(".") ? String(s.dropLast()) : s }
    static func lowercasedFirst(_ s: String) -> String { s.prefix(1).lowercased() + s.dropFirst() }
}
