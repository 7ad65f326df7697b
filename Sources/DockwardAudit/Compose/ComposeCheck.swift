import DockwardCore
import FoundationEssentials
import DockwardHost
import DockwardDocker

/// `dockward check-compose`: each service of a Compose project turned into
/// the container the engine would create from it, and judged by the
/// daemon's own functions. Host-side facts (the socket's real path, its
/// hard links, the engine's data root, block devices, a volume that exists
/// already) are resolved on this host, and said to be; what only the
/// deploy can tell is said, not guessed.
public struct ComposeCheck: Sendable {
    public var config: DockwardConfig
    public var host: HostPathInspector
    /// The engine's socket as the daemon would protect it.
    public var engineSocket: String
    /// nil: the engine is not asked (unreachable, or not wanted).
    public var engine: ContainerRuntime?
    public var activeProfiles: Set<String>
    public var hostName: String

    public init(config: DockwardConfig, host: HostPathInspector = HostPaths(), engineSocket: String, engine: ContainerRuntime?,
                activeProfiles: Set<String> = [], hostName: String = "this host") {
        self.config = config
        self.host = host
        self.engineSocket = engineSocket
        self.engine = engine
        self.activeProfiles = activeProfiles
        self.hostName = hostName
    }

    /// Docker's default data root, checked when no engine says where its own is.
    public static let defaultDataRoot = "/var/lib/docker"

    public func run(_ project: ComposeProject) async -> AuditReport {
        var report = AuditReport(command: "check-compose")
        for name in project.unsetVariables {
            report.notes.append(AuditNote("the \(name) variable is not set: a blank string is used (as Compose does)"))
        }
        // Host facts, once.
        var dataRoot: String?
        var engineUsable = false
        if let engine {
            do {
                dataRoot = try await engine.connect().dataRoot
                engineUsable = true
            } catch is RuntimeDescribeFailed {
                // It answers, but would not say where it keeps its state.
                engineUsable = true
            } catch {
                report.notes.append(AuditNote("the engine at \(engine.socketPath) could not be asked (\(error)): "
                    + "existing and external volumes and containers named in volumes_from are not known before deploy"))
            }
        }
        let socketFact = host.resolve(engineSocket).map { $0 == engineSocket ? "" : " (\($0) on \(hostName))" } ?? " (not present on \(hostName))"
        report.notes.append(AuditNote("resolved on \(hostName): the engine's socket is \(engineSocket)\(socketFact)"))
        if let dataRoot {
            report.notes.append(AuditNote("resolved on \(hostName): the engine keeps its state in \(dataRoot) (GET /info)"))
        } else {
            report.notes.append(AuditNote("the engine's data root is not known here; Docker's default \(Self.defaultDataRoot) "
                + "and containerd's state are checked"))
        }
        let sockets = ProtectedSocket.protected(engineSocket: engineSocket, protect: config.hostControl.protect,
                                                host: host) { socket, identity, count in
            host.otherNames(of: socket.resolved, identity: identity, wanted: count - 1)
        }
        for link in sockets where link.hardLinkOf != nil {
            report.notes.append(AuditNote("resolved on \(hostName): \(link.hardLinkOf!) has another name, \(link.path) (protected too)"))
        }
        let statePaths = HostControlAnalysis.statePaths(engineDataRoot: dataRoot ?? Self.defaultDataRoot)
        var engineVolumes: [String: NamedVolume?] = [:]
        for service in project.services {
            guard service.isActive(profiles: activeProfiles) else {
                report.notes.append(AuditNote("service \(service.name) is not started without --profile "
                    + service.profiles.joined(separator: "|") + ": not checked", service: service.name, location: service.location))
                continue
            }
            var unknowns: [AuditNote] = []
            var mounts: [(MountPoint?, VolumeMount?, SourceLocation)] = []
            var visited: Set<String> = []
            collectMounts(service, project: project, readOnly: false, via: nil, into: &mounts, visited: &visited,
                          unknowns: &unknowns)
            var volumes: [VolumeMount] = []
            for index in mounts.indices {
                guard var volume = mounts[index].1 else { continue }
                if engineUsable, let engine {
                    if engineVolumes[volume.name] == nil {
                        engineVolumes[volume.name] = .some(try? await engine.namedVolume(volume.name))
                    }
                    if let existing = engineVolumes[volume.name] ?? nil {
                        volume.driver = existing.driver
                        volume.options = existing.options
                        report.notes.append(AuditNote("volume \(volume.name) exists on \(hostName)'s engine: its options there are what the container gets",
                                                      service: service.name, location: mounts[index].2))
                    }
                }
                if volume.options == nil {
                    unknowns.append(AuditNote("external volume \(volume.name): what it holds is not known before deploy",
                                              service: service.name, location: mounts[index].2))
                }
                mounts[index].1 = volume
                volumes.append(volume)
            }
            for (kind, from) in service.volumesFrom.compactMap({ v -> (String, ComposeVolumesFrom)? in
                if case .container(let name) = v.source { return (name, v) } else { return nil } }) {
                unknowns.append(AuditNote("volumes_from container:\(kind): that container's mounts are not known before deploy",
                                          service: service.name, location: from.location))
            }
            report.notes += unknowns
            let details = Self.details(service, project: project, mounts: mounts.compactMap(\.0), volumes: volumes)
            let verdict = HostControlVerdict.judge(details, hostControl: config.hostControl, sockets: sockets,
                                                   statePaths: statePaths, host: host, eventTimeNano: nil)
            for finding in verdict.findings {
                report.items.append(item(finding, service: service, at: location(of: finding, service: service, mounts: mounts)))
            }
            if let finding = pidsFinding(service, details: details) { report.items.append(finding) }
        }
        return report
    }

