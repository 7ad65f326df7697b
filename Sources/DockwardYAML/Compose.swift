import CLibYAML

/// Why a text is no YAML document, with where libyaml stopped.
public enum YamlError: Error, Sendable, CustomStringConvertible {
    /// What libyaml was reading when it found the problem.
    public struct Context: Sendable {
        public let text: String
        public let mark: Mark
    }

    /// The bytes are no text libyaml reads (a NUL, bad UTF-8).
    case reader(problem: String, byteOffset: Int, yaml: String)
    /// A token could not be read (an unclosed quote, a tab as indentation).
    case scanner(context: Context?, problem: String, mark: Mark, yaml: String)
    /// The tokens make no document (a missing `:` or `]`).
    case parser(context: Context?, problem: String, mark: Mark, yaml: String)
    /// The document makes no tree (an alias to no anchor, a second document,
    /// nesting past `maxDepth`).
    case composer(context: Context?, problem: String, mark: Mark, yaml: String)
    /// A mapping names a key twice; the keys' texts, each once.
    case duplicatedKeysInMapping(duplicates: [String], yaml: String)
    /// libyaml could not allocate.
    case memory

    public var description: String {
        switch self {
        case .reader(let problem, let offset, _):
            return "\(problem) at byte \(offset)"
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at \($0.mark))" } ?? ""
            return "\(mark): \(problem)\(while_)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "keys given twice in one mapping: \(duplicates.joined(separator: ", "))"
        case .memory:
            return "out of memory"
        }
    }
}

/// Nodes nested deeper than this are refused: the composer recurses, and
/// no config, Compose or kubelet file nests more than a dozen levels.
public let maxDepth = 256

/// The one document of `yaml`, composed; nil for a stream with no document
/// (an empty file, only comments). Aliases are replaced by the node their
/// anchor names; a second document is an error.
public func compose(yaml: String) throws(YamlError) -> Node? {
    var bytes = Array(yaml.utf8)
    return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YamlError) -> Node? in
        var composer = Composer(yaml: yaml)
        guard yaml_parser_initialize(&composer.parser) == 1 else { throw YamlError.memory }
        defer { yaml_parser_delete(&composer.parser) }
        yaml_parser_set_input_string(&composer.parser, buffer.baseAddress, buffer.count)
        return try composer.stream()
    }
}

/// Walks libyaml's events into nodes.
struct Composer {
    let yaml: String
    var parser = yaml_parser_t()
    var anchors: [String: Node] = [:]

    init(yaml: String) { self.yaml = yaml }

