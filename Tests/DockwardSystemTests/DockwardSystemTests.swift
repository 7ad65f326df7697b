import DockwardSystem
import Foundation
import Glibc
import XCTest

final class SystemClockTests: XCTestCase {
    func testMonotonicNeverGoesBack() {
        var last = SystemClock.monotonicNanos()
        for _ in 0..<1000 {
            let now = SystemClock.monotonicNanos()
            XCTAssertGreaterThanOrEqual(now, last)
            last = now
        }
    }

    func testRealtimeAgreesWithFoundationAndAcrossUnits() {
        let micros = SystemClock.realtimeMicros()
        let nanos = SystemClock.realtimeNanos()
        let foundation = Date().timeIntervalSince1970
        XCTAssertEqual(Double(micros) / 1e6, foundation, accuracy: 1)
        XCTAssertEqual(Double(nanos) / 1e9, foundation, accuracy: 1)
        XCTAssertLessThanOrEqual(Int64(micros), nanos / 1000)
    }
}

final class FileDescriptorWriterTests: XCTestCase {
    func testWritesEveryByteAndFailsOnABadDescriptor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-fdw-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { unlink(path) }
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        XCTAssertTrue(FileDescriptorWriter.writeAll(fd, big))
        XCTAssertTrue(FileDescriptorWriter.writeAll(fd, "é\n"))
        close(fd)
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(written.count, (1 << 20) + 3)
        XCTAssertFalse(FileDescriptorWriter.writeAll(fd, "closed"), "EBADF is an error, not a retry")
    }

    /// A reader that went away (`dockward alerts | head`) ends the write with
    /// false instead of a loop or a SIGPIPE death.
    func testClosedPipeIsAnErrorNotALoop() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        close(fds[0])
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous); close(fds[1]) }
        XCTAssertFalse(FileDescriptorWriter.writeAll(fds[1], "nobody reads this"))
    }
}

final class DescriptorLimitTests: XCTestCase {
    func testRaisingNeverLowersAndReportsTheNewLimit() {
        let before = DescriptorLimit.current()
        XCTAssertGreaterThan(before, 0)
        let change = DescriptorLimit.raiseSoftLimit()
        XCTAssertEqual(change.before, before)
        XCTAssertGreaterThanOrEqual(change.after, change.before)
        XCTAssertEqual(DescriptorLimit.current(), change.after)
        XCTAssertEqual(change.raised, change.after > change.before)
        // A second call finds nothing left to do.
        let again = DescriptorLimit.raiseSoftLimit()
        XCTAssertEqual(again.before, change.after)
        XCTAssertFalse(again.raised)
        XCTAssertFalse(again.refused)
    }
}

final class DirectoryTests: XCTestCase {
    private func makeFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-dir-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path + "/file", contents: nil))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testEveryEntryWithTypeAndInode() throws {
        let path = try makeFolder()
        var seen: [String: DirectoryEntry] = [:]
        XCTAssertTrue(Directory.forEachEntry(in: path) { seen[$0.name] = $0; return true })
        XCTAssertEqual(Set(seen.keys), [".", "..", "sub", "file"])
        XCTAssertTrue(seen["."]?.isSelfOrParent ?? false)
        XCTAssertFalse(seen["file"]?.isSelfOrParent ?? true)
        var st = stat()
        XCTAssertEqual(stat(path + "/file", &st), 0)
        XCTAssertEqual(seen["file"]?.inode, UInt64(st.st_ino))
        XCTAssertTrue(seen["sub"]?.isDirectoryOrUnknown ?? false)
        XCTAssertFalse(seen["file"]?.type == UInt8(DT_DIR))
    }

    func testRawEntriesCarryTheSameNames() throws {
        let path = try makeFolder()
        var names: Set<String> = [], selfOrParent = 0
        Directory.forEachRawEntry(in: path) { entry in
            names.insert(String(decoding: entry.name, as: UTF8.self))
            if entry.isSelfOrParent { selfOrParent += 1 }
            return true
        }
        XCTAssertEqual(names, [".", "..", "sub", "file"])
        XCTAssertEqual(selfOrParent, 2)
    }

    func testStopsWhenAskedAndReportsAMissingFolder() throws {
        let path = try makeFolder()
        var count = 0
        XCTAssertTrue(Directory.forEachEntry(in: path) { _ in count += 1; return false })
        XCTAssertEqual(count, 1)
        let opened = Directory.forEachEntry(in: path + "/none") { _ in XCTFail("no entries"); return true }
        let code = errno
        XCTAssertFalse(opened)
        XCTAssertEqual(code, ENOENT)
    }
}

final class FileDescriptorReaderTests: XCTestCase {
    func testReadsToTheEndAndStopsPastTheLimit() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-read-\(UUID().uuidString)").path
        defer { unlink(path) }
        // More than one 64 KiB read.
        let text = Array(repeating: UInt8(ascii: "x"), count: 200_000)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text)))
        func read(limit: Int) -> FileDescriptorReader.Outcome {
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            return FileDescriptorReader.readAll(fd, limit: limit)
        }
        XCTAssertEqual(read(limit: 200_000), .bytes(text))
        XCTAssertEqual(read(limit: 199_999), .tooLarge)
        XCTAssertEqual(FileDescriptorReader.readAll(-1, limit: 10), .failed(EBADF))
    }
}
