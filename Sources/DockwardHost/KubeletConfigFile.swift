import DockwardCore
import DockwardSystem
import FoundationEssentials

/// Reading kubelet's config file: the only file I/O around the pure
/// `KubeletConfig.parse`.
public enum KubeletConfigFile {
    /// No real KubeletConfiguration is near this; a larger file is refused.
    static let sizeLimit = 1 << 20

    public enum Read: Equatable, Sendable {
        /// No file: not a Kubernetes node, or kubelet is configured by flags.
        case missing
        case loaded(KubeletPidsSettings)
        /// There but unreadable or not understood: the reason, for a warning naming the file.
        case broken(String)
    }

    public static func read(path: String) -> Read {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        let data: [UInt8]
        switch FileDescriptorReader.readFile(path, upTo: sizeLimit + 1) {
        case .bytes(let bytes): data = bytes
        case .failed(let code): return .broken("cannot read: \(FileDescriptorReader.describe(code))")
        case .tooLarge: preconditionFailure("readFile(_:upTo:) stops at its count")
        }
        guard data.count <= sizeLimit else { return .broken("larger than \(sizeLimit) bytes") }
        guard let text = String(validating: data, as: UTF8.self) else { return .broken("not UTF-8 text") }
        do {
            return .loaded(try KubeletConfig.parse(text: text))
        } catch {
            return .broken(error.reason)
        }
    }
}
