import ArgumentParser
import DockwardCore
import DockwardHost
import DockwardDocker
import DockwardEngines
import DockwardSystem
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// The options `audit` and `check-compose` share.
public struct ReportOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The daemon's config file: its allow rules, overrides (ignore, unlimited) and disabled checks apply (default \(ConfigFile.defaultPath); built-in defaults when that file is absent).",
        valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "One JSON object a line, with the journal entries' field names.")
    var json = false

    @Flag(name: .long, help: "SARIF 2.1.0, for code-scanning dashboards.")
    var sarif = false

    @Option(name: .customLong("fail-on"), help: ArgumentHelp(
        "Exit 1 when a finding is at this priority or worse: crit, err, warning, notice.", valueName: "level"))
    var failOn: String = "err"

    public init() {}

    public func validate() throws {
        guard Priority(name: failOn) != nil else {
            throw ValidationError("--fail-on must be one of emerg, alert, crit, err, warning, notice, info, debug")
        }
        guard !(json && sarif) else { throw ValidationError("--json and --sarif exclude each other") }
    }

    var format: AuditOutput.Format { sarif ? .sarif : json ? .json : .table }
    var failPriority: Priority { Priority(name: failOn) ?? .err }

    func loadConfig() throws -> DockwardConfig {
        do {
            return try ConfigFile.load(path: config ?? ConfigFile.defaultPath, isExplicit: config != nil)
        } catch {
            throw CommandFailure("could not audit: invalid configuration:\n\(error)")
        }
    }

    func print(_ report: AuditReport) -> Int32 {
        let text: String
        switch format {
        case .table: text = AuditOutput.table(report, failOn: failPriority)
        case .json: text = AuditOutput.jsonLines(report)
        case .sarif: text = AuditOutput.sarif(report, version: DockwardVersion.current)
        }
        _ = FileDescriptorWriter.writeAll(STDOUT_FILENO, text)
        if format != .table {
            // Scripts read stdout; the notes and the verdict go beside it.
            var side = report.notes.map { n in "note: " + (n.location.map { "\($0.file):\($0.line): " } ?? "") + n.text }
            side.append(AuditOutput.summary(report, failOn: failPriority))
            _ = FileDescriptorWriter.writeAll(STDERR_FILENO, side.joined(separator: "\n") + "\n")
        }
        return report.exitStatus(failOn: failPriority)
    }
}

/// A parsed command's values, handed to the task that runs it (the
/// command waits for that task and touches nothing meanwhile).
struct Carried<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A message and exit 2.
struct CommandFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Runs an async body from a synchronous command (the daemon's `run`
/// owns the main thread with dispatchMain, so the root command stays
/// synchronous) and maps a failure to exit 2 with its message.
func runBlocking(_ body: @escaping @Sendable () async throws -> Int32) throws {
    let outcome = Mutex<Result<Int32, Error>>(.success(0))
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let result: Result<Int32, Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    switch outcome.withLock({ $0 }) {
    case .success(let status):
        if status != 0 { throw ExitCode(status) }
    case .failure(let error as CommandFailure):
        _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "dockward: \(error.message)\n")
        throw ExitCode(AuditExit.couldNotAudit)
    case .failure(let error as AuditFailure):
        _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "dockward: \(error.message)\n")
        throw ExitCode(AuditExit.couldNotAudit)
    case .failure(let error as ComposeError):
        _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "dockward: could not check: \(error)\n")
        throw ExitCode(AuditExit.couldNotAudit)
    case .failure(let error):
        throw error
    }
}

/// The engine the config names, through its runtime module; quiet (a
/// one-shot command says what it found in its report).
func engineRuntime(_ config: DockwardConfig) throws -> ContainerRuntime {
    do {
        var logger = Logger(label: "dockward.engine")
        logger.logLevel = .critical
        return try FollowedEngine.make(config, environment: ProcessInfo.processInfo.environment, logger: logger).runtime
    } catch {
        throw CommandFailure("could not audit: \(error)")
    }
}

