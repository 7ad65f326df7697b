import Foundation
import XCTest

/// Where the tests run and what they may take for granted. Tests that need
/// a service (the engine, journald, a v1 pids hierarchy, a tool) skip on a
/// developer's machine without it, but must not skip in CI, where a skip
/// would hide that the service never came up.
public enum TestEnvironment {
    /// True when `CI` is set to anything but "", "false" or "0". CI systems
    /// spell it differently (`true`, `1`, `yes`); a developer turning it off
    /// writes `CI=0` or `CI=false`.
    public static var inCI: Bool { isCI(ProcessInfo.processInfo.environment["CI"]) }

    /// The rule behind ``inCI`` for one value of `CI` (nil: unset).
    public static func isCI(_ value: String?) -> Bool {
        guard let value, !value.isEmpty else { return false }
        return !["false", "0"].contains(value.lowercased())
    }

    /// A prerequisite is missing: in CI records `message` as a failure (and
    /// stops the test), elsewhere skips the test with the same message.
    public static func skipOrFailInCI(_ message: String, file: StaticString = #filePath, line: UInt = #line) throws -> Never {
        if inCI {
            XCTFail(message, file: file, line: line)
            throw XCTSkip("failed above: \(message)", file: file, line: line)
        }
        throw XCTSkip(message, file: file, line: line)
    }

    /// ``skipOrFailInCI(_:file:line:)`` unless `condition` holds.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        guard condition else { try skipOrFailInCI(message(), file: file, line: line) }
    }

    /// The repository's root folder (this file is Tests/DockwardTestSupport/TestEnvironment.swift).
    public static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().standardized

    /// The built `dockward` binary: `swift build` puts it in the folder of the
    /// test executable (on Linux the test bundle is an executable whose Bundle
    /// URL is that folder; elsewhere a directory inside it); else the debug
    /// build under the repository. The last candidate when none exists, so a
    /// message can name where it was looked for.
    public static var dockwardBinary: URL {
        dockwardBinary(nextTo: [Bundle.main.bundleURL, Bundle(for: Marker.self).bundleURL], repoRoot: repoRoot)
    }

    /// The rule behind ``dockwardBinary``: an executable `dockward` in each
    /// of `bundles` or its folder, in that order, else the debug build
    /// under `repoRoot` (also when that one is missing).
    public static func dockwardBinary(nextTo bundles: [URL], repoRoot: URL) -> URL {
        let candidates = bundles.flatMap {
            [$0.appendingPathComponent("dockward"), $0.deletingLastPathComponent().appendingPathComponent("dockward")]
        } + [repoRoot.appendingPathComponent(".build/debug/dockward")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    /// Skips (fails in CI) when ``dockwardBinary`` is not built.
    public static func requireDockwardBinary(file: StaticString = #filePath, line: UInt = #line) throws {
        try require(FileManager.default.isExecutableFile(atPath: dockwardBinary.path),
                    "dockward binary missing at \(dockwardBinary.path) (swift build --build-tests builds it)",
                    file: file, line: line)
    }

    private final class Marker {}
}

/// The Compose corpus (Tests/ComposeCorpus): its cases and the environment
/// they are read with, for the differential and the end-to-end tests.
public enum ComposeCorpus {
    public static let folder = TestEnvironment.repoRoot.appendingPathComponent("Tests/ComposeCorpus")

    public struct Case {
        public var name: String
        public var folder: URL
        /// As `-f` takes them, relative to the case's folder, in merge order.
        public var files: [String]
        /// It can run on the private engine (`docker-compose up`).
        public var deployable: Bool
    }

    public static var cases: [Case] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        return names.compactMap { name in
            let dir = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("compose.yml").path) else { return nil }
            let list = (try? String(contentsOf: dir.appendingPathComponent("files"), encoding: .utf8))?
                .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            return Case(name: name, folder: dir, files: list ?? ["compose.yml"],
                        deployable: FileManager.default.fileExists(atPath: dir.appendingPathComponent("deploy").path))
        }
    }

    /// The variables the corpus uses; `runDir` is the private engine's folder.
    public static func environment(runDir: String, blockDevice: String) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["RUN_DIR"] = runDir
        env["IMAGE"] = "local/busybox:test"
        env["BLOCK_DEVICE"] = blockDevice
        env.removeValue(forKey: "COMPOSE_PROJECT_NAME")
        env.removeValue(forKey: "COMPOSE_PROFILES")
        return env
    }

    /// Debian 13's docker-compose (Compose v2, the Go one), which
    /// scripts/test-services.sh start unpacks into the test cache:
    /// `DOCKWARD_TEST_COMPOSE`, else its place under `DOCKWARD_TEST_CACHE`
    /// (/var/cache/dockward-test). Debian 12's own docker-compose is 1.29,
    /// which reads files differently, so PATH is not searched.
    public static var composeV2: String? {
        let env = ProcessInfo.processInfo.environment
        let cache = env["DOCKWARD_TEST_CACHE"] ?? "/var/cache/dockward-test"
        let path = env["DOCKWARD_TEST_COMPOSE"] ?? "\(cache)/compose-v2/usr/libexec/docker/cli-plugins/docker-compose"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Why ``composeV2`` is nil, for a skip or a failure.
    public static let composeV2Missing = "Compose v2 (Debian 13's docker-compose) is not in the test cache "
        + "(scripts/test-services.sh start fetches it into /var/cache/dockward-test/compose-v2)"
}
