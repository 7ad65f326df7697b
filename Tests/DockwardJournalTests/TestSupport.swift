import DockwardCore
@testable import DockwardJournal
import Foundation
import Glibc
import DockwardTestSupport
import XCTest

/// Helpers for tests that write real entries to the running journald and
/// read them back. Each test uses its own container name and id, so entries
/// of other runs (and of other tests running at the same time) never count.
enum JT {
    static let sink = JournalSink()

    /// Fails in CI, skips elsewhere, when journald is not running.
    static func requireJournald() throws {
        guard !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") else { return }
        try TestEnvironment.skipOrFailInCI(
            "journald is not running (no /run/systemd/journal/socket); run scripts/test-services.sh start")
    }

    static func uniqueName(_ tag: String = "") -> String {
        "dockward-test-\(tag.isEmpty ? "" : tag + "-")\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    static func randomID() -> ContainerID {
        let hex = Array("0123456789abcdef")
        return ContainerID(String((0..<64).map { _ in hex[Int.random(in: 0..<16)] }))!
    }

    /// A container with a unique name and id.
    static func container(_ tag: String = "", name: String? = nil) -> ContainerRef {
        ContainerRef(id: randomID(), metadata: ContainerMetadata(name: name ?? uniqueName(tag), image: "local/busybox:test"),
                     cgroupPath: "/sys/fs/cgroup/docker/test")
    }

    static func write(_ kind: EntryKind, _ priority: Priority, _ c: ContainerRef?, message: String? = nil,
                      fields: [(name: String, value: String)] = [], file: StaticString = #filePath, line: UInt = #line) {
        let text = message ?? "\(c?.displayName ?? "host"): \(kind.rawValue) at \(priority.name)"
        let ok = sink.write(JournalEntry(kind: kind, priority: priority, message: text, container: c, fields: fields))
        XCTAssertTrue(ok, "journald refused the entry", file: file, line: line)
    }

    /// Polls (fresh reader each time) until `count` records match, up to `timeout`.
    @discardableResult
    static func waitFor(_ filter: AlertFilter, count: Int, directory: String? = nil, timeout: TimeInterval = 30,
                        file: StaticString = #filePath, line: UInt = #line) throws -> [AlertRecord] {
        let deadline = Date().addingTimeInterval(timeout)
        var found: [AlertRecord] = []
        while true {
            found = try JournalReader(directory: directory).read(filter: filter)
            if found.count >= count || Date() > deadline { break }
            usleep(50_000)
        }
        XCTAssertEqual(found.count, count, "records matching \(filter)", file: file, line: line)
        return found
    }

    // MARK: - The dockward binary

    static var binary: URL { TestEnvironment.dockwardBinary }

    static func requireBinary() throws { try TestEnvironment.requireDockwardBinary() }

    struct Child {
        let pid: pid_t
        let outPath: String
        let errPath: String
        var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// Exit code, or 128+signal; nil when it did not exit within `timeout` (then it is killed).
        func wait(timeout: TimeInterval) -> Int32? { Subprocess.wait(pid, timeout: timeout) }

        func cleanup() { unlink(outPath); unlink(errPath) }
    }

    /// Starts the binary with stdout and stderr in temp files. posix_spawn
    /// and waitpid rather than Foundation's Process, whose waitUntilExit was
    /// seen to hang here (see EndToEndTests/Harness.swift).
    static func spawn(_ args: [String]) throws -> Child {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-alerts-\(UUID().uuidString)").path
        let errPath = outPath + ".err"
        let pid = try Subprocess.spawn(binary.path, args, stdoutPath: outPath, stderrPath: errPath)
        return Child(pid: pid, outPath: outPath, errPath: errPath)
    }

    /// Runs the binary to completion: (exit code, stdout, stderr).
    static func run(_ args: [String], timeout: TimeInterval = 60) throws -> (code: Int32?, out: String, err: String) {
        let child = try spawn(args)
        defer { child.cleanup() }
        let code = child.wait(timeout: timeout)
        return (code, child.stdout, child.stderr)
    }


    /// Waits until `condition` holds, up to `timeout`.
    static func eventually(timeout: TimeInterval = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            usleep(50_000)
        }
        return true
    }

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The directory journald writes to now (persistent or volatile): the
    /// root holding the most recently modified journal file.
    static func journaldDirectory() -> String? {
        var best: (root: String, mtime: Date)?
        for root in ["/var/log/journal", "/run/log/journal"] {
            guard let subs = try? FileManager.default.contentsOfDirectory(atPath: root) else { continue }
            for sub in subs {
                let dir = "\(root)/\(sub)"
                for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".journal") {
                    let attrs = try? FileManager.default.attributesOfItem(atPath: "\(dir)/\(file)")
                    if let m = attrs?[.modificationDate] as? Date, m > (best?.mtime ?? .distantPast) {
                        best = (root, m)
                    }
                }
            }
        }
        return best?.root
    }
}
