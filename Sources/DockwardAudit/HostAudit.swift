import DockwardCgroup
import DockwardCore
import DockwardHost
import DockwardDocker
import DockwardEngines
import Synchronization

/// `dockward audit`: one look at the engine (every container, its volumes,
/// `/info`), at the engine's configuration files and at the cgroup tree,
/// judged by the daemon's own functions. Sends only GET requests (the
/// engine client can send nothing else) and writes nothing.
public struct HostAudit: Sendable {
    public var config: DockwardConfig
    public var engine: ContainerRuntime
    public var host: HostPathInspector
    public var procRoot: String
    /// Inspects under way at once: the daemon's own bound.
    public static let inspectConcurrency = 4

    public init(config: DockwardConfig, engine: ContainerRuntime, host: HostPathInspector = HostPaths(), procRoot: String = "/proc") {
        self.config = config
        self.engine = engine
        self.host = host
        self.procRoot = procRoot
    }

    public func run() async throws(AuditFailure) -> AuditReport {
        var report = AuditReport(command: "audit")
        let containers = try await readEngine(&report)
        let sockets = ProtectedSocket.protected(engineSocket: engine.socketPath, protect: config.hostControl.protect,
                                                host: host) { socket, identity, count in
            host.otherNames(of: socket.resolved, identity: identity, wanted: count - 1)
        }
        for link in sockets where link.hardLinkOf != nil {
            report.notes.append(AuditNote("\(link.hardLinkOf!) has another name on this host: \(link.path) (protected too)"))
        }
        let statePaths = HostControlAnalysis.statePaths(engineDataRoot: containers.dataRoot)
        for details in containers.details {
            let verdict = HostControlVerdict.judge(details, hostControl: config.hostControl, sockets: sockets,
                                                   statePaths: statePaths, host: host, eventTimeNano: nil)
            for finding in verdict.findings {
                report.items.append(AuditItem(finding, service: details.metadata.labels[Self.serviceLabel]))
            }
        }
        if config.hostControl.checks.engineTCP {
            let (findings, problems) = EngineConfigFiles(root: config.hostControl.engineConfigRoot).exposedListeners()
            for finding in findings {
                report.items.append(AuditItem(.engineTCPExposed(finding, unreadable: problems.map(\.path))))
            }
            for problem in problems {
                report.notes.append(AuditNote("engine TCP check: cannot read \(problem); a listener set there would go unseen"))
            }
        }
        try readCgroups(containers.details, into: &report)
        return report
    }

    static let serviceLabel = "com.docker.compose.service"

    private struct EngineView {
        var details: [ContainerDetails]
        var dataRoot: String?
    }

    private func readEngine(_ report: inout AuditReport) async throws(AuditFailure) -> EngineView {
        let socket = engine.socketPath
        let dataRoot: String?
        do {
            dataRoot = try await engine.connect().dataRoot
        } catch let failed as RuntimeDescribeFailed {
            throw AuditFailure("could not audit: the engine at \(socket) stopped answering: \(failed.underlying)")
        } catch {
            throw AuditFailure("could not audit: \(error)")
        }
        if let dataRoot {
            report.notes.append(AuditNote("the engine keeps its state in \(dataRoot) (GET /info)"))
        } else {
            report.notes.append(AuditNote("the engine did not say where it keeps its state (GET /info); its data root is not checked"))
        }
        let listed: [ContainerID]
        do {
            listed = try await engine.listContainers()
        } catch {
            throw AuditFailure("could not audit: cannot list the engine's containers at \(socket): \(error)")
        }
        let engine = self.engine
        let outcome: [(Int, Result<ContainerDetails?, AuditFailure>, [String])] = await withTaskGroup(
            of: (Int, Result<ContainerDetails?, AuditFailure>, [String]).self
        ) { group in
            var results: [(Int, Result<ContainerDetails?, AuditFailure>, [String])] = []
            var next = 0
            func add() {
                guard next < listed.count else { return }
                let index = next, id = listed[index]
                next += 1
                group.addTask {
                    do {
                        let refusals = RefusalList()
                        let details = try await engine.describe(id) { refusals.append("\($0); judged on its inline options") }
                        return (index, .success(details), refusals.items)
                    } catch {
                        return (index, .failure(AuditFailure("could not audit: cannot inspect container \(id.short): \(error)")), [])
                    }
                }
            }
            for _ in 0..<Self.inspectConcurrency { add() }
            while let result = await group.next() {
                results.append(result)
                add()
            }
            return results
        }
        var details: [ContainerDetails] = []
        for (_, result, refusals) in outcome.sorted(by: { $0.0 < $1.0 }) {
            report.notes += refusals.map { AuditNote($0) }
            switch result {
            // Removed between the listing and its inspect: nothing to judge.
            case .success(let found): if let found { details.append(found) }
            case .failure(let failure): throw failure
            }
        }
        return EngineView(details: details, dataRoot: dataRoot)
    }

