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
        subcommands: [Run.self, CheckConfig.self, Version.self, Alerts.self, AuditCommand.self, CheckComposeCommand.self]
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

Dockward.main()
