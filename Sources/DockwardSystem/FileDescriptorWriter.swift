import Glibc

/// Writes to a raw descriptor without Foundation or stdio buffering: stderr
/// must work while journald is down and whatever else is wedged, and a CLI
/// piped into `head` must stop quietly on EPIPE rather than loop.
public enum FileDescriptorWriter {
    /// Writes every byte, retrying short writes and EINTR. Returns false on
    /// any other error (EPIPE, EBADF, ...), with part of the bytes perhaps
    /// written.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }

    /// ``writeAll(_:_:)-([UInt8])`` of the text's UTF-8.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        writeAll(fd, Array(text.utf8))
    }
}
