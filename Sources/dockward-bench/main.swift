import DockwardDaemon
import DockwardSystem
import Glibc

// dockward-bench HIERARCHY_ROOT TICKS
// Prints one line of key=value figures for the bench driver to read.
let args = CommandLine.arguments
guard args.count == 3, let ticks = Int(args[2]) else {
    _ = FileDescriptorWriter.writeAll(STDERR_FILENO, "usage: dockward-bench HIERARCHY_ROOT TICKS\n")
    exit(2)
}
let result = PollBenchmark.run(hierarchyRoot: args[1], ticks: ticks)
let sorted = result.tickNanos.sorted()
let median = sorted[sorted.count / 2]
let mean = sorted.reduce(0, +) / Int64(sorted.count)
var rssKiB = 0
if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
   let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
    rssKiB = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
}
print("containers=\(result.containers) ticks=\(sorted.count) median_ns=\(median) mean_ns=\(mean) min_ns=\(sorted.first!) rss_kib=\(rssKiB) entries=\(result.entries)")
