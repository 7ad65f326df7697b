@testable import DockwardAudit
import XCTest

final class ComposeInterpolationTests: XCTestCase {
    let env = ["SET": "value", "EMPTY": "", "PATHV": "/run", "N": "7"]

    func testEachFormAgainstATable() throws {
        let table: [(String, String)] = [
            ("plain", "plain"),
            ("$SET", "value"),
            ("${SET}", "value"),
            ("pre-${SET}-post", "pre-value-post"),
            ("$SET/x", "value/x"),
            ("${UNSET}", ""),
            ("$UNSET", ""),
            ("${UNSET:-dflt}", "dflt"),
            ("${EMPTY:-dflt}", "dflt"),
            ("${SET:-dflt}", "value"),
            ("${UNSET-dflt}", "dflt"),
            ("${EMPTY-dflt}", ""),
            ("${SET-dflt}", "value"),
            ("${UNSET:-}", ""),
            ("${UNSET:-a:b/c}", "a:b/c"),
            // The default is taken as written, not interpolated again (Compose 1.29).
            ("${UNSET:-$$SET}", "$$SET"),
            ("$$SET", "$SET"),
            ("$${SET}", "${SET}"),
            ("a$$", "a$"),
            ("${SET:?must}", "value"),
            ("${EMPTY?must}", ""),
            ("${PATHV}/docker.sock:/s", "/run/docker.sock:/s"),
            ("${N}${N}", "77"),
            ("$N_X", ""),
        ]
        for (input, expected) in table {
            var unset = Set<String>()
            XCTAssertEqual(try ComposeInterpolation.interpolate(input, environment: env, unset: &unset), expected, input)
        }
    }

    func testUnsetPlainReferencesAreCollected() throws {
        var unset = Set<String>()
        _ = try ComposeInterpolation.interpolate("$A ${B} ${C:-x} ${D-y} $SET", environment: env, unset: &unset)
        XCTAssertEqual(unset, ["A", "B"])
    }

    func testRequiredAndInvalidForms() {
        let failing: [(String, ComposeInterpolation.Failure)] = [
            ("${UNSET:?set UNSET}", .required(variable: "UNSET", message: "set UNSET")),
            ("${EMPTY:?no empty}", .required(variable: "EMPTY", message: "no empty")),
            ("${UNSET?gone}", .required(variable: "UNSET", message: "gone")),
            ("$", .invalid("$")),
            ("a $ b", .invalid("a $ b")),
            ("${", .invalid("${")),
            ("${}", .invalid("${}")),
            ("${1A}", .invalid("${1A}")),
            ("${SET:+alt}", .invalid("${SET:+alt}")),
            ("${SET x}", .invalid("${SET x}")),
        ]
        for (input, expected) in failing {
            var unset = Set<String>()
            XCTAssertThrowsError(try ComposeInterpolation.interpolate(input, environment: env, unset: &unset), input) {
                XCTAssertEqual($0 as? ComposeInterpolation.Failure, expected, input)
            }
        }
    }

    func testDotEnv() {
        let text = """
        # comment
        PLAIN=one
        export EXPORTED=two
        SPACED = three
        SINGLE='a $b # c'
        DOUBLE="line\\nnext \\"q\\""
        INLINE=value # a comment
        EMPTY=
        NOEQUALS
        HASH=a#b
        """
        XCTAssertEqual(ComposeDotEnv.parse(text), [
            "PLAIN": "one", "EXPORTED": "two", "SPACED": "three", "SINGLE": "a $b # c",
            "DOUBLE": "line\nnext \"q\"", "INLINE": "value", "EMPTY": "", "HASH": "a#b",
        ])
    }
}