    /// The next event, owned by the caller (yaml_event_delete).
    mutating func next() throws(YamlError) -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else { throw parserError() }
        return event
    }

    mutating func stream() throws(YamlError) -> Node? {
        var event = try next()
        defer { yaml_event_delete(&event) }
        precondition(event.type == YAML_STREAM_START_EVENT, "libyaml starts every stream with STREAM-START")
        var start = try next()
        defer { yaml_event_delete(&start) }
        if start.type == YAML_STREAM_END_EVENT { return nil }
        let root = try document()
        var after = try next()
        defer { yaml_event_delete(&after) }
        if after.type != YAML_STREAM_END_EVENT {
            throw YamlError.composer(context: nil, problem: "a second document where one is expected",
                                     mark: Self.mark(after.start_mark), yaml: yaml)
        }
        return root
    }

    /// After DOCUMENT-START: the root node, then DOCUMENT-END.
    mutating func document() throws(YamlError) -> Node {
        anchors = [:]
        var first = try next()
        defer { yaml_event_delete(&first) }
        let root = try node(first, depth: 0)
        var end = try next()
        defer { yaml_event_delete(&end) }
        precondition(end.type == YAML_DOCUMENT_END_EVENT, "libyaml ends a document's one root with DOCUMENT-END")
        return root
    }

    /// The node `event` starts (a scalar, an alias, a mapping's or a
    /// sequence's start, whose items follow).
    mutating func node(_ event: yaml_event_t, depth: Int) throws(YamlError) -> Node {
        let mark = Self.mark(event.start_mark)
        guard depth < maxDepth else {
            throw YamlError.composer(context: nil, problem: "nested deeper than \(maxDepth) levels", mark: mark, yaml: yaml)
        }
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = Self.text(event.data.alias.anchor)
            guard let target = anchors[name] else {
                throw YamlError.composer(context: nil, problem: "the alias *\(name) names no anchor before it", mark: mark, yaml: yaml)
            }
            return target
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            let style = Self.scalarStyle(s.style)
            // A plain scalar without a tag resolves from its text; a quoted
            // or block one, or one tagged `!` (non-specific), is a string.
            let tag = Self.writtenTag(s.tag)
                ?? (style == .plain && s.plain_implicit == 1 ? Tag.resolved(plain: text) : .str)
            let node = Node.scalar(Node.Scalar(text, tag, style, mark))
            remember(s.anchor.map(Self.text), node)
            return node
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            var items: [Node] = []
            while true {
                var item = try next()
                defer { yaml_event_delete(&item) }
                if item.type == YAML_SEQUENCE_END_EVENT { break }
                items.append(try node(item, depth: depth + 1))
            }
            let tag = Self.writtenTag(start.tag) ?? .seq
            let style: Node.Sequence.Style = start.style == YAML_FLOW_SEQUENCE_STYLE ? .flow
                : start.style == YAML_BLOCK_SEQUENCE_STYLE ? .block : .any
            let anchor = start.anchor.map(Self.text)
            let node = Node.sequence(Node.Sequence(items, tag, style, mark, anchor))
            remember(anchor, node)
            return node
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            var pairs: [(Node, Node)] = []
            var seen: Set<String> = []
            var duplicates: [String] = []
            while true {
                var keyEvent = try next()
                defer { yaml_event_delete(&keyEvent) }
                if keyEvent.type == YAML_MAPPING_END_EVENT { break }
                let key = try node(keyEvent, depth: depth + 1)
                var valueEvent = try next()
                defer { yaml_event_delete(&valueEvent) }
                let value = try node(valueEvent, depth: depth + 1)
                // `<<` (a merge key) may come more than once in Compose files.
                if let text = key.scalar?.string, text != "<<" || key.scalar?.style != .plain {
                    if !seen.insert(text).inserted, !duplicates.contains(text) { duplicates.append(text) }
                }
                pairs.append((key, value))
            }
            if !duplicates.isEmpty {
                throw YamlError.duplicatedKeysInMapping(duplicates: duplicates, yaml: yaml)
            }
            let tag = Self.writtenTag(start.tag) ?? .map
            let style: Node.Mapping.Style = start.style == YAML_FLOW_MAPPING_STYLE ? .flow
                : start.style == YAML_BLOCK_MAPPING_STYLE ? .block : .any
            let anchor = start.anchor.map(Self.text)
            let node = Node.mapping(Node.Mapping(pairs, tag, style, mark, anchor))
            remember(anchor, node)
            return node
        default:
            throw YamlError.composer(context: nil, problem: "an unexpected event (\(event.type.rawValue))", mark: mark, yaml: yaml)
        }
    }

    mutating func remember(_ anchor: String?, _ node: Node) {
        if let anchor { anchors[anchor] = node }
    }

    func parserError() -> YamlError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        let context = parser.context.map { YamlError.Context(text: String(cString: $0), mark: Self.mark(parser.context_mark)) }
        let mark = Self.mark(parser.problem_mark)
        switch parser.error {
        case YAML_MEMORY_ERROR: return .memory
        case YAML_READER_ERROR: return .reader(problem: problem, byteOffset: parser.problem_offset, yaml: yaml)
        case YAML_SCANNER_ERROR: return .scanner(context: context, problem: problem, mark: mark, yaml: yaml)
        default: return .parser(context: context, problem: problem, mark: mark, yaml: yaml)
        }
    }

    /// The tag written on a node; nil for none or `!` (non-specific).
    static func writtenTag(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> Tag? {
        guard let pointer else { return nil }
        let text = Self.text(pointer)
        return text == "!" ? nil : Tag(text)
    }

    static func mark(_ mark: yaml_mark_t) -> Mark { Mark(line: mark.line + 1, column: mark.column + 1) }

    static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>) -> String {
        String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
    }

    static func scalarStyle(_ style: yaml_scalar_style_t) -> Node.Scalar.Style {
        switch style {
        case YAML_PLAIN_SCALAR_STYLE: return .plain
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .any
        }
    }
}
