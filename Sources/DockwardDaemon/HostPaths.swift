import DockwardCore
import Glibc

/// The real filesystem behind the exposure analysis: realpath(3) and stat(2)
/// as dockward sees the host.
public struct HostPaths: HostPathInspector {
    public init() {}

    public func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// realpath(3)'s error, unless it is ENOENT or ENOTDIR (the path is not
    /// there, so nothing can be reached through it).
    public func resolutionFailure(_ path: String) -> String? {
        errno = 0
        if let resolved = realpath(path, nil) {
            free(resolved)
            return nil
        }
        let code = errno
        if code == ENOENT || code == ENOTDIR { return nil }
        return String(cString: strerror(code))
    }

    public func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}
