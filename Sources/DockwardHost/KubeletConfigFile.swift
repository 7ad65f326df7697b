import DockwardCore
import Foundation

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
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: sizeLimit + 1) ?? Data()
        } catch {
            return .broken("cannot read: \(error.localizedDescription)")
        }
        guard data.count <= sizeLimit else { return .broken("larger than \(sizeLimit) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { return .broken("not UTF-8 text") }
        do {
            return .loaded(try KubeletConfig.parse(text: text))
        } catch {
            return .broken(error.reason)
        }
    }
}
