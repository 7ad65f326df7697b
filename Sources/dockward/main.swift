import ArgumentParser
import DockwardAudit
import DockwardCommands
import DockwardCore
import DockwardDaemon
import DockwardHost
import FoundationEssentials
import DockwardSystem
import Glibc
import Logging

struct Dockward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dockward",
        abstract: "Guards a Docker host against PID exhaustion and Docker socket exposure.",
        discussion: "audit and check-compose give the daemon's verdicts in one command: on a running host, and on Compose files before deploy.",
        version: DockwardVersion.current,
        subcommands: [Run.self, CheckConfig.self, Version.self, Alerts.self, AuditCommand.self, CheckComposeCommand.self, Manual.self]
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon in the foreground.")

    @Option(name: .long, help: "Config file (default \(ConfigFile.defaultPath); built-in defaults when that file is absent).")
    var config: String?

    @Flag(name: .long, help: "Also print every journal entry to stderr.")
    var logStderr = false

    @Option(name: .long, help: "Lowest level of the daemon's own log lines: debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: ArgumentHelp(
        "Keep open alert episodes here so a restart does not repeat them (default $STATE_DIRECTORY, set by systemd's StateDirectory=; without either, nowhere).",
        valueName: "dir"))
    var stateDir: String?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of debug, info, notice, warning, error")
        }
    }

    func run() throws {
        let options = DaemonRunner.Options(
            configPath: config ?? ConfigFile.defaultPath, configIsExplicit: config != nil,
            mirrorToStderr: logStderr, logLevel: Logger.Level(rawValue: logLevel) ?? .info, stateDirectory: stateDir)
        do {
            try DaemonRunner.run(options)
        } catch let error as DaemonStartError {
            _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "dockward: \(error.message)\n")
            throw ExitCode(error.code.rawValue)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a config file; exit 0 when valid.")

    @Argument(help: "The config file to check.")
    var path: String

    func run() throws {
        do {
            let config = try ConfigFile.load(path: path, isExplicit: true)
            print("\(path): valid (\(config.summary))")
        } catch {
            _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "\(error)\n")
            throw ExitCode(Daemon.ExitCode.config.rawValue)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() { print("dockward \(DockwardVersion.current)") }
}

/// The package's man pages, written from the code at build time
/// (scripts/build-deb.sh): dockward(8) from these command definitions,
/// dockward.yml(5) from the config table. Hidden: not a user's command.
struct Manual: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a man page of the package: dockward.8 or dockward.yml.5.", shouldDisplay: false)

    @Argument(help: "dockward.8 or dockward.yml.5.")
    var page: String

    @Option(help: "The date in the page's footer, YYYY-MM-DD.")
    var date: String

    @Option(help: ArgumentHelp("For dockward.8: the parser's account of every command, as `dockward --experimental-dump-help` prints it (a file, - for stdin).",
                               valueName: "file"))
    var toolInfo: String?

    func run() throws {
        switch page {
        case "dockward.yml.5":
            print(ConfigTable.manualPage(version: DockwardVersion.current, date: date), terminator: "")
        case "dockward.8":
            // The parser's own account of every command, from this binary
            // (`dockward --experimental-dump-help`, run by the build script).
            guard let toolInfo else { throw ValidationError("dockward.8 needs --tool-info FILE") }
            let fd = toolInfo == "-" ? STDIN_FILENO : open(toolInfo, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("cannot open \(toolInfo): \(FileDescriptorReader.describe(errno))") }
            defer { if fd != STDIN_FILENO { close(fd) } }
            guard case .bytes(let json) = FileDescriptorReader.readAll(fd, limit: 16 << 20) else {
                throw ValidationError("cannot read \(toolInfo)")
            }
            print(try CommandManual.page(toolInfo: Data(json), version: DockwardVersion.current, date: date), terminator: "")
        default:
            throw ValidationError("no page \(page): dockward.8 or dockward.yml.5")
        }
    }
}

Dockward.main()
