#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Matches containers by name glob, image glob and labels. Every criterion
/// given must match; a matcher with none is rejected by the config loader.
/// Shared by `overrides` and `host_control.allow`.
public struct ContainerMatcher: Equatable, Sendable {
    public struct LabelCriterion: Equatable, Sendable {
        public var key: String
        /// nil: the label must merely exist.
        public var value: String?
        public init(key: String, value: String?) { self.key = key; self.value = value }
    }

    public var name: String?
    public var image: String?
    public var labels: [LabelCriterion]

    public init(name: String? = nil, image: String? = nil, labels: [LabelCriterion] = []) {
        self.name = name
        self.image = image
        self.labels = labels
    }

    public var isEmpty: Bool { name == nil && image == nil && labels.isEmpty }

    /// A container whose metadata is unknown (engine unreachable) matches no rule.
    public func matches(_ metadata: ContainerMetadata?) -> Bool {
        guard let m = metadata else { return false }
        if let pattern = name, !ContainerMatcher.glob(pattern, m.name) { return false }
        if let pattern = image, !ContainerMatcher.glob(pattern, m.image) { return false }
        for label in labels {
            guard let actual = m.labels[label.key] else { return false }
            if let wanted = label.value, !ContainerMatcher.glob(wanted, actual) { return false }
        }
        return true
    }

    /// Shell-style glob (`*`, `?`, `[...]`); `/` is an ordinary character so
    /// `registry.example/team/*` matches nested image paths.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    /// A short form for log lines: `name=ci-* image=builder:*`.
    public var summary: String {
        var parts: [String] = []
        if let n = name { parts.append("name=\(n)") }
        if let i = image { parts.append("image=\(i)") }
        for l in labels { parts.append("label=\(l.key)\(l.value.map { "=\($0)" } ?? "")") }
        return parts.joined(separator: " ")
    }
}
