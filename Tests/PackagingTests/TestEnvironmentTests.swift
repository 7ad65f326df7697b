import DockwardTestSupport
import Foundation
import XCTest

/// The rules every test target relies on to find the repository and the
/// binary and to decide between skipping and failing.
final class TestEnvironmentTests: XCTestCase {
    func testCIValues() {
        XCTAssertFalse(TestEnvironment.isCI(nil))
        XCTAssertFalse(TestEnvironment.isCI(""))
        XCTAssertFalse(TestEnvironment.isCI("false"))
        XCTAssertFalse(TestEnvironment.isCI("FALSE"))
        XCTAssertFalse(TestEnvironment.isCI("0"))
        XCTAssertTrue(TestEnvironment.isCI("true"))
        XCTAssertTrue(TestEnvironment.isCI("1"))
        XCTAssertTrue(TestEnvironment.isCI("yes"))
    }

    func testRepoRootHoldsThePackage() {
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: TestEnvironment.repoRoot.appendingPathComponent("Package.swift").path), TestEnvironment.repoRoot.path)
    }

    /// The built binary is found beside the test bundle (where `swift
    /// build --build-tests` puts both), and is an executable file.
    func testBinaryIsFoundNextToTheTests() throws {
        try TestEnvironment.requireDockwardBinary()
        let binary = TestEnvironment.dockwardBinary.resolvingSymlinksInPath()
        let testsFolder = Bundle(for: Self.self).bundleURL.resolvingSymlinksInPath()
        XCTAssertTrue([testsFolder, testsFolder.deletingLastPathComponent()].contains(binary.deletingLastPathComponent()),
                      "\(binary.path) is not beside \(testsFolder.path)")
        var isFolder: ObjCBool = true
        XCTAssertTrue(FileManager.default.fileExists(atPath: binary.path, isDirectory: &isFolder) && !isFolder.boolValue)
    }

    /// The lookup on made-up folders: a bundle folder with an executable
    /// `dockward` wins, in the bundle or beside it; a file that is not
    /// executable, or none, leaves the repository's debug build.
    func testBinaryLookupTakesTheFirstExecutableCandidate() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("dockward-lookup-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: base) }
        let build = base.appendingPathComponent("build"), bundle = build.appendingPathComponent("Tests.xctest")
        let repo = base.appendingPathComponent("repo")
        try fm.createDirectory(at: bundle, withIntermediateDirectories: true)
        let fallback = repo.appendingPathComponent(".build/debug/dockward")

        XCTAssertEqual(TestEnvironment.dockwardBinary(nextTo: [bundle], repoRoot: repo), fallback, "nothing built")

        let beside = build.appendingPathComponent("dockward")
        XCTAssertTrue(fm.createFile(atPath: beside.path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644]))
        XCTAssertEqual(TestEnvironment.dockwardBinary(nextTo: [bundle], repoRoot: repo), fallback, "not executable")

        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: beside.path)
        XCTAssertEqual(TestEnvironment.dockwardBinary(nextTo: [bundle], repoRoot: repo), beside)

        let inside = bundle.appendingPathComponent("dockward")
        XCTAssertTrue(fm.createFile(atPath: inside.path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
        XCTAssertEqual(TestEnvironment.dockwardBinary(nextTo: [bundle], repoRoot: repo), inside, "the bundle's own first")
    }
}
