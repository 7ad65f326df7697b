/// Variable interpolation as Compose 1.29 does it (`docker compose config`
/// agrees on these forms): `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
/// empty), `${VAR-default}` (unset), `${VAR:?message}` (error when unset or
/// empty), `${VAR?message}` (error when unset), and `$$` for a literal `$`.
/// An unset variable without a default is the empty string (Compose warns).
/// The default is taken as written, not interpolated again.
public enum ComposeInterpolation {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty).
        case required(variable: String, message: String)
        /// A `$` that starts no form above.
        case invalid(String)

        public var description: String {
            switch self {
            case .required(let v, let m): "required variable \(v) is missing a value: \(m)"
            case .invalid(let text): "invalid interpolation format in \"\(text)\" (a literal $ is written $$)"
            }
        }
    }

    /// `text` with every variable replaced; `unset` collects the names of
    /// plain references to unset variables (Compose's blank-string warning).
    public static func interpolate(_ text: String, environment: [String: String],
                                   unset: inout Set<String>) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        let chars = Array(text)
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "$" else { out.append(c); i += 1; continue }
            guard i + 1 < chars.count else { throw .invalid(text) }
            let next = chars[i + 1]
            if next == "$" {
                out.append("$")
                i += 2
            } else if isNameStart(next) {
                var j = i + 1
                while j < chars.count, isNameChar(chars[j]) { j += 1 }
                let name = String(chars[(i + 1)..<j])
                if let value = environment[name] { out += value } else { unset.insert(name) }
                i = j
            } else if next == "{" {
                guard let close = chars[(i + 2)...].firstIndex(of: "}") else { throw .invalid(text) }
                let braced = String(chars[(i + 2)..<close])
                out += try substitute(braced, environment: environment, unset: &unset, whole: text)
                i = close + 1
            } else {
                throw .invalid(text)
            }
        }
        return out
    }

    private static func substitute(_ braced: String, environment: [String: String], unset: inout Set<String>,
                                   whole: String) throws(Failure) -> String {
        let chars = Array(braced)
        guard let first = chars.first, isNameStart(first) else { throw .invalid(whole) }
        var j = 1
        while j < chars.count, isNameChar(chars[j]) { j += 1 }
        let name = String(chars[..<j])
        let rest = String(chars[j...])
        let value = environment[name]
        if rest.isEmpty {
            if value == nil { unset.insert(name) }
            return value ?? ""
        }
        if rest.hasPrefix(":-") { return value.flatMap { $0.isEmpty ? nil : $0 } ?? String(rest.dropFirst(2)) }
        if rest.hasPrefix("-") { return value ?? String(rest.dropFirst()) }
        if rest.hasPrefix(":?") {
            guard let value, !value.isEmpty else { throw .required(variable: name, message: String(rest.dropFirst(2))) }
            return value
        }
        if rest.hasPrefix("?") {
            guard let value else { throw .required(variable: name, message: String(rest.dropFirst())) }
            return value
        }
        throw .invalid(whole)
    }

    static func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    static func isNameChar(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }
}

/// The `.env` file Compose reads from the project folder: `KEY=VALUE`
/// lines, `#` comments, an optional `export `, values in single quotes
/// (taken as written) or double quotes (`\n`, `\"`, `\\` unescaped), and
/// unquoted values ending at ` #`. Values are not interpolated (Compose
/// 1.29 reads it with python-dotenv, interpolation off).
public enum ComposeDotEnv {
    public static func parse(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingSpaces() }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]).trimmingSpaces()
            guard !key.isEmpty else { continue }
            var value = String(line[line.index(after: eq)...]).trimmingSpaces()
            if value.count >= 2, value.hasPrefix("'"), let end = value.dropFirst().firstIndex(of: "'") {
                value = String(value[value.index(after: value.startIndex)..<end])
            } else if value.count >= 2, value.hasPrefix("\"") {
                value = unescapeDoubleQuoted(String(value.dropFirst()))
            } else if let hash = value.range(of: " #") {
                value = String(value[..<hash.lowerBound]).trimmingSpaces()
            }
            out[key] = value
        }
        return out
    }

    private static func unescapeDoubleQuoted(_ body: String) -> String {
        var out = ""
        var escaped = false
        for c in body {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                break
            } else {
                out.append(c)
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