    /// Its own mounts, then those of each service it takes `volumes_from`
    /// (as Docker copies them), each with where it is written.
    private func collectMounts(_ service: ComposeService, project: ComposeProject, readOnly: Bool, via: SourceLocation?,
                               into out: inout [(MountPoint?, VolumeMount?, SourceLocation)], visited: inout Set<String>,
                               unknowns: inout [AuditNote]) {
        guard visited.insert(service.name).inserted else { return }
        for m in service.volumes {
            let at = via ?? m.location
            let rw = !(m.readOnly || readOnly)
            switch m.type {
            case .bind:
                guard let source = m.source else { continue }
                out.append((MountPoint(kind: .bind, source: source, destination: m.target, readWrite: rw), nil, at))
            case .volume:
                guard let key = m.source else { continue }  // anonymous: the engine's own folder
                guard let declared = project.volumes[key] else {
                    // Compose refuses a named volume it does not declare.
                    unknowns.append(AuditNote("volume \(key) is not declared under volumes:", service: service.name, location: at))
                    continue
                }
                let options: [String: String]? = declared.external ? nil : declared.driverOptions
                out.append((nil, VolumeMount(name: declared.engineName, destination: m.target, driver: declared.driver ?? "local",
                                             readWrite: rw, options: options), at))
            case .tmpfs, .npipe: continue
            }
        }
        for from in service.volumesFrom {
            guard case .service(let name) = from.source, let other = project.service(name) else { continue }
            collectMounts(other, project: project, readOnly: readOnly || from.readOnly, via: via ?? from.location,
                          into: &out, visited: &visited, unknowns: &unknowns)
        }
    }

    /// The container `docker compose up` would create, as inspect would show it.
    static func details(_ service: ComposeService, project: ComposeProject, mounts: [MountPoint],
                        volumes: [VolumeMount]) -> ContainerDetails {
        var labels = service.labels
        labels["com.docker.compose.project"] = project.name
        labels["com.docker.compose.service"] = service.name
        return ContainerDetails(
            id: placeholderID(project: project.name, service: service.name),
            metadata: ContainerMetadata(name: service.containerName ?? service.name, image: service.image ?? "", labels: labels),
            mounts: mounts, binds: [], state: "not deployed", pidsLimit: service.ownPidsLimit?.value, volumes: volumes,
            privileged: service.privileged?.value ?? false, pidMode: service.pid?.value ?? "",
            capAdd: service.capAdd.map(\.value), devices: service.devices.map(\.hostPath))
    }

