import DockwardCgroup
import DockwardCore
import DockwardEngines
import Foundation
import Glibc
import XCTest

extension CgroupDiscovery {
    /// Over the registered engines' cgroup names, as the daemon makes it.
    convenience init(layout: CgroupLayout) { self.init(layout: layout, names: Engines.cgroupNames()) }

    /// Every container cgroup the production scan visits, sorted by id then
    /// path, for comparing with what a test expects.
    func allCgroups() -> [DiscoveredCgroup] {
        var found: [DiscoveredCgroup] = []
        scan { id, driver, path in found.append(DiscoveredCgroup(id: id, path: path(), driver: driver)) }
        return found.sorted { ($0.id, $0.path) < ($1.id, $1.path) }
    }
}

extension PidsCounterFiles {
    /// Every counter at once, and the peak where the kernel has it, each
    /// through the reader the daemon uses.
    func readAll() throws(CgroupReadError) -> PidsSample {
        let current = try readCurrent()
        let limit = try readLimit()
        let refused = try readRefusedForks()
        return PidsSample(current: current, limit: limit, refusedForks: refused, peak: readPeak())
    }
}

/// The checked-in fixture trees. Found from the source path, not Bundle.module:
/// Package.swift excludes them from the target so they are not resources.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    static func path(_ name: String) -> String { root + "/" + name }
}

/// Runs a byte parser on the bytes of `text` exactly as given.
func parse<T>(_ text: String, _ parser: (UnsafeRawBufferPointer) -> T) -> T {
    Array(text.utf8).withUnsafeBytes { parser($0) }
}

func parse<T>(bytes: [UInt8], _ parser: (UnsafeRawBufferPointer) -> T) -> T {
    bytes.withUnsafeBytes { parser($0) }
}

/// A fresh temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("dockward-cgroup-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func write(_ content: String, to path: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try content.write(toFile: path, atomically: false, encoding: .utf8)
}

/// Writes the three mandatory pids files (and pids.peak when given) into `dir`.
func writePidsFiles(_ dir: String, current: String = "1\n", max: String = "max\n",
                    events: String = "max 0\n", peak: String? = nil) throws {
    try write(current, to: dir + "/pids.current")
    try write(max, to: dir + "/pids.max")
    try write(events, to: dir + "/pids.events")
    if let peak { try write(peak, to: dir + "/pids.peak") }
}

/// Open descriptors of this process right now.
func openDescriptorCount() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

extension ContainerCgroupPath {
    /// Read with the registered engines' cgroup names, as the daemon reads it.
    init?(_ path: Substring) { self.init(path, names: Engines.cgroupNames()) }
}
