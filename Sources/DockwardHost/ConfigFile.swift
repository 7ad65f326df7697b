import DockwardCore
import DockwardSystem
import FoundationEssentials

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
        // Read one byte past the limit so the loader can say the file is too big.
        switch FileDescriptorReader.readFile(path, upTo: ConfigLoader.maxBytes + 1) {
        case .bytes(let bytes):
            return try ConfigLoader.parse(bytes: bytes, file: path)
        case .failed(let code):
            throw ConfigError([ConfigIssue(file: path, line: 0, key: "",
                                           message: "cannot read: \(FileDescriptorReader.describe(code))")])
        case .tooLarge:
            preconditionFailure("readFile(_:upTo:) stops at its count")
        }
    }
}
