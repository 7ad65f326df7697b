import Foundation

/// Engines of several releases as HTTP over a Unix socket, answering the way
/// each does to a client: the `/_ping` header, `/version`'s figures, the 400
/// an engine gives a version it no longer accepts, and its events' shape.
/// Figures from the engines' API docs and release notes: Docker 29.0
/// (API 1.52, refuses below 1.44, events without `status`/`id`/`from` from
/// 1.52, JSON lines), Docker 20.10 (1.41), Podman 5.4's compat API (1.41)
/// and 5.8's (1.44; its compat events say `remove`, `exec_died`, and carry a health
/// state in its own field).
struct ScriptedEngineRelease: Sendable {
    var product: String
    var componentName: String
    var version: String
    var apiVersion: String
    var minAPIVersion: String?

    static let docker29 = ScriptedEngineRelease(product: "Docker", componentName: "Engine", version: "29.0.0",
                                                apiVersion: "1.52", minAPIVersion: "1.44")
    static let docker20 = ScriptedEngineRelease(product: "Docker", componentName: "Engine", version: "20.10.24+dfsg1",
                                                apiVersion: "1.41", minAPIVersion: "1.12")
    static let podman54 = ScriptedEngineRelease(product: "Podman", componentName: "Podman Engine", version: "5.4.2",
                                                apiVersion: "1.41", minAPIVersion: "1.24")
    static let podman58 = ScriptedEngineRelease(product: "Podman", componentName: "Podman Engine", version: "5.8.6",
                                                apiVersion: "1.44", minAPIVersion: "1.24")
    /// An engine of some later year that no longer accepts what dockward speaks.
    static let future = ScriptedEngineRelease(product: "Docker", componentName: "Engine", version: "40.0.0",
                                              apiVersion: "1.60", minAPIVersion: "1.55")

    var isPodman: Bool { product == "Podman" }
}

/// One container the scripted engine knows: its inspect body and events.
struct ScriptedEngineBehaviour: Sendable {
    let release: ScriptedEngineRelease
    let containerID: String
    /// What the engine answered, request line by request line: "GET
    /// /v1.51/containers/json 200".
    let log = RequestLog()

    final class RequestLog: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    private static let json = ["Content-Type": "application/json"]

    /// The answer to one request head.
    func respond(_ head: String) -> String {
        let requestLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        let method = parts.first.map(String.init) ?? ""
        let target = parts.count > 1 ? String(parts[1]) : ""
        let answer = answer(method: method, target: target)
        log.append("\(method) \(target) \(answer.code)")
        return answer.text
    }

