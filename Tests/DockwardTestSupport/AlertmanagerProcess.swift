import Foundation
import Glibc

/// A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a
/// loopback port, for tests of what dockward pushes to it: no cluster, a
/// null receiver, its storage in a temp folder removed at `stop()`.
///
/// Plain HTTP ones are read with a raw GET; one with a web config (TLS,
/// basic auth) through `amtool` and an HTTP client config, since the test
/// support has no TLS client of its own.
public final class AlertmanagerProcess: @unchecked Sendable {
    /// `--web.config.file` (the Prometheus exporter-toolkit web config).
    public struct WebConfig {
        /// `tls_server_config`: serve HTTPS with this certificate and key.
        public var certFile: String?
        public var keyFile: String?
        /// Require a client certificate signed by this CA.
        public var clientCAFile: String?
        /// `basic_auth_users`: user name to bcrypt hash.
        public var basicAuthUsers: [String: String] = [:]
        public init(certFile: String? = nil, keyFile: String? = nil, clientCAFile: String? = nil,
                    basicAuthUsers: [String: String] = [:]) {
            self.certFile = certFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
            self.basicAuthUsers = basicAuthUsers
        }
    }

    /// How the test's own queries (amtool) reach a secured Alertmanager.
    public struct QueryClient {
        public var caFile: String?
        public var serverName: String?
        public var certFile: String?
        public var keyFile: String?
        public var username: String?
        public var password: String?
        public init(caFile: String? = nil, serverName: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                    username: String? = nil, password: String? = nil) {
            self.caFile = caFile
            self.serverName = serverName
            self.certFile = certFile
            self.keyFile = keyFile
            self.username = username
            self.password = password
        }
    }

    /// One alert as `GET /api/v2/alerts` lists it.
    public struct Alert: Decodable, Equatable {
        public struct Status: Decodable, Equatable { public var state: String }
        public var labels: [String: String]
        public var annotations: [String: String]
        public var startsAt: String
        public var endsAt: String
        public var fingerprint: String
        public var status: Status
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let binaryName = "prometheus-alertmanager"

    /// `prometheus-alertmanager` and `amtool` on PATH or in /usr/bin; when
    /// missing, fails in CI and skips elsewhere.
    public static func require(file: StaticString = #filePath, line: UInt = #line) throws -> (alertmanager: String, amtool: String) {
        if let alertmanager = find(binaryName), let amtool = find("amtool") { return (alertmanager, amtool) }
        try TestEnvironment.skipOrFailInCI(
            "prometheus-alertmanager not found: install it with `apt-get install -y --no-install-recommends prometheus-alertmanager` (scripts/test-services.sh does)",
            file: file, line: line)
    }

    static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public let port: UInt16
    /// `http://127.0.0.1:PORT`, or `https://…` with a TLS web config.
    public let url: String
    public let directory: String
    private let amtool: String
    private let queryClientFile: String?
    private var pid: pid_t?

    /// Starts an Alertmanager on `port` (nil: a free one) and waits until it
    /// answers (`GET /-/ready`, or `amtool config show` when secured).
    /// `webhookURL`: a receiver that gets every notification.
    /// `groupBy`: the route's `group_by` (nil: one group for every alert).
    public init(port: UInt16? = nil, web: WebConfig? = nil, queryClient: QueryClient? = nil,
                webhookURL: String? = nil, groupBy: [String]? = nil, readyTimeout: TimeInterval = 30) throws {
        let (alertmanager, amtool) = try Self.require()
        self.amtool = amtool
        self.port = try port ?? LoopbackTCP.freePort()
        let isTLS = web?.certFile != nil
        url = "\(isTLS ? "https" : "http")://127.0.0.1:\(self.port)"
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dockward-am-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)

        var config = "route:\n  receiver: test\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        if let groupBy { config += "  group_by: [\(groupBy.joined(separator: ", "))]\n" }
        config += "receivers:\n  - name: test\n"
        if let webhookURL { config += "    webhook_configs:\n      - url: \(Self.quoted(webhookURL))\n        send_resolved: true\n" }
        try config.write(toFile: directory + "/alertmanager.yml", atomically: true, encoding: .utf8)

        var args = ["--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
                    "--web.listen-address=127.0.0.1:\(self.port)", "--cluster.listen-address="]
        if let web {
            var text = ""
            if let cert = web.certFile, let key = web.keyFile {
                text += "tls_server_config:\n  cert_file: \(Self.quoted(cert))\n  key_file: \(Self.quoted(key))\n"
                if let ca = web.clientCAFile {
                    text += "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(Self.quoted(ca))\n"
                }
            }
            if !web.basicAuthUsers.isEmpty {
                text += "basic_auth_users:\n"
                for (user, hash) in web.basicAuthUsers.sorted(by: { $0.key < $1.key }) {
                    text += "  \(Self.quoted(user)): \(Self.quoted(hash))\n"
                }
            }
            try text.write(toFile: directory + "/web.yml", atomically: true, encoding: .utf8)
            args.append("--web.config.file=\(directory)/web.yml")
        }
        if web != nil {
            let client = queryClient ?? QueryClient()
            var text = ""
            if client.username != nil || client.password != nil {
                text += "basic_auth:\n  username: \(Self.quoted(client.username ?? ""))\n  password: \(Self.quoted(client.password ?? ""))\n"
            }
            text += "tls_config:\n"
            if let ca = client.caFile { text += "  ca_file: \(Self.quoted(ca))\n" }
            if let name = client.serverName { text += "  server_name: \(Self.quoted(name))\n" }
            if let cert = client.certFile, let key = client.keyFile {
                text += "  cert_file: \(Self.quoted(cert))\n  key_file: \(Self.quoted(key))\n"
            }
            try text.write(toFile: directory + "/amtool-http.yml", atomically: true, encoding: .utf8)
            queryClientFile = directory + "/amtool-http.yml"
        } else {
            queryClientFile = nil
        }

