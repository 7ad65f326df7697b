import DockwardCore
import Foundation

/// Reading the config file: the only file I/O around the pure loader.
public enum ConfigFile {
    public static let defaultPath = "/etc/dockward/dockward.yml"

    /// Loads `path`. A missing file at the default path means built-in
    /// defaults; a missing file the operator named is an error.
    public static func load(path: String, isExplicit: Bool) throws(ConfigError) -> DockwardConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            if isExplicit {
                throw ConfigError([ConfigIssue(file: path, line: 0, key: "", message: "no such file")])
            }
            return DockwardConfig()
        }
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // Read one byte past the limit so the loader can say the file is too big.
            bytes = [UInt8](try handle.read(upToCount: ConfigLoader.maxBytes + 1) ?? Data())
        } catch {
            throw ConfigError([ConfigIssue(file: path, line: 0, key: "", message: "cannot read: \(error.localizedDescription)")])
        }
        return try ConfigLoader.parse(bytes: bytes, file: path)
    }
}
