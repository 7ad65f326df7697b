import Foundation
import Glibc

/// Runs tools from the tests: posix_spawn with the standard streams in files,
/// and waitpid. Not Foundation's Process: its waitUntilExit was seen to hang
/// forever here on a script that leaves a daemon behind (the engine restart).
public enum Subprocess {
    public struct Output {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var output: String { stdout + stderr }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `path` (argv[0] is `path`) with stdin from `stdinPath` and the
    /// output streams truncated into the given files.
    public static func spawn(_ path: String, _ args: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                             stdinPath: String = "/dev/null", stdoutPath: String, stderrPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw Failure(description: "cannot spawn \(path): errno \(rc)") }
        return pid
    }

    /// The exit code (128+signal when killed), or nil when it ran past
    /// `timeout` and was killed with SIGKILL. No timeout: waits as long as it takes.
    public static func wait(_ pid: pid_t, timeout: TimeInterval? = nil) -> Int32? {
        var status: Int32 = 0
        guard let timeout else {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return exitCode(status)
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return exitCode(status) }
            if r < 0 && errno != EINTR { return nil }
            if Date() > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return nil
            }
            usleep(10_000)
        }
    }

    /// Runs to completion and returns what it printed. Throws when it cannot
    /// start or runs past `timeout`.
    public static func run(_ path: String, _ args: [String],
                           environment: [String: String] = ProcessInfo.processInfo.environment,
                           stdin: String? = nil, timeout: TimeInterval? = nil) throws -> Output {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("dockward-test-\(UUID().uuidString)").path
        let inPath = base + ".in", outPath = base + ".out", errPath = base + ".err"
        defer { unlink(inPath); unlink(outPath); unlink(errPath) }
        if let stdin { try stdin.write(toFile: inPath, atomically: false, encoding: .utf8) }
        let pid = try spawn(path, args, environment: environment, stdinPath: stdin == nil ? "/dev/null" : inPath,
                            stdoutPath: outPath, stderrPath: errPath)
        let code = wait(pid, timeout: timeout)
        let out = read(outPath), err = read(errPath)
        guard let code else {
            throw Failure(description: "\(path) \(args.joined(separator: " ")) timed out after \(Int(timeout ?? 0)) s: \(out)\(err)")
        }
        return Output(status: code, stdout: out, stderr: err)
    }

    public static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    public static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
