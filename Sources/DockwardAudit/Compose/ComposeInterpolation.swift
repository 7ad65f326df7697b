/// Variable interpolation as Compose v2 does it (compose-go's template
/// rules, as Debian 13's docker-compose 2.26 reads files): `$VAR`,
/// `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
/// `${VAR:+alternative}` (set and not empty), `${VAR+alternative}` (set),
/// `${VAR:?message}` (error when unset or empty), `${VAR?message}` (error
/// when unset), and `$$` for a literal `$`. Defaults, alternatives and
/// messages are interpolated in turn, so they nest (`${A:-${B}}`).
///
/// A `$` that starts none of these forms (`$2a$12$...` in a bcrypt hash,
/// `$ `, a `$` at the end) is kept as written: Compose v2 reads such files
/// where Compose 1.29 refused them. Only `${` that opens no valid form is an
/// error. An unset variable without a default is the empty string (Compose
/// warns).
public enum ComposeInterpolation {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty).
        case required(variable: String, message: String)
        /// A `${` that opens no form above.
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
        return try interpolate(Array(text), whole: text, lookup: { environment[$0] }, unset: &unset)
    }

    /// The same, with values looked up by a function (the `.env` file reads
    /// its own earlier lines and the environment).
    static func interpolate(_ text: String, lookup: (String) -> String?, unset: inout Set<String>) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        return try interpolate(Array(text), whole: text, lookup: lookup, unset: &unset)
    }

    private static func interpolate(_ chars: [Character], whole: String, lookup: (String) -> String?,
                                    unset: inout Set<String>) throws(Failure) -> String {
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "$", i + 1 < chars.count else { out.append(c); i += 1; continue }
            let next = chars[i + 1]
            if next == "$" {
                out.append("$")
                i += 2
            } else if isNameStart(next) {
                var j = i + 1
                while j < chars.count, isNameChar(chars[j]) { j += 1 }
                let name = String(chars[(i + 1)..<j])
                if let value = lookup(name) { out += value } else { unset.insert(name) }
                i = j
            } else if next == "{" {
                guard let close = closingBrace(chars, from: i) else { throw .invalid(whole) }
                out += try substitute(Array(chars[(i + 2)..<close]), whole: whole, lookup: lookup, unset: &unset)
                i = close + 1
            } else {
                // Not a variable: compose-go's pattern does not match it, so it stays.
                out.append("$")
                i += 1
            }
        }
        return out
    }

    /// The `}` that closes the `${` at `start`: each inner `${` opens one
    /// more, each `}` closes one (compose-go's getFirstBraceClosingIndex).
    private static func closingBrace(_ chars: [Character], from start: Int) -> Int? {
        var open = 0
        var i = start
        while i < chars.count {
            if chars[i] == "}" {
                open -= 1
                if open == 0 { return i }
            } else if chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "{" {
                open += 1
                i += 1
            }
            i += 1
        }
        return nil
    }

    private enum Operator: String, CaseIterable {
        case defaultWhenEmptyOrUnset = ":-", defaultWhenUnset = "-"
        case alternativeWhenNotEmpty = ":+", alternativeWhenSet = "+"
        case requiredNotEmpty = ":?", required = "?"
    }

    private static func substitute(_ chars: [Character], whole: String, lookup: (String) -> String?,
                                   unset: inout Set<String>) throws(Failure) -> String {
        guard let first = chars.first, isNameStart(first) else { throw .invalid(whole) }
        var j = 1
        while j < chars.count, isNameChar(chars[j]) { j += 1 }
        let name = String(chars[..<j])
        let value = lookup(name)
        if j == chars.count {
            if value == nil { unset.insert(name) }
            return value ?? ""
        }
        let rest = chars[j...]
        let twoChars = String(rest.prefix(2))
        let op: Operator
        if let two = Operator(rawValue: twoChars), twoChars.count == 2 {
            op = two
        } else if let one = Operator(rawValue: String(rest.prefix(1))) {
            op = one
        } else {
            throw .invalid(whole)
        }
        // compose-go interpolates the argument before it looks at the
        // variable: a bad form in an unused default still fails the file.
        let argument = try interpolate(Array(rest.dropFirst(op.rawValue.count)), whole: whole, lookup: lookup, unset: &unset)
        switch op {
        case .defaultWhenEmptyOrUnset: return value.flatMap { $0.isEmpty ? nil : $0 } ?? argument
        case .defaultWhenUnset: return value ?? argument
        case .alternativeWhenNotEmpty: return (value?.isEmpty ?? true) ? (value ?? "") : argument
        case .alternativeWhenSet: return value == nil ? "" : argument
        case .requiredNotEmpty:
            guard let value, !value.isEmpty else { throw .required(variable: name, message: argument) }
            return value
        case .required:
            guard let value else { throw .required(variable: name, message: argument) }
            return value
        }
    }

    static func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    static func isNameChar(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }
}

