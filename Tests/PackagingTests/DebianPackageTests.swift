import DockwardCore
import Foundation
import Glibc
import XCTest

/// scripts/build-deb.sh end to end: build the package from the binary next
/// to this test bundle, install it, run it, remove it, purge it.
final class DebianPackageTests: XCTestCase {
    static let installedFiles = [
        "/usr/bin/dockward",
        "/lib/systemd/system/dockward.service",
        "/etc/dockward/dockward.yml",
        "/usr/lib/systemd/catalog/dockward.catalog",
        "/usr/share/doc/dockward/examples/metrics.conf",
        "/usr/share/doc/dockward/examples/actions.conf",
        "/usr/share/doc/dockward/examples/alertmanager.conf",
        "/usr/share/doc/dockward/examples/alertmanager.yml",
        "/usr/share/doc/dockward/examples/check-compose.github-actions.yml",
        "/usr/share/doc/dockward/examples/check-compose.gitlab-ci.yml",
        "/usr/share/doc/dockward/copyright",
        "/usr/share/doc/dockward/changelog.gz",
        "/usr/share/man/man8/dockward.8.gz",
        "/usr/share/man/man5/dockward.yml.5.gz",
    ]

    func buildPackage(into dir: URL) throws -> String {
        let result = try Packaging.run(Packaging.buildDeb.path, [Packaging.binary.path, dir.path], environment: [
            // The debug binary loads the Swift runtime from the toolchain;
            // fine here, where the toolchain is.
            "DOCKWARD_DEB_ALLOW_SHARED_SWIFT": "1",
            "DOCKWARD_DEB_COMPRESSION": "gzip", "DOCKWARD_DEB_COMPRESSION_LEVEL": "1",
        ])
        XCTAssertEqual(result.status, 0, result.output)
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "no package at '\(path)': \(result.output)")
        return path
    }

    func testBuildDebRefusesABinaryThatNeedsTheToolchainsSwiftRuntime() throws {
        try Packaging.requireTools("dpkg-deb", "ldd")
        try Packaging.requireBinary()
        let ldd = try Packaging.run("ldd", [Packaging.binary.path])
        guard ldd.stdout.contains("libswiftCore.so") else {
            throw XCTSkip("the test binary links the Swift runtime statically")
        }
        let dir = try Packaging.makeTempDir("deb-refuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Packaging.run(Packaging.buildDeb.path, [Packaging.binary.path, dir.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--static-swift-stdlib"), result.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testPackageInstallsRunsAndPurgesWithoutLeftovers() throws {
        try Packaging.requireTools("dpkg-deb", "dpkg", "readelf", "ldd")
        try Packaging.requireBinary()
        try Packaging.requireRoot()
        let status = try Packaging.run("dpkg-query", ["-W", "-f=${Status}", "dockward"])
        try Packaging.require(status.status != 0 || status.stdout.hasSuffix("not-installed"),
                              "no dockward package installed already (found: \(status.stdout)); dpkg -P dockward first")

        let dir = try Packaging.makeTempDir("deb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let deb = try buildPackage(into: dir)
        let arch = try Packaging.run("dpkg", ["--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual((deb as NSString).lastPathComponent, "dockward_\(DockwardVersion.current)_\(arch).deb")

        // Control data.
        let fields = try Packaging.run("dpkg-deb", ["-f", deb, "Package", "Version", "Architecture", "Depends", "Maintainer"]).stdout
        XCTAssertTrue(fields.contains("Package: dockward\n"), fields)
        XCTAssertTrue(fields.contains("Version: \(DockwardVersion.current)\n"), fields)
        XCTAssertTrue(fields.contains("Architecture: \(arch)\n"), fields)
        XCTAssertTrue(fields.contains("libsystemd0"), fields)
        XCTAssertTrue(fields.contains("Maintainer: "), fields)
        let conffiles = try Packaging.run("dpkg-deb", ["-I", deb, "conffiles"])
        XCTAssertEqual(conffiles.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "/etc/dockward/dockward.yml")
        let contents = try Packaging.run("dpkg-deb", ["-c", deb]).stdout
        for file in Self.installedFiles { XCTAssertTrue(contents.contains(" .\(file)\n"), "\(file) not in the package:\n\(contents)") }
        XCTAssertFalse(contents.split(separator: "\n").contains { !$0.contains(" root/root ") }, "files not owned by root:\n\(contents)")

        // As dh_strip: no symbol table left, the debug file named, and the
        // symbols in dockward-dbgsym under the build id.
        let unpacked = dir.appendingPathComponent("unpacked")
        XCTAssertEqual(try Packaging.run("dpkg-deb", ["-x", deb, unpacked.path]).status, 0)
        let sections = try Packaging.run("readelf", ["-S", "-W", unpacked.appendingPathComponent("usr/bin/dockward").path]).stdout
        XCTAssertFalse(sections.contains(".symtab"), "the packaged binary keeps its symbol table")
        XCTAssertFalse(sections.contains(".debug_info"), "the packaged binary keeps its debug info")
        XCTAssertTrue(sections.contains(".gnu_debuglink"), "the packaged binary names no debug file")
        let dbgsym = dir.appendingPathComponent("dockward-dbgsym_\(DockwardCore.DockwardVersion.current)_\(arch).deb").path
        let dbgFields = try Packaging.run("dpkg-deb", ["-f", dbgsym, "Package", "Depends", "Section", "Auto-Built-Package", "Build-Ids"]).stdout
        XCTAssertTrue(dbgFields.contains("Depends: dockward (= \(DockwardCore.DockwardVersion.current))"), dbgFields)
        XCTAssertTrue(dbgFields.contains("Auto-Built-Package: debug-symbols"), dbgFields)
        let buildID = try XCTUnwrap(dbgFields.components(separatedBy: "Build-Ids: ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(try Packaging.run("dpkg-deb", ["-c", dbgsym]).stdout
            .contains("./usr/lib/debug/.build-id/\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug"), "no debug file for build id \(buildID)")

        var installed = false
        defer { if installed { _ = try? Packaging.run("dpkg", ["-P", "dockward"]) } }
        let env = ["DEBIAN_FRONTEND": "noninteractive"]
        let install = try Packaging.run("dpkg", ["-i", deb], environment: env)
        installed = true
        XCTAssertEqual(install.status, 0, install.output)

        for file in Self.installedFiles { XCTAssertTrue(FileManager.default.fileExists(atPath: file), "\(file) missing after dpkg -i") }
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/dockward"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "/lib/systemd/system/dockward.service")),
                       try Data(contentsOf: Packaging.unitFile))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "/etc/dockward/dockward.yml")),
                       try Data(contentsOf: Packaging.configFile))
        let check = try Packaging.run("/usr/bin/dockward", ["check-config", "/etc/dockward/dockward.yml"])
        XCTAssertEqual(check.status, 0, "check-config of the packaged config: \(check.output)")
        let version = try Packaging.run("/usr/bin/dockward", ["version"])
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "dockward \(DockwardVersion.current)")
        XCTAssertTrue(try Packaging.run("dpkg-query", ["-W", "-f=${Conffiles}", "dockward"]).stdout
            .contains("/etc/dockward/dockward.yml"))
        if Packaging.toolExists("journalctl") {
            // postinst ran journalctl --update-catalog.
            let list = try Packaging.run("journalctl", ["--list-catalog"]).stdout
            XCTAssertTrue(list.contains("c27bd08d95eb4ef99d7b04c64bb68468"), "catalog not in journalctl's database after install")
        }

        // A local edit survives a reinstall (dpkg keeps a changed conffile).
        let edited = try String(contentsOfFile: "/etc/dockward/dockward.yml", encoding: .utf8) + "# local edit\n"
        try edited.write(toFile: "/etc/dockward/dockward.yml", atomically: true, encoding: .utf8)
        let reinstall = try Packaging.run("dpkg", ["-i", "--force-confold", deb], environment: env)
        XCTAssertEqual(reinstall.status, 0, reinstall.output)
        XCTAssertEqual(try String(contentsOfFile: "/etc/dockward/dockward.yml", encoding: .utf8), edited)

        // dpkg -r: everything but the conffile goes.
        let remove = try Packaging.run("dpkg", ["-r", "dockward"], environment: env)
        XCTAssertEqual(remove.status, 0, remove.output)
        for file in Self.installedFiles where file != "/etc/dockward/dockward.yml" {
            XCTAssertFalse(FileManager.default.fileExists(atPath: file), "\(file) left after dpkg -r")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/dockward/dockward.yml"), "dpkg -r keeps the conffile")
        XCTAssertTrue(try Packaging.run("dpkg-query", ["-W", "-f=${Status}", "dockward"]).stdout.hasSuffix("config-files"))
        if Packaging.toolExists("journalctl") {
            let list = try Packaging.run("journalctl", ["--list-catalog"]).stdout
            XCTAssertFalse(list.contains("c27bd08d95eb4ef99d7b04c64bb68468"), "postrm left the catalog in journalctl's database")
        }

        // dpkg -P: nothing left at all.
        let purge = try Packaging.run("dpkg", ["-P", "dockward"], environment: env)
        XCTAssertEqual(purge.status, 0, purge.output)
        installed = false
        for file in Self.installedFiles + ["/etc/dockward", "/usr/share/doc/dockward"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: file), "\(file) left after dpkg -P")
        }
        XCTAssertNotEqual(try Packaging.run("dpkg-query", ["-W", "-f=${Status}", "dockward"]).stdout, "install ok installed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/lib/dpkg/info/dockward.list"))
        // The system user postinst made goes with the package.
        XCTAssertNotEqual(try Packaging.run("getent", ["passwd", "dockward"]).status, 0, "user dockward left after dpkg -P")
    }
}