    private func answer(method: String, target: String) -> (code: Int, text: String) {
        let pingHeaders = ["Api-Version": release.apiVersion, "Server": "\(release.product)/\(release.version) (linux)"]
        if target == "/_ping" { return (200, FakeEngine.response(status: "200 OK", headers: pingHeaders, body: "OK")) }
        // Unversioned paths are answered in the engine's newest API.
        var version = release.apiVersion
        var path = target
        if target.hasPrefix("/v"), let slash = target.dropFirst(2).firstIndex(of: "/") {
            version = String(target[target.index(target.startIndex, offsetBy: 2)..<slash])
            path = String(target[slash...])
        }
        if let minimum = release.minAPIVersion, Self.older(version, than: minimum) {
            let message = "client version \(version) is too old. Minimum supported API version is \(minimum), "
                + "please upgrade your client to a newer version"
            return (400, FakeEngine.response(status: "400 Bad Request", headers: Self.json,
                                             body: #"{"message":"\#(message)"}"#))
        }
        if Self.older(release.apiVersion, than: version) {
            let message = "client version \(version) is too new. Maximum supported API version is \(release.apiVersion)"
            return (400, FakeEngine.response(status: "400 Bad Request", headers: Self.json,
                                             body: #"{"message":"\#(message)"}"#))
        }
        switch (method, path) {
        case ("GET", "/version"):
            var body = #"{"Platform":{"Name":""},"Components":[{"Name":"\#(release.componentName)","Version":"\#(release.version)"}],"#
                + #""Version":"\#(release.version)","ApiVersion":"\#(release.apiVersion)""#
            if let minimum = release.minAPIVersion { body += #","MinAPIVersion":"\#(minimum)""# }
            return (200, FakeEngine.response(status: "200 OK", headers: Self.json, body: body + "}"))
        case ("GET", "/info"):
            let root = release.isPodman ? "/var/lib/containers/storage" : "/var/lib/docker"
            return (200, FakeEngine.response(status: "200 OK", headers: Self.json, body: #"{"DockerRootDir":"\#(root)"}"#))
        case ("GET", "/containers/json?all=1"):
            let body = #"[{"Id":"\#(containerID)","Names":["/web"],"Image":"busybox","Labels":{},"State":"running"}]"#
            return (200, FakeEngine.response(status: "200 OK", headers: Self.json, body: body))
        case ("GET", "/containers/\(containerID)/json"):
            return (200, FakeEngine.response(status: "200 OK", headers: Self.json, body: inspectBody))
        case ("POST", "/containers/\(containerID)/update"):
            return (200, FakeEngine.response(status: "200 OK", headers: Self.json, body: #"{"Warnings":[]}"#))
        default:
            if method == "GET", path.hasPrefix("/events?") {
                return (200, eventsResponse(apiVersion: version))
            }
            return (404, FakeEngine.response(status: "404 Not Found", headers: Self.json,
                                             body: #"{"message":"page not found"}"#))
        }
    }

    /// A container with the engine's socket bound and a pids limit of 100.
    private var inspectBody: String {
        #"{"Id":"\#(containerID)","Name":"/web","#
            + #""Mounts":[{"Type":"bind","Source":"/run/docker.sock","Destination":"/var/run/docker.sock","RW":true}],"#
            + #""HostConfig":{"Binds":["/run/docker.sock:/var/run/docker.sock"],"PidsLimit":100,"Privileged":false,"#
            + #""PidMode":"","CapAdd":null,"Devices":[],"Mounts":null,"CgroupParent":""},"#
            + #""Config":{"Image":"busybox","Labels":{}},"State":{"Status":"running","Pid":4242}}"#
    }

    /// Docker from API 1.52: only Type, Action, Actor, scope and times, as
    /// JSON lines; older APIs also the legacy status/id/from. Podman: its
    /// words where they differ (remove, exec_died, a health state in its own field).
    private func eventsResponse(apiVersion: String) -> String {
        let legacy = !Self.older(apiVersion, than: "1.52") ? "" : #""status":"%A","id":"\#(containerID)","from":"busybox","#
        func line(_ action: String, _ nano: Int64, extra: String = "") -> String {
            #"{"# + legacy.replacingOccurrences(of: "%A", with: action)
                + #""Type":"container","Action":"\#(action)","Actor":{"ID":"\#(containerID)","Attributes":{"name":"web","image":"busybox"}},"#
                + #""scope":"local","time":\#(nano / 1_000_000_000),"timeNano":\#(nano)\#(extra)}"#
        }
        var lines = [line("create", 1_000), line("start", 2_000)]
        if release.isPodman {
            lines += [line("exec_died", 3_000), line("health_status", 4_000, extra: #","HealthStatus":"healthy""#),
                      line("die", 5_000), line("remove", 6_000)]
        } else {
            lines += [line("health_status: healthy", 4_000), line("die", 5_000), line("destroy", 6_000)]
        }
        let contentType = Self.older(apiVersion, than: "1.52") ? "application/json" : "application/x-ndjson"
        // No Content-Length: the stream runs until the engine closes it.
        return "HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nConnection: close\r\n\r\n"
            + lines.joined(separator: "\n") + "\n"
    }

    static func older(_ a: String, than b: String) -> Bool {
        func parts(_ v: String) -> (Int, Int) {
            let p = v.split(separator: ".").compactMap { Int($0) }
            return (p.first ?? 0, p.count > 1 ? p[1] : 0)
        }
        return parts(a) < parts(b)
    }
}
