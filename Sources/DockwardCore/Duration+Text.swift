/// Durations in config files are written `500ms`, `1s`, `5m`, `1h` (a whole
/// number and a unit; `1m30s` combinations too). Kept as nanoseconds so the hot
/// path does integer arithmetic only.
public struct Interval: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func milliseconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000) }
    public static func seconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000_000) }
    public static func minutes(_ n: Int64) -> Interval { .seconds(n * 60) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public static func < (a: Interval, b: Interval) -> Bool { a.nanoseconds < b.nanoseconds }

    private static let units: [(suffix: String, nanos: Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Parses `500ms`, `1s`, `5m`, `2h`, `1m30s`. Nil for anything else
    /// (no bare numbers: a unit is required so `poll_interval: 1` is not ambiguous).
    public init?(text: String) {
        var total: Int64 = 0
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix(while: { $0.isASCII && $0.isLetter })
            guard let unit = Interval.units.first(where: { $0.suffix == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            let (product, overflow1) = value.multipliedReportingOverflow(by: unit.nanos)
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow1, !overflow2 else { return nil }
            total = sum
        }
        self.nanoseconds = total
    }

    /// The shortest exact text form, e.g. `1s`, `1500ms`, `10m`.
    public var description: String {
        for unit in Interval.units.reversed() where nanoseconds % unit.nanos == 0 && nanoseconds != 0 {
            return "\(nanoseconds / unit.nanos)\(unit.suffix)"
        }
        if nanoseconds == 0 { return "0s" }
        return "\(Double(nanoseconds) / 1e6)ms"
    }
}
