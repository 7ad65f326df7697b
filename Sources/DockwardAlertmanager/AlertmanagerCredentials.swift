import DockwardCore
import DockwardSystem
import FoundationEssentials
import Glibc
import NIOSSL

/// The secrets and key material the `alertmanager:` section names by file,
/// read: what the delivery needs and the config must not hold. The daemon
/// reads them at start and at each reload, so a rotated password or
/// certificate is taken by `SIGHUP`, and a file it cannot read is said
/// then, not at the first alert.
struct AlertmanagerCredentials: Equatable, Sendable {
    enum Authorization: Equatable, Sendable {
        case none
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    var authorization: Authorization = .none
    /// `tls.ca_file`'s certificates; nil: the system's trust store.
    var trustRoots: [NIOSSLCertificate]?
    /// `tls.cert_file`'s chain (leaf first) and `tls.key_file`'s key.
    var certificateChain: [NIOSSLCertificate] = []
    var privateKey: NIOSSLPrivateKey?

    init(authorization: Authorization = .none, trustRoots: [NIOSSLCertificate]? = nil,
         certificateChain: [NIOSSLCertificate] = [], privateKey: NIOSSLPrivateKey? = nil) {
        self.authorization = authorization
        self.trustRoots = trustRoots
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// A secret or PEM file is a few kilobytes; past this it is the wrong file.
    static let maxFileBytes = 1 << 20

    /// Reads every file `config` names. Surrounding whitespace of a password
    /// or token is not part of it (Prometheus trims it too: a file written
    /// by `echo` ends in a newline).
    static func read(for config: AlertmanagerConfig) throws(AlertmanagerCredentialError) -> AlertmanagerCredentials {
        var credentials = AlertmanagerCredentials()
        if let tokenFile = config.bearerTokenFile {
            guard config.basicAuthUsername == nil, config.basicAuthPasswordFile == nil else {
                throw AlertmanagerCredentialError(file: tokenFile, role: "bearer token file",
                                                  reason: "basic auth and a bearer token exclude each other")
            }
            let token = try text(of: tokenFile, role: "bearer token file")
            guard !token.isEmpty else {
                throw AlertmanagerCredentialError(file: tokenFile, role: "bearer token file", reason: "it is empty")
            }
            credentials.authorization = .bearer(token: token)
        } else if config.basicAuthUsername != nil || config.basicAuthPasswordFile != nil {
            let password = try config.basicAuthPasswordFile.map { file throws(AlertmanagerCredentialError) in
                try text(of: file, role: "basic auth password file")
            } ?? ""
            credentials.authorization = .basic(username: config.basicAuthUsername ?? "", password: password)
        }
        if let caFile = config.tls.caFile {
            credentials.trustRoots = try certificates(in: caFile, role: "CA file")
        }
        switch (config.tls.certFile, config.tls.keyFile) {
        case (nil, nil):
            break
        case let (certFile?, keyFile?):
            credentials.certificateChain = try certificates(in: certFile, role: "client certificate file")
            let bytes = try contents(of: keyFile, role: "client key file")
            do {
                credentials.privateKey = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
            } catch {
                throw AlertmanagerCredentialError(file: keyFile, role: "client key file",
                                                  reason: "no unencrypted PEM private key in it")
            }
        case let (certFile?, nil):
            throw AlertmanagerCredentialError(file: certFile, role: "client certificate file",
                                              reason: "a client certificate needs tls.key_file too")
        case let (nil, keyFile?):
            throw AlertmanagerCredentialError(file: keyFile, role: "client key file",
                                              reason: "a client key needs tls.cert_file too")
        }
        return credentials
    }

    private static func certificates(in file: String, role: String) throws(AlertmanagerCredentialError) -> [NIOSSLCertificate] {
        let bytes = try contents(of: file, role: role)
        let found = (try? NIOSSLCertificate.fromPEMBytes(bytes)) ?? []
        guard !found.isEmpty else {
            throw AlertmanagerCredentialError(file: file, role: role, reason: "no PEM certificate in it")
        }
        return found
    }

    private static func text(of file: String, role: String) throws(AlertmanagerCredentialError) -> String {
        let bytes = try contents(of: file, role: role)
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }

    /// The whole file, with the system's reason when it cannot be read.
    static func contents(of file: String, role: String) throws(AlertmanagerCredentialError) -> [UInt8] {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AlertmanagerCredentialError(file: file, role: role, errno: errno) }
        defer { close(fd) }
        switch FileDescriptorReader.readAll(fd, limit: maxFileBytes) {
        case .bytes(let bytes): return bytes
        case .tooLarge: throw AlertmanagerCredentialError(file: file, role: role, reason: "larger than \(maxFileBytes) bytes")
        case .failed(let code): throw AlertmanagerCredentialError(file: file, role: role, errno: code)
        }
    }
}

/// A file of the `alertmanager:` section that cannot be used, and why.
struct AlertmanagerCredentialError: Error, Equatable, CustomStringConvertible {
    var file: String
    /// What the file is for: "basic auth password file", "CA file", ...
    var role: String
    var reason: String

    init(file: String, role: String, reason: String) {
        self.file = file
        self.role = role
        self.reason = reason
    }

    init(file: String, role: String, errno code: Int32) {
        self.init(file: file, role: role, reason: String(cString: strerror(code)))
    }

    var description: String { "alertmanager \(role) \(file): \(reason)" }
}
