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

    @Option(help: "The date in the page's footer, YYYY-MM-DD (default: today).")
    var date: String?

    func run() throws {
        let date = self.date ?? String(ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!,
                                                                   formatOptions: .withFullDate))
        switch page {
        case "dockward.yml.5":
            print(ConfigTable.manualPage(version: DockwardVersion.current, date: date), terminator: "")
        case "dockward.8":
            // The parser's own account of every command, from this binary.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            process.arguments = ["--experimental-dump-help"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let json = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("--experimental-dump-help exited with \(process.terminationStatus)")
            }
            print(try CommandManual.page(toolInfo: json, version: DockwardVersion.current, date: date), terminator: "")
        default:
            throw ValidationError("no page \(page): dockward.8 or dockward.yml.5")
        }
    }
}

Dockward.main()