        pid = try Subprocess.spawn(alertmanager, args, stdoutPath: directory + "/stdout.log",
                                   stderrPath: directory + "/alertmanager.log")
        let deadline = Date().addingTimeInterval(readyTimeout)
        while !isReady() {
            var status: Int32 = 0
            if let pid, waitpid(pid, &status, WNOHANG) == pid {
                self.pid = nil
                throw Failure(description: "alertmanager exited (\(Subprocess.exitCode(status))): \(log)")
            }
            if Date() > deadline {
                stop()
                throw Failure(description: "alertmanager on port \(self.port) not ready after \(Int(readyTimeout)) s: \(log)")
            }
            usleep(50_000)
        }
    }

    deinit { stop() }

    /// What it logged (the last 4 KB).
    public var log: String { String(Subprocess.read(directory + "/alertmanager.log").suffix(4096)) }

    private func isReady() -> Bool {
        if queryClientFile != nil {
            return (try? runAmtool(["config", "show"]).status) == 0
        }
        return (try? LoopbackTCP.get(port: port, path: "/-/ready").status) == 200
    }

    /// Every alert it lists: active, silenced, inhibited and unprocessed.
    /// A resolved alert is not among them: the v2 list leaves out every
    /// alert whose `endsAt` has passed, whatever the filters ask (measured
    /// with 0.25: a state POSTed with `endsAt` now is gone from the list at
    /// once; `alertmanager_alerts_received_total{status="resolved"}` counts it).
    public func alerts() throws -> [Alert] {
        let json: String
        if queryClientFile != nil {
            let result = try runAmtool(["alert", "query", "--active", "--silenced", "--inhibited", "--unprocessed", "-o", "json"])
            guard result.status == 0 else { throw Failure(description: "amtool alert query: \(result.output)") }
            json = result.stdout
        } else {
            let answer = try LoopbackTCP.get(port: port, path: "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
            guard answer.status == 200 else { throw Failure(description: "GET /api/v2/alerts: \(answer.status) \(answer.body)") }
            json = answer.body
        }
        do {
            return try JSONDecoder().decode([Alert].self, from: Data(json.utf8))
        } catch {
            throw Failure(description: "cannot decode the alerts (\(error)): \(json)")
        }
    }

    /// One sample of its own `/metrics` (plain HTTP only), e.g.
    /// `alertmanager_alerts_received_total{status="resolved",version="v2"}`.
    public func metric(_ sample: String) throws -> Double? {
        let answer = try LoopbackTCP.get(port: port, path: "/metrics")
        for line in answer.body.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    private func runAmtool(_ args: [String]) throws -> Subprocess.Output {
        var all = ["--alertmanager.url=\(url)", "--timeout=5s"]
        if let queryClientFile { all.append("--http.config.file=\(queryClientFile)") }
        return try Subprocess.run(amtool, all + args, timeout: 30)
    }

    /// SIGTERM, then SIGKILL after 10 s; removes its folder. Safe to call again.
    public func stop() {
        if let pid {
            kill(pid, SIGTERM)
            if Subprocess.wait(pid, timeout: 10) == nil { _ = Subprocess.wait(pid, timeout: 1) }
            self.pid = nil
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// A throwaway CA and certificates made with `openssl` (in a temp folder):
/// a server certificate for the given DNS names and IP addresses, and a
/// client certificate, both signed by the CA.
public struct TestCertificates {
    public let directory: String
    public var caFile: String { directory + "/ca.pem" }
    public var serverCertFile: String { directory + "/server.pem" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var clientCertFile: String { directory + "/client.pem" }
    public var clientKeyFile: String { directory + "/client.key" }

    /// Fails in CI and skips elsewhere when `openssl` is missing.
    public init(dnsNames: [String], ipAddresses: [String] = [], in parent: String? = nil) throws {
        guard let openssl = AlertmanagerProcess.find("openssl") else {
            try TestEnvironment.skipOrFailInCI("openssl not found: install it with `apt-get install -y openssl`")
        }
        directory = (parent ?? FileManager.default.temporaryDirectory.path) + "/dockward-certs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dir = directory
        func run(_ args: [String]) throws {
            let result = try Subprocess.run(openssl, args, timeout: 60)
            guard result.status == 0 else { throw AlertmanagerProcess.Failure(description: "openssl \(args.joined(separator: " ")): \(result.output)") }
        }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem",
                 "-days", "2", "-subj", "/CN=dockward test CA"])
        let san = (dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }).joined(separator: ",")
        try "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n".write(toFile: dir + "/client.ext", atomically: true, encoding: .utf8)
        for (name, subject) in [("server", dnsNames.first ?? "localhost"), ("client", "dockward")] {
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr",
                     "-subj", "/CN=\(subject)"])
            try run(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
                     "-CAcreateserial", "-out", "\(dir)/\(name).pem", "-days", "2", "-extfile", "\(dir)/\(name).ext"])
        }
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
