/// Text helpers Foundation's full module would give; dockward links only
/// FoundationEssentials (no ICU data), so the few it uses are here.
extension StringProtocol {
    /// Without the blanks at either end: spaces, tabs and Unicode's other
    /// space separators (what `CharacterSet.whitespaces` holds); newlines stay.
    public func trimmingBlanks() -> String { trimming(while: \.isBlank) }

    /// Without whitespace at either end, newlines included
    /// (`CharacterSet.whitespacesAndNewlines`).
    public func trimmingWhitespace() -> String { trimming(while: \.isWhitespace) }

    private func trimming(while isTrimmed: (Character) -> Bool) -> String {
        var s = Substring(self)
        while let c = s.first, isTrimmed(c) { s = s.dropFirst() }
        while let c = s.last, isTrimmed(c) { s = s.dropLast() }
        return String(s)
    }
}

extension Character {
    /// A tab or a space separator (Unicode category Zs).
    public var isBlank: Bool {
        self == "\t" || (unicodeScalars.count == 1 && unicodeScalars.first?.properties.generalCategory == .spaceSeparator)
    }
}

extension BinaryInteger {
    /// The number in decimal, with zeros in front up to `width` digits
    /// (`%0*d`); a negative number keeps its sign first.
    public func zeroPadded(_ width: Int) -> String {
        let digits = String(self.magnitude)
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return self < 0 ? "-" + padded : padded
    }
}

extension String {
    /// `%XX` escapes decoded (`String.removingPercentEncoding`); nil when an
    /// escape is cut short or not hex, or the bytes are no UTF-8.
    public var percentDecoded: String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var it = utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard let hi = it.next().flatMap(Self.hexValue), let lo = it.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