public struct AuditCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Report every way to the host and every pids posture on this Docker host, once.",
        discussion: """
        DESCRIPTION
          Reads the engine once (GET /_ping, /info, /containers/json?all=1, each
          container's inspect and its volumes), the engine's own configuration
          files (its systemd unit with drop-ins and environment files,
          daemon.json, under host_control.engine_config_root) and the cgroup tree
          once, and prints every finding the daemon would raise for what is there
          now, judged by the daemon's own code. It needs no running daemon, sends
          only GET requests and writes nothing. The engine is the one the daemon
          would watch: docker_socket from the config, or DOCKER_HOST=unix:///path.

        WHAT IT REPORTS
          socket-mount (crit)
              A mount reaches the engine's socket or another protected one:
              the socket, a folder above it, a symlink, a hard link, a second
              view of its folder, a named volume binding one of them.
          socket-mount-unresolved (err)
              A mount's host path could not be resolved: unknown, not clean.
          privileged (crit), host-pid (err), engine-state-mount (err),
          block-device (err)
              The other ways to the host, as the daemon's README tells them.
          engine-tcp-exposed (crit)
              The engine's configuration has a TCP listener without
              --tlsverify.
          socket-mount-allowed, host-control-allowed (notice)
              The same, for a container a host_control.allow rule matches.
          pids-unlimited (warning)
              No pids limit of its own: pids.max is max, or a ceiling set
              around it.
          pids-exhausted (crit)
              At its limit, with forks refused.
          Every container the engine lists is judged, created and stopped
          ones too.

          Pids posture, per container: its limit (pids.max) and whose it is (own:
          asked for with --pids-limit; inherited: a ceiling set around it, such as
          systemd's DefaultTasksMax; none: max), pids.current, pids.peak where the
          kernel keeps it, forks refused so far, and a suggested limit: twice the
          peak (or the count now where there is no peak), at least 64 above it,
          rounded up to a multiple of 64, so never below what it runs now.

          Trends need time: pids-high and pids-forecast come from the daemon only.

        CONFIG
          --config honours host_control.allow (a notice instead of an alert),
          host_control.protect, host_control.checks (a check turned off is not
          run), overrides with ignore: true or unlimited: ignore (no pids finding
          for those containers), cgroup.root and docker_socket.

        OUTPUT
          A table (default): findings worst first, the pids posture, notes on what
          was resolved. --json: one object a line, with the field names of the
          journal entry the daemon writes for the same finding (MESSAGE, PRIORITY,
          DOCKWARD_ALERT, CONTAINER_NAME, SOCKET_PATH, EXPOSURE, ...), then one
          DOCKWARD_POSTURE=pids object per container. --sarif: SARIF 2.1.0, one
          rule per kind, each container a logical location. With --json and
          --sarif, notes and the verdict line go to stderr.

        EXIT STATUS
          0   nothing at or above --fail-on (default err)
          1   at least one finding at or above --fail-on
          2   could not audit: the engine unreachable, the cgroup tree or the
              config unreadable; the message says which

        EXAMPLES
          dockward audit
          dockward audit --fail-on warning
          dockward audit --json | jq -r 'select(.DOCKWARD_ALERT) | .MESSAGE'
          DOCKER_HOST=unix:///run/user/1000/docker.sock dockward audit
          dockward audit --sarif > host.sarif

        SEE ALSO
          dockward check-compose --help; journalctl -x MESSAGE_ID=...;
          the README's "What it watches" and "One look, and before deploy".
        """)

    @OptionGroup var report: ReportOptions

    public init() {}

    public func run() throws {
        let report = Carried(self.report).value
        try runBlocking { [carried = Carried(report)] in
            let report = carried.value
            let config = try report.loadConfig()
            let engine = try engineRuntime(config)
            let result: AuditReport
            do {
                result = try await HostAudit(config: config, engine: engine).run()
            } catch {
                try? await engine.shutdown()
                throw error
            }
            try? await engine.shutdown()
            return report.print(result)
        }
    }
}