    /// A stand-in id (the engine gives the real one at create): never
    /// printed, only the analysis' key.
    static func placeholderID(project: String, service: String) -> ContainerID {
        var words: [UInt64] = []
        for seed in [UInt64(0xcbf29ce484222325), 0x84222325cbf29ce4, 0x9e3779b97f4a7c15, 0x0123456789abcdef] {
            var h = seed
            for byte in "\(project)/\(service)".utf8 { h = (h ^ UInt64(byte)) &* 0x100000001b3 }
            words.append(h)
        }
        let hex = words.map { let s = String($0, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }.joined()
        return ContainerID(hex)!
    }

    private func location(of finding: Finding, service: ComposeService,
                          mounts: [(MountPoint?, VolumeMount?, SourceLocation)]) -> SourceLocation {
        func mount(_ destination: String) -> SourceLocation? {
            mounts.first { ($0.0?.destination ?? $0.1?.destination) == destination }?.2
        }
        switch finding {
        case .socketExposure(let s): return mount(s.exposures[0].mountDestination) ?? service.location
        case .socketUnresolved(_, let u, _): return u.first.flatMap { mount($0.destination) } ?? service.location
        case .hostControl(_, let f, _, _):
            switch f {
            case .privileged: return service.privileged?.location ?? service.location
            case .hostPID: return service.pid?.location ?? service.location
            case .engineState(_, let m): return mount(m.destination) ?? service.location
            case .blockDevice(let path, let volume):
                if volume == nil, let d = service.devices.first(where: { $0.hostPath == path }) { return d.location }
                return mounts.first { $0.1?.name == volume }?.2 ?? service.location
            }
        default: return service.location
        }
    }

    /// The daemon's rule for "no limit of its own" (`hasOwnPidsLimit`), before
    /// any cgroup exists: what ceiling the container will get instead
    /// depends on the engine's cgroup driver, so it is not named.
    private func pidsFinding(_ service: ComposeService, details: ContainerDetails) -> AuditItem? {
        let policy = config.policy(for: details.metadata)
        guard !details.hasOwnPidsLimit, !policy.ignore, policy.unlimited == .warn else { return nil }
        let set = service.ownPidsLimit.map { " (it sets \($0.value), which is no limit)" } ?? ""
        let finding = Finding.containerPids(PidsFinding(kind: .pidsUnlimited, current: 0),
                                            ContainerRef(id: details.id, metadata: details.metadata), peak: nil)
        let words = EntryText(
            message: "Service \(AlertText.sanitizedForMessage(service.name)) sets no pids limit\(set): once deployed, only a ceiling "
                + "set around it (systemd's DefaultTasksMax with the systemd cgroup driver) or the host's process table "
                + "stops a fork bomb. Set pids_limit (or deploy.resources.limits.pids).",
            fields: [("PIDS_MAX_SOURCE", "none")])
        return item(finding, words: words, service: service, at: service.ownPidsLimit?.location ?? service.location)
    }

    /// The daemon's entry for the container, told of the service: "Service
    /// web" where the daemon names "Container web (<id>)".
    private func item(_ finding: Finding, words: EntryText? = nil, service: ComposeService,
                      at location: SourceLocation) -> AuditItem {
        var item = AuditItem(finding, words: words, service: service.name, location: location)
        if let ref = finding.container {
            let named = "Container \(AlertText.sanitizedForMessage(ref.displayName)) (\(ref.id.short))"
            item.entry.message = item.entry.message.replacing(
                named, with: "Service \(AlertText.sanitizedForMessage(service.name))")
        }
        return item
    }
}
