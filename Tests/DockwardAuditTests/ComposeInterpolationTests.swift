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
            // Defaults are interpolated in turn, so they nest (Compose v2).
            ("${UNSET:-$$SET}", "$SET"),
            ("${UNSET:-${SET}}", "value"),
            ("${UNSET:-${ALSO_UNSET:-deep}}/x", "deep/x"),
            ("${UNSET-/srv/${SET}}", "/srv/value"),
            ("${UNSET:-a}}", "a}"),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${UNSET:+alt}", ""),
            ("${SET+alt}", "alt"),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            // A `$` that starts no variable is kept as written (Compose v2).
            ("$", "$"),
            ("a $ b", "a $ b"),
            ("end$", "end$"),
            ("$1 $@ $-x $}", "$1 $@ $-x $}"),
            ("admin:$2a$12$.8xQ3l2H4v/9a0Zx", "admin:$2a$12$.8xQ3l2H4v/9a0Zx"),
            // ... but one before a letter does: $R9h is a variable.
            ("dev:$2y$05$R9h/cIPz", "dev:$2y$05/cIPz"),
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
        unset = []
        _ = try ComposeInterpolation.interpolate("$2a$12$abc ${E:+x} ${F+y}", environment: env, unset: &unset)
        XCTAssertEqual(unset, ["abc"])
    }

    func testRequiredAndInvalidForms() {
        let failing: [(String, ComposeInterpolation.Failure)] = [
            ("${UNSET:?set UNSET}", .required(variable: "UNSET", message: "set UNSET")),
            ("${EMPTY:?no empty}", .required(variable: "EMPTY", message: "no empty")),
            ("${UNSET?gone}", .required(variable: "UNSET", message: "gone")),
            ("${", .invalid("${")),
            ("${}", .invalid("${}")),
            ("${1A}", .invalid("${1A}")),
            ("${SET x}", .invalid("${SET x}")),
            ("${SET:}", .invalid("${SET:}")),
            ("${SET:-x", .invalid("${SET:-x")),
            // A bad form in a default fails even when the default is not used.
            ("${SET:-${1}}", .invalid("${SET:-${1}}")),
            ("${UNSET:?${OTHER:-no} value}", .required(variable: "UNSET", message: "no value")),
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
        XCTAssertEqual(try ComposeDotEnv.parse(text), [
            "PLAIN": "one", "EXPORTED": "two", "SPACED": "three", "SINGLE": "a $b # c",
            "DOUBLE": "line\nnext \"q\"", "INLINE": "value", "EMPTY": "", "HASH": "a#b",
        ])
    }

    /// Compose v2 interpolates the `.env` file's own values (not in single
    /// quotes), from the environment first, then the lines above; a bare
    /// key takes the environment's value; the environment wins over a line.
    func testDotEnvInterpolatesAndTheEnvironmentWins() throws {
        let text = """
        ROOT=/srv
        DATA=${ROOT}/data
        LATER=$ROOT/later # comment
        QUOTED="${ROOT:-x} \\$ROOT"
        KEPT='${ROOT}'
        HASH=admin:$2a$12$.abc
        FROM_ENV=file
        USES_ENV=${FROM_ENV}
        INHERITED
        YAML: style
        """
        let parsed = try ComposeDotEnv.parse(text, environment: ["FROM_ENV": "env", "INHERITED": "in"])
        XCTAssertEqual(parsed, [
            "ROOT": "/srv", "DATA": "/srv/data", "LATER": "/srv/later", "QUOTED": "/srv $ROOT", "KEPT": "${ROOT}",
            "HASH": "admin:$2a$12$.abc", "FROM_ENV": "env", "USES_ENV": "env", "INHERITED": "in", "YAML": "style",
        ])
        XCTAssertThrowsError(try ComposeDotEnv.parse("BAD KEY=1\n"))
        XCTAssertThrowsError(try ComposeDotEnv.parse("A=\"open\n"))
        XCTAssertThrowsError(try ComposeDotEnv.parse("A=${B:?needed}\n"))
    }
}