public struct CheckComposeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check-compose",
        abstract: "Check Compose files before deploy, with the daemon's own analysis.",
        discussion: """
        DESCRIPTION
          Reads the Compose files as Compose v2's `docker compose config` does,
          turns each service into the container `docker compose up` would
          create, and judges it as the daemon would once it runs. Several files
          (-f, or FILE arguments) are merged in order; without any, compose.yaml,
          compose.yml, docker-compose.yml or docker-compose.yaml in the current
          folder is read, with its override file (compose.override.yml,
          docker-compose.override.yml, or .yaml) beside it.

        WHAT IT FOLLOWS
          service volumes in short (SRC:DST[:MODE]) and long syntax
          (type/source/target/read_only); top-level volumes with driver_opts
          (type: none, o: bind, device: /path binds that path), external volumes
          and name:; relative paths against the project folder (the first file's,
          or --project-directory; an extended or included file's own folder for
          what it brings) and ~; interpolation of every value by Compose v2's
          rules: $VAR ${VAR} ${VAR:-default} ${VAR-default} ${VAR:+alt}
          ${VAR+alt} ${VAR:?error} ${VAR?error}, nested defaults, and $$; a $
          that starts no variable (a bcrypt hash's $2a$12$...) stays as written;
          from the environment over the project folder's .env (or --env-file),
          whose own values are interpolated too; the project name (-p,
          COMPOSE_PROJECT_NAME, top-level name:, the folder's name), usable as
          ${COMPOSE_PROJECT_NAME}; volumes_from (another service's mounts are
          this one's), privileged, pid: host with cap_add, devices (short and
          long syntax), pids_limit and deploy.resources.limits.pids; YAML merge
          keys (<<: *common); extends (same file or file:); include: (another
          project, read in its own folder with its own .env); profiles (a
          service with profiles is checked only when one is active: --profile
          or COMPOSE_PROFILES).

        HOST FACTS
          What lives on the host is resolved on the host this runs on, and the
          notes say so: the engine's socket and its real path, its other names
          (hard links), the engine's data root (GET /info when the engine is
          reachable; Docker's default /var/lib/docker otherwise, said so), block
          devices, a named volume that already exists on the engine (its options
          are the ones the container gets). What only the deploy can tell is said,
          not guessed: an external volume's options without an engine, a container
          named in volumes_from: container:NAME. --no-engine never asks the engine
          (a CI runner without one).

        FINDINGS
          The kinds of `dockward audit` (socket-mount, socket-mount-unresolved,
          privileged, host-pid, engine-state-mount, block-device, *-allowed), each
          naming file, line and service, and pids-unlimited (warning) for a
          service with no pids limit of its own. Allow rules match a service by
          its container_name (else the service name), image and labels (with
          com.docker.compose.project and com.docker.compose.service).

        OUTPUT AND EXIT STATUS
          As `dockward audit`: a table, --json (COMPOSE_SERVICE, COMPOSE_FILE,
          COMPOSE_LINE added), --sarif (each result at its file and line, for code
          scanning). Exit 0 when nothing is at or above --fail-on (default err), 1
          when something is, 2 when a file cannot be read or is not valid Compose
          (a required variable unset, a bad interpolation).

        EXAMPLES
          dockward check-compose docker-compose.yml
          dockward check-compose -f compose.yaml -f compose.prod.yaml --profile debug
          dockward check-compose --no-engine --sarif compose.yaml > dockward.sarif
        """)

    @Argument(help: ArgumentHelp("Compose files, merged in order (as -f).", valueName: "file"))
    var files: [String] = []

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("A Compose file; repeat to merge several in order.", valueName: "file"))
    var file: [String] = []

    @Option(name: .long, help: ArgumentHelp("Enable a profile; repeat for several (also COMPOSE_PROFILES).", valueName: "name"))
    var profile: [String] = []

    @Option(name: .customLong("env-file"), help: ArgumentHelp("Read variables from this file instead of the project folder's .env.", valueName: "path"))
    var envFile: String?

    @Option(name: .customLong("project-directory"), help: ArgumentHelp("Resolve relative paths against this folder (default: the first file's).", valueName: "dir"))
    var projectDirectory: String?

    @Option(name: [.customShort("p"), .customLong("project-name")], help: ArgumentHelp("Project name (default COMPOSE_PROJECT_NAME, else the files' name:, else the project folder's name).", valueName: "name"))
    var projectName: String?

    @Flag(name: .customLong("no-engine"), help: "Do not ask the engine (existing volumes, its data root).")
    var noEngine = false

    @OptionGroup var report: ReportOptions

    public init() {}

    public func run() throws {
        try runBlocking { [carried = Carried(self)] in
            let command = carried.value
            let config = try command.report.loadConfig()
            let env = ProcessInfo.processInfo.environment
            let named = command.file + command.files
            let files = named.isEmpty ? try Self.defaultFiles() : named
            let loader = ComposeLoader(environment: env, envFile: command.envFile,
                                       projectDirectory: command.projectDirectory, projectName: command.projectName)
            let project = try loader.load(files: files)
            var profiles = Set(command.profile)
            profiles.formUnion(project.environmentProfiles)
            let engine: ContainerRuntime? = command.noEngine ? nil : try? engineRuntime(config)
            let socket = (try? DockerEndpoint.resolve(configuredSocket: config.dockerSocket, environment: env))?.socketPath
                ?? config.dockerSocket
            let check = ComposeCheck(config: config, engineSocket: socket,
                                     engine: engine.flatMap { FileManager.default.fileExists(atPath: $0.socketPath) ? $0 : nil },
                                     activeProfiles: profiles, hostName: ProcessInfo.processInfo.hostName)
            let result = await check.run(project)
            try? await engine?.shutdown()
            return command.report.print(result)
        }
    }

    static func defaultFiles() throws -> [String] {
        let fm = FileManager.default
        guard let main = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"]
            .first(where: fm.fileExists(atPath:)) else {
            throw CommandFailure("could not check: no Compose file given and none in the current folder "
                + "(compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml)")
        }
        let prefix = main.hasPrefix("docker-") ? "docker-compose" : "compose"
        let overrides = ["\(prefix).override.yml", "\(prefix).override.yaml"].filter(fm.fileExists(atPath:))
        return [main] + overrides.prefix(1)
    }
}
