import DockwardYAML
import XCTest

/// The tree libyaml's events make, on hand-written documents.
final class ComposeTests: XCTestCase {
    func testMappingsSequencesAndTheirLines() throws {
        let root = try XCTUnwrap(try compose(yaml: "# head\npids:\n  warn: 0.8\n  list: [a, 'b']\nname: \"x\"\n"))
        let top = try XCTUnwrap(root.mapping)
        XCTAssertEqual(top.map { $0.key.string }, ["pids", "name"])
        XCTAssertEqual(top["pids"]?.mark, Mark(line: 3, column: 3))
        let pids = try XCTUnwrap(top["pids"]?.mapping)
        XCTAssertEqual(pids["warn"]?.string, "0.8")
        XCTAssertEqual(pids["warn"]?.tag, .float)
        let list = try XCTUnwrap(pids["list"]?.sequence)
        XCTAssertEqual(list.map(\.string), ["a", "b"])
        XCTAssertEqual(list.style, .flow)
        XCTAssertEqual(list[1].scalar?.style, .singleQuoted)
        XCTAssertEqual(top["name"]?.scalar?.style, .doubleQuoted)
        XCTAssertEqual(top["name"]?.mark?.line, 5)
    }

    func testPlainScalarsResolveAsYAML11AndQuotedOnesStayStrings() throws {
        let top = try XCTUnwrap(try compose(yaml: "a: ~\nb:\nc: yes\nd: 0x1f\ne: -12\nf: 1.5e3\ng: word\nh: 'null'\ni: !!str 12\n")?.mapping)
        XCTAssertEqual(top["a"]?.tag, .null)
        XCTAssertEqual(top["b"]?.tag, .null)
        XCTAssertEqual(top["b"]?.string, "")
        XCTAssertEqual(top["c"]?.tag, .bool)
        XCTAssertEqual(top["d"]?.tag, .int)
        XCTAssertEqual(top["e"]?.tag, .int)
        XCTAssertEqual(top["f"]?.tag, .float)
        XCTAssertEqual(top["g"]?.tag, .str)
        XCTAssertEqual(top["h"]?.tag, .str)
        XCTAssertEqual(top["i"]?.tag, .str)
        XCTAssertEqual(top["i"]?.string, "12")
    }

    func testAnEmptyStreamHasNoDocument() throws {
        XCTAssertNil(try compose(yaml: ""))
        XCTAssertNil(try compose(yaml: "# only a comment\n"))
    }

    func testAliasesStandForTheirAnchorsNode() throws {
        let top = try XCTUnwrap(try compose(yaml: "base: &b {x: 1}\nuse: *b\n")?.mapping)
        XCTAssertEqual(top["use"]?.mapping?["x"]?.string, "1")
        XCTAssertEqual(top["base"]?.mapping?.anchor, "b")
    }

    func testErrorsSayWhereTheyAre() {
        func failure(_ yaml: String) -> YamlError? {
            do { _ = try compose(yaml: yaml); return nil } catch { return error }
        }
        guard case .scanner(_, _, let mark, _) = failure("a: 'unclosed\nb: 2\n") else { return XCTFail("no scanner error") }
        XCTAssertEqual(mark.line, 3)
        guard case .parser(_, let problem, let mark2, _) = failure("a: [1, 2\nb: 3\n") else { return XCTFail("no parser error") }
        XCTAssertEqual(mark2.line, 2, problem)
        guard case .composer(_, let problem3, _, _) = failure("a: *nowhere\n") else { return XCTFail("no composer error") }
        XCTAssertTrue(problem3.contains("*nowhere"), problem3)
        guard case .composer(_, let problem4, let mark4, _) = failure("a: 1\n---\nb: 2\n") else { return XCTFail("two documents") }
        XCTAssertEqual(mark4.line, 2, problem4)
        guard case .duplicatedKeysInMapping(let keys, _) = failure("a: 1\nb: 2\na: 3\nb: 4\n") else { return XCTFail("duplicates") }
        XCTAssertEqual(keys, ["a", "b"])
    }

    func testMergeKeysMayRepeat() throws {
        let top = try XCTUnwrap(try compose(yaml: "x: &a {p: 1}\ny: &b {q: 2}\nz:\n  <<: *a\n  <<: *b\n")?.mapping)
        XCTAssertEqual(top["z"]?.mapping?.count, 2)
    }

    func testNestingPastTheLimitIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: maxDepth + 10) + String(repeating: "]", count: maxDepth + 10)
        XCTAssertThrowsError(try compose(yaml: deep)) { error in
            guard case .composer(_, let problem, _, _)? = error as? YamlError else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("nested deeper"), problem)
        }
        XCTAssertNoThrow(try compose(yaml: String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
    }
}
