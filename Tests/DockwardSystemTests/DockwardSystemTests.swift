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
