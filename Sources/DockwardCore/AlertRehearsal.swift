/// The first alert of a run pays what a Swift program pays on the first use
/// of each path: type metadata made, protocol conformances looked up (the
/// first lookup of each pair scans the binary's ten thousand conformance
/// records), code pages faulted in. On the emulated Kubernetes node of
/// `make test-k8snode` that was 140 ms between the kernel's refusal and
/// the first pod's `pids-exhausted` entry, and 2.5 ms for the same path a
/// moment later. A guard is judged by its first alert, so the daemon pays
/// it at start instead: a detector is taken through a container's whole
/// story (its trend to a forecast, its warn and critical ratios, forks
/// refused at its pod's limit, its recovery; a container with no limit)
/// and every finding is rendered as the outlet and the Alertmanager feed
/// render it. Nothing is sent, and no state of the daemon is touched.
public enum AlertRehearsal {
    /// The rehearsed findings with their entries, in order (the tests check
    /// that every kind of the container's story is played).
    public static func run() -> [(finding: Finding, entry: JournalEntry)] {
        var policy = PidsPolicy()
        policy.highFor = .seconds(1)
        let timing = AlertTiming(repeatInterval: .seconds(600), recoverAfter: .seconds(5))
        let host = HostPidsSample(tasks: 500, ceiling: 4_194_304)
        let second = Interval.seconds(1).nanoseconds
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0.slice"
        let ref = ContainerRef(
            id: ContainerID(String(repeating: "0", count: 64))!,
            metadata: ContainerMetadata(name: "rehearsal/pod/container", image: "rehearsal",
                                        pod: PodIdentity(namespace: "rehearsal", pod: "pod", podUID: "0",
                                                         container: "container")),
            cgroupPath: "/sys/fs/cgroup" + pod + "/cri-containerd-0.scope")
        var findings: [Finding] = []

        // A pod's container growing towards its pod's limit of 40, hitting it, then quiet again.
        var detector = ContainerPidsDetector(policy: policy, countsEarlierRefusals: true)
        var counts: [(current: Int64, refused: Int64)] = (0..<60).map { (1 + $0 / 2, 0) }
        counts += Array(repeating: (33, 0), count: 3) + Array(repeating: (39, 0), count: 3) + [(40, 3), (40, 5)]
        counts += Array(repeating: (5, 5), count: 10)
        for (i, count) in counts.enumerated() {
            var sample = PidsSample(current: count.current, limit: 40, refusedForks: count.refused,
                                    peak: 40, limitLevel: .pod)
            if count.refused > 0 { sample.refusingLimit = RefusingLimit(cgroup: pod, limit: 40, place: .parent) }
            for var f in detector.observe(sample, at: Int64(i) * second, policy: policy, timing: timing, host: host) {
                f.limitLevel = .pod
                f.limitCgroup = pod
                if f.kind == .pidsExhausted {
                    f.podTasks = [PodTasks(name: "container", tasks: 37), PodTasks(name: "sidecar", tasks: 3)]
                }
                findings.append(.containerPids(f, ref, peak: sample.peak))
            }
        }
        // A container with no limit of its own.
        var unlimited = ContainerPidsDetector(policy: policy, countsEarlierRefusals: true)
        for i in 0..<3 {
            let sample = PidsSample(current: 3, limit: PidsSample.unlimited, refusedForks: 0)
            for f in unlimited.observe(sample, at: Int64(i) * second, policy: policy, timing: timing, host: host) {
                findings.append(.containerPids(f, ref, peak: nil))
            }
        }
        return findings.map { finding in
            let entry = finding.entry
            _ = entry.allFields
            _ = AlertmanagerAlerts.alert(for: finding, entry: entry, startsAt: 0, endsAt: second, host: "rehearsal",
                                   extraLabels: [:])
            return (finding, entry)
        }
    }
}
