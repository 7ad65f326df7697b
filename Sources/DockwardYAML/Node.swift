/// A YAML document as dockward reads it: the composed tree of scalars,
/// mappings and sequences, each with the place it was written, so every
/// problem in a config or Compose file can name its line. Parsed by the
/// system's libyaml (`compose(yaml:)`); no construction into Swift types:
/// the readers decide what a value means.

/// A place in the text; line and column count from 1.
public struct Mark: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// A node's tag: written (`!!str`, expanded by libyaml to
/// `tag:yaml.org,2002:str`) or resolved from a plain scalar's text as YAML
/// 1.1 does (`~` is null, `yes` a bool, `0x1f` an int).
public struct Tag: Sendable, Equatable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let null = Tag("tag:yaml.org,2002:null")
    public static let bool = Tag("tag:yaml.org,2002:bool")
    public static let int = Tag("tag:yaml.org,2002:int")
    public static let float = Tag("tag:yaml.org,2002:float")
    public static let str = Tag("tag:yaml.org,2002:str")
    public static let map = Tag("tag:yaml.org,2002:map")
    public static let seq = Tag("tag:yaml.org,2002:seq")

    public var description: String { rawValue }

    /// The tag a plain scalar without a written tag gets (YAML 1.1's
    /// implicit types, as PyYAML and libyaml's users resolve them).
    static func resolved(plain text: String) -> Tag {
        switch text {
        case "", "~", "null", "Null", "NULL":
            return .null
        case "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
             "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF":
            return .bool
        default:
            if isInteger(text) { return .int }
            if isFloat(text) { return .float }
            return .str
        }
    }

    static func isInteger(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        guard !body.isEmpty else { return false }
        if body.hasPrefix("0x") { return body.count > 2 && body.dropFirst(2).allSatisfy { $0.isHexDigit || $0 == "_" } }
        if body.hasPrefix("0o") { return body.count > 2 && body.dropFirst(2).allSatisfy { ("0"..."7").contains($0) || $0 == "_" } }
        if body.hasPrefix("0b") { return body.count > 2 && body.dropFirst(2).allSatisfy { $0 == "0" || $0 == "1" || $0 == "_" } }
        return body.first?.isASCII == true && body.first?.isNumber == true
            && body.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "_" || $0 == ":" }
    }

    static func isFloat(_ text: String) -> Bool {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            return true
        default:
            var body = Substring(text)
            if body.first == "-" || body.first == "+" { body = body.dropFirst() }
            let mantissa = body.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
                .first.map { $0.split(separator: "E", maxSplits: 1, omittingEmptySubsequences: false).first ?? $0 } ?? body
            guard mantissa.contains("."), mantissa.contains(where: { $0.isASCII && $0.isNumber }) else { return false }
            return body.allSatisfy { ($0.isASCII && $0.isNumber) || "._eE+-".contains($0) }
        }
    }
}

/// One node of the composed tree.
public enum Node: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    public struct Scalar: Sendable {
        public enum Style: Sendable, Equatable { case any, plain, singleQuoted, doubleQuoted, literal, folded }

        public var string: String
        public var tag: Tag
        public var style: Style
        public var mark: Mark?

        public init(_ string: String, _ tag: Tag = .str, _ style: Style = .any, _ mark: Mark? = nil) {
            self.string = string
            self.tag = tag
            self.style = style
            self.mark = mark
        }
    }

    /// A mapping's pairs in the order written.
    public struct Mapping: Sendable, RandomAccessCollection {
        public enum Style: Sendable, Equatable { case any, block, flow }

        public typealias Element = (key: Node, value: Node)
        public var pairs: [Element]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?
        public var anchor: String?

        public init(_ pairs: [(Node, Node)], _ tag: Tag = .map, _ style: Style = .any,
                    _ mark: Mark? = nil, _ anchor: String? = nil) {
            self.pairs = pairs.map { (key: $0.0, value: $0.1) }
            self.tag = tag
            self.style = style
            self.mark = mark
            self.anchor = anchor
        }

        public var startIndex: Int { pairs.startIndex }
        public var endIndex: Int { pairs.endIndex }
        public subscript(position: Int) -> Element { pairs[position] }

        /// The value of the first key whose text is `key`.
        public subscript(key: String) -> Node? {
            pairs.first { $0.key.scalar?.string == key }?.value
        }
    }

    /// A sequence's items in the order written.
    public struct Sequence: Sendable, RandomAccessCollection {
        public enum Style: Sendable, Equatable { case any, block, flow }

        public var nodes: [Node]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?
        public var anchor: String?

        public init(_ nodes: [Node], _ tag: Tag = .seq, _ style: Style = .any,
                    _ mark: Mark? = nil, _ anchor: String? = nil) {
            self.nodes = nodes
            self.tag = tag
            self.style = style
            self.mark = mark
            self.anchor = anchor
        }

        public var startIndex: Int { nodes.startIndex }
        public var endIndex: Int { nodes.endIndex }
        public subscript(position: Int) -> Node { nodes[position] }
    }

    public var scalar: Scalar? {
        if case .scalar(let s) = self { return s }
        return nil
    }

    public var mapping: Mapping? {
        if case .mapping(let m) = self { return m }
        return nil
    }

    public var sequence: Sequence? {
        if case .sequence(let s) = self { return s }
        return nil
    }

    /// A scalar's text; nil for a mapping or a sequence.
    public var string: String? { scalar?.string }

    public var mark: Mark? {
        switch self {
        case .scalar(let s): return s.mark
        case .mapping(let m): return m.mark
        case .sequence(let s): return s.mark
        }
    }

    public var tag: Tag {
        switch self {
        case .scalar(let s): return s.tag
        case .mapping(let m): return m.tag
        case .sequence(let s): return s.tag
        }
    }
}