/// The `.env` file Compose v2 reads from the project folder (compose-go's
/// dotenv): `KEY=VALUE` (or `KEY: VALUE`) statements, `#` comment lines, an
/// optional `export `, a bare `KEY` taking the environment's value when it
/// has one. Values in single quotes are taken as written; in double quotes
/// `\n` and `\r` and other backslash escapes are read, then variables are
/// interpolated; unquoted values end at a `#` after a blank and are
/// interpolated. Interpolation sees the environment first, then the lines
/// above; a variable set in the environment wins over the file.
public enum ComposeDotEnv {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { message }
    }

    public static func parse(_ text: String, environment: [String: String] = [:]) throws(Failure) -> [String: String] {
        var out: [String: String] = [:]
        let chars = Array(text)
        var i = 0
        var line = 1
        func lookup(_ name: String) -> String? { environment[name] ?? out[name] }
        while i < chars.count {
            // A statement's start: blanks and comment lines skipped.
            while i < chars.count, chars[i].isWhitespace { if chars[i] == "\n" { line += 1 }; i += 1 }
            guard i < chars.count else { break }
            if chars[i] == "#" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if String(chars[i..<min(i + 6, chars.count)]) == "export" { i += 6 }
            while i < chars.count, isBlank(chars[i]) { i += 1 }
            var key = ""
            var terminator: Character?
            while i < chars.count {
                let c = chars[i]
                i += 1
                if c == "=" || c == ":" || c == "\n" { terminator = c; break }
                if isBlank(c) || c == "_" || c == "." || c.isLetter || c.isNumber { key.append(c); continue }
                throw Failure(line: line, message: "unexpected character \"\(c)\" in variable name on line \(line)")
            }
            key = key.trimmingSpaces()
            if key.contains(" ") { throw Failure(line: line, message: "a key cannot contain a space (line \(line))") }
            if terminator == "\n" || terminator == nil {
                line += 1
                if !key.isEmpty, let value = environment[key] { out[key] = value }
                continue
            }
            while i < chars.count, isBlank(chars[i]) { i += 1 }
            var value: String
            var unset = Set<String>()
            if i < chars.count, chars[i] == "'" || chars[i] == "\"" {
                let quote = chars[i]
                var j = i + 1
                while j < chars.count, !(chars[j] == quote && chars[j - 1] != "\\") { j += 1 }
                guard j < chars.count else { throw Failure(line: line, message: "unterminated quoted value on line \(line)") }
                value = String(chars[(i + 1)..<j])
                line += value.filter { $0 == "\n" }.count
                i = j + 1
                if quote == "\"" {
                    do {
                        value = try ComposeInterpolation.interpolate(unescape(value), lookup: lookup, unset: &unset)
                    } catch {
                        throw Failure(line: line, message: "\(error)")
                    }
                }
                // What follows the closing quote on its line is ignored.
                while i < chars.count, chars[i] != "\n" { i += 1 }
            } else {
                var j = i
                while j < chars.count, chars[j] != "\n" { j += 1 }
                var raw = Array(chars[i..<j])
                if let hash = raw.indices.first(where: { raw[$0] == "#" && ($0 == 0 || isBlank(raw[$0 - 1])) }) {
                    raw = Array(raw[..<hash])
                }
                i = j
                do {
                    value = try ComposeInterpolation.interpolate(String(raw).trimmingSpaces(), lookup: lookup, unset: &unset)
                } catch {
                    throw Failure(line: line, message: "\(error)")
                }
            }
            out[key] = environment[key] ?? value
        }
        return out
    }

    private static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" }

    /// compose-go's expandEscapes: `\n` and `\r` become the characters,
    /// `\$` a literal `$`; a backslash before any other character is dropped.
    private static func unescape(_ body: String) -> String {
        var out = ""
        var escaped = false
        for c in body {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "r": out.append("\r")
                // `\$` is a literal `$`: written `$$` for interpolation.
                case "$": out += "$$"
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
