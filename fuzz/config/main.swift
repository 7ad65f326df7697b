// libFuzzer target: ConfigLoader.parse(bytes:file:) (Sources/DockwardCore/ConfigLoader.swift),
// through DockwardYAML (built with coverage, its own module as in the package)
// over the system's libyaml (not instrumented: no coverage inside libyaml; see
// fuzz/build.sh and fuzz/README.md).
//
// Checks, on every input: no crash; a refused file has at least one issue and
// every issue names a line >= 1; parsing is deterministic. Time and memory are
// bounded by libFuzzer (-timeout, -rss_limit_mb in scripts/fuzz.sh): YAML
// anchors and aliases that expand exponentially surface as timeouts or OOMs.

private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !ok() { fatalError("property violated: \(message())") }
}

private func outcome(_ bytes: [UInt8]) -> Result<DockwardConfig, ConfigError> {
    Result { () throws(ConfigError) in try ConfigLoader.parse(bytes: bytes, file: "fuzz.yml") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let first = outcome(bytes)
    if case .failure(let error) = first {
        check(!error.issues.isEmpty, "ConfigError without issues")
        for issue in error.issues {
            check(issue.line >= 1, "issue with line \(issue.line): \(issue)")
            check(issue.file == "fuzz.yml", "issue names file \(issue.file)")
        }
    }
    // Deterministic: a second parse gives the same answer (cheap next to libyaml).
    let second = outcome(bytes)
    check(second == first, "two parses of the same bytes differ:\n  first:  \(first)\n  second: \(second)")
    return 0
}