    /// The pids posture of each container, and the pids findings the
    /// daemon's detector makes at its first look (a container at its limit
    /// that refused forks, one without a limit of its own).
    private func readCgroups(_ containers: [ContainerDetails], into report: inout AuditReport) throws(AuditFailure) {
        let layout: CgroupLayout
        do {
            layout = try CgroupLayoutDetector.detect(root: config.cgroupRoot)
        } catch {
            throw AuditFailure("could not audit: cannot read the cgroup tree under \(config.cgroupRoot): \(error)")
        }
        let discovery = CgroupDiscovery(layout: layout, names: Engines.cgroupNames())
        var found: [ContainerID: (path: String, driver: CgroupDriver)] = [:]
        discovery.scan { id, driver, path in found[id] = (path(), driver) }
        let hostSample = try? HostPidsReader(procRoot: procRoot).read()
        let timing = AlertTiming(config)
        for details in containers {
            var place = found[details.id]
            // Elsewhere (a --cgroup-parent): where the kernel says its main process is.
            if place == nil, let pid = details.mainPid,
               let relative = ProcessCgroup.pidsPath(ofProcess: pid, procRoot: procRoot, version: layout.version),
               relative.contains(details.id.full) {
                let dir = discovery.directory(of: relative)
                place = (dir, CgroupDriver(cgroupPath: dir))
            }
            let ref = ContainerRef(id: details.id, metadata: details.metadata,
                                   cgroupPath: place.map { discovery.relativePath(of: $0.path) })
            guard let place, let sample = Self.sample(place.path) else {
                report.postures.append(PidsPosture(container: ref, state: details.state, reading: nil))
                continue
            }
            report.postures.append(PidsPosture(container: ref, state: details.state,
                                               reading: PidsPosture.reading(sample, hasOwnLimit: details.hasOwnPidsLimit)))
            let policy = config.policy(for: details.metadata)
            var detector = ContainerPidsDetector(policy: policy)
            detector.hasOwnLimit = details.hasOwnPidsLimit
            // Two looks a settle time apart, the same sample: what the
            // daemon says of the container within its first second.
            var findings: [PidsFinding] = []
            for now in [Int64(0), ContainerPidsDetector.unlimitedSettleTime.nanoseconds] {
                findings += detector.observe(sample, at: now, policy: policy, timing: timing, host: hostSample,
                                             ceilingOrigin: place.driver.ceilingOrigin)
            }
            for var finding in findings {
                // One look has no earlier report to count refusals since.
                finding.newlyRefused = nil
                report.items.append(AuditItem(.containerPids(finding, ref, peak: sample.peak),
                                              service: details.metadata.labels[Self.serviceLabel]))
            }
        }
    }

    /// One reading of a container's pids files; nil when its cgroup is gone.
    static func sample(_ directory: String) -> PidsSample? {
        guard let files = try? PidsCounterFiles(directory: directory, keepOpen: false) else { return nil }
        defer { files.close() }
        guard let current = try? files.readCurrent(), let limit = try? files.readLimit() else { return nil }
        return PidsSample(current: current, limit: limit, refusedForks: (try? files.readRefusedForks()) ?? 0,
                          peak: files.readPeak())
    }
}

/// Lines gathered by a volume-options reader's refusal callback.
private final class RefusalList: Sendable {
    private let lines = Mutex<[String]>([])
    var items: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}
