@testable import DockwardCgroup
import DockwardCore
import XCTest

final class PidsFileParserTests: XCTestCase {
    func testCountNormal() {
        XCTAssertEqual(parse("123\n", PidsFileParser.parseCount), 123)
        XCTAssertEqual(parse("0\n", PidsFileParser.parseCount), 0)
        XCTAssertEqual(parse("4194304\n", PidsFileParser.parseCount), 4_194_304)
    }

    func testCountWithoutNewline() {
        XCTAssertEqual(parse("42", PidsFileParser.parseCount), 42)
    }

    func testCountSurroundingWhitespace() {
        XCTAssertEqual(parse("  7 \r\n", PidsFileParser.parseCount), 7)
        XCTAssertEqual(parse("\t7\n\n", PidsFileParser.parseCount), 7)
    }

    func testCountEmptyAndBlank() {
        XCTAssertNil(parse("", PidsFileParser.parseCount))
        XCTAssertNil(parse("\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("   ", PidsFileParser.parseCount))
    }

    func testCountGarbage() {
        XCTAssertNil(parse("abc\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("12a\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("1 2\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("+5\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("5.0\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("max\n", PidsFileParser.parseCount))
        XCTAssertNil(parse(bytes: [0x31, 0x00, 0x32], PidsFileParser.parseCount))
        XCTAssertNil(parse(bytes: [0xFF, 0xFE], PidsFileParser.parseCount))
    }

    func testCountNegative() {
        XCTAssertNil(parse("-1\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("-0\n", PidsFileParser.parseCount))
    }

    func testCountOverflowDoesNotTrap() {
        XCTAssertNil(parse("99999999999999999999999\n", PidsFileParser.parseCount))
        XCTAssertNil(parse("9223372036854775808\n", PidsFileParser.parseCount))  // Int64.max + 1
        XCTAssertEqual(parse("9223372036854775807\n", PidsFileParser.parseCount), Int64.max)
    }

    func testLimit() {
        XCTAssertEqual(parse("max\n", PidsFileParser.parseLimit), PidsSample.unlimited)
        XCTAssertEqual(parse("max", PidsFileParser.parseLimit), PidsSample.unlimited)
        XCTAssertEqual(parse("50\n", PidsFileParser.parseLimit), 50)
        XCTAssertEqual(parse(" 50 \n", PidsFileParser.parseLimit), 50)
        XCTAssertEqual(parse("0\n", PidsFileParser.parseLimit), 0)
    }

    func testLimitRejects() {
        XCTAssertNil(parse("", PidsFileParser.parseLimit))
        XCTAssertNil(parse("\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("MAX\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("maxx\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("ma\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("max 5\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("-1\n", PidsFileParser.parseLimit))
        XCTAssertNil(parse("99999999999999999999999\n", PidsFileParser.parseLimit))
    }

    func testRefusedForksV1AndV2() {
        XCTAssertEqual(parse("max 5\n", PidsFileParser.parseRefusedForks), 5)
        XCTAssertEqual(parse("max 0\n", PidsFileParser.parseRefusedForks), 0)
        XCTAssertEqual(parse("max 5", PidsFileParser.parseRefusedForks), 5)
    }

    func testRefusedForksWithExtraV2Lines() {
        XCTAssertEqual(parse("max 5\nmax.imposed 3\n", PidsFileParser.parseRefusedForks), 5)
        XCTAssertEqual(parse("max.imposed 3\nmax 7\n", PidsFileParser.parseRefusedForks), 7)
        XCTAssertEqual(parse("max.imposed 3\nmax 0\nfuture 9\n", PidsFileParser.parseRefusedForks), 0)
    }

    func testRefusedForksRejects() {
        XCTAssertNil(parse("", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max \n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max.imposed 3\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("maxx 3\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max -1\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max abc\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("max 99999999999999999999999\n", PidsFileParser.parseRefusedForks))
        XCTAssertNil(parse("garbage\n", PidsFileParser.parseRefusedForks))
    }

    func testRefusedForksWhitespace() {
        XCTAssertEqual(parse("max  12 \n", PidsFileParser.parseRefusedForks), 12)
        XCTAssertEqual(parse("max 12\r\n", PidsFileParser.parseRefusedForks), 12)
        XCTAssertEqual(parse("\nmax 12\n", PidsFileParser.parseRefusedForks), 12)
    }

    func testParsersAcceptSlicesOfALargerBuffer() {
        // The reader hands the parser the filled prefix of a reused buffer.
        let buffer = Array("42\nleftover from a longer earlier read".utf8)
        let value = buffer.withUnsafeBytes { PidsFileParser.parseCount(UnsafeRawBufferPointer(rebasing: $0[0..<3])) }
        XCTAssertEqual(value, 42)
    }

    func testLoadavgTotal() {
        XCTAssertEqual(parse("0.28 0.32 0.15 2/105 4273\n", HostPidsReader.parseLoadavgTotal), 105)
        XCTAssertNil(parse("0.28 0.32 0.15 2-105 4273\n", HostPidsReader.parseLoadavgTotal))
        XCTAssertNil(parse("0.28 0.32 0.15\n", HostPidsReader.parseLoadavgTotal))
        XCTAssertNil(parse("0.28 0.32 0.15 x/105 4273\n", HostPidsReader.parseLoadavgTotal))
        XCTAssertNil(parse("0.28 0.32 0.15 2/ 4273\n", HostPidsReader.parseLoadavgTotal))
        XCTAssertNil(parse("", HostPidsReader.parseLoadavgTotal))
    }

    func testPrintableEscapesAndTruncates() {
        XCTAssertEqual(parse("ab\n\t\u{1}\"", { CgroupReadError.printable($0) }), "ab\\n\\t\\x01\\\"")
        let long = String(repeating: "x", count: 100)
        XCTAssertEqual(parse(long, { CgroupReadError.printable($0) }), String(repeating: "x", count: 64) + "...")
        XCTAssertEqual(parse(bytes: [0xFF], { CgroupReadError.printable($0) }), "\\xff")
    }
}
