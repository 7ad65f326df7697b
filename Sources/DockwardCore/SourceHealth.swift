/// The inputs the daemon depends on, each of which can fail into a
/// fallback that is invisible once logged. `rawValue` is the metrics'
/// `source` label (`dockward_source_up{source}`).
public enum HealthSource: String, CaseIterable, Sendable {
    /// /dev/kmsg: the kernel's "fork rejected by pids controller" lines.
    case kmsg
    /// The journal's kernel lines (`_TRANSPORT=kernel`), read when kmsg is not.
    case journal
    /// The watch's inotify instance (new cgroups, changed `pids.max`).
    case inotify
    /// The Docker engine's events stream.
    case engine
    /// The state file that carries open episodes across a restart.
    case stateFile = "state_file"
    /// Every configured Alertmanager takes the alerts (up when none is configured).
    case alertmanager

    /// What being down means, in two or three words ("kmsg unreadable").
    public var downText: String {
        switch self {
        case .kmsg, .journal: "\(rawValue) unreadable"
        case .inotify: "inotify refused"
        case .engine: "engine not connected"
        case .stateFile: "state_file unwritable"
        case .alertmanager: "alertmanager unreachable"
        }
    }
}

/// Where refused forks are learnt from, best first: kmsg, the journal's
/// kernel lines, or (neither readable) reading every container's
/// `pids.events` each poll. The `dockward_refusal_source{source}` label.
public enum RefusalSource: String, CaseIterable, Sendable {
    case kmsg, journal, poll
}

/// The state of every ``HealthSource``, the refusal source in use, and
/// whether the open-file budget ran out (containers beyond it reopen their
/// files each poll). A source is up, down, or unused: a fallback never
/// needed (the journal while kmsg is read), an Alertmanager not configured,
/// a state file with no state directory. Only a source in use is up or down.
public struct SourceHealth: Equatable, Sendable {
    public var down: Set<HealthSource>
    public var unused: Set<HealthSource>
    public var refusalSource: RefusalSource
    public var openFileBudgetExceeded: Bool

    public init(down: Set<HealthSource> = [], unused: Set<HealthSource> = [], refusalSource: RefusalSource = .kmsg,
                openFileBudgetExceeded: Bool = false) {
        self.down = down
        self.unused = unused
        self.refusalSource = refusalSource
        self.openFileBudgetExceeded = openFileBudgetExceeded
    }

    /// In use and working (an unused source is not up: nothing says it works).
    public func isUp(_ source: HealthSource) -> Bool { !down.contains(source) && !unused.contains(source) }

    public func isUsed(_ source: HealthSource) -> Bool { !unused.contains(source) }

    public mutating func set(_ source: HealthSource, up: Bool) {
        unused.remove(source)
        if up { down.remove(source) } else { down.insert(source) }
    }

    public mutating func setUnused(_ source: HealthSource) {
        down.remove(source)
        unused.insert(source)
    }

    /// The sources behind the refusal source in use, and the one in use:
    /// those a `STATUS=` line names together ("refusals via journal (kmsg unreadable)").
    private var refusalChain: [HealthSource] {
        switch refusalSource {
        case .kmsg: [.kmsg]
        case .journal: [.kmsg, .journal]
        case .poll: [.kmsg, .journal]
        }
    }

    /// For the systemd `STATUS=` line, after its "watching N containers, M
    /// alerting, engine connected": the problems only, or the sources in use
    /// when there are none. The engine is left out: that line already says it.
    public var statusText: String {
        var problems: [String] = []
        let chain = refusalChain
        if refusalSource != .kmsg {
            let failed = chain.filter { down.contains($0) }
            let why: String
            switch failed.count {
            case 0: why = ""
            case 1: why = " (\(failed[0].downText))"
            default: why = " (\(failed.map(\.rawValue).joined(separator: " and ")) unreadable)"
            }
            problems.append("refusals via \(refusalSource.rawValue)\(why)")
        }
        for source in HealthSource.allCases where source != .engine && down.contains(source) {
            // kmsg and the journal are said above when they moved the refusals elsewhere.
            if refusalSource != .kmsg && chain.contains(source) { continue }
            problems.append(source.downText)
        }
        if openFileBudgetExceeded { problems.append("open-file budget exceeded") }
        if !problems.isEmpty { return problems.joined(separator: ", ") }
        let inUse = [HealthSource.kmsg, .inotify, .stateFile].filter(isUsed)
        return "sources: " + inUse.map { "\($0.rawValue) up" }.joined(separator: ", ")
    }
}
