import Glibc

/// The open-file limit (RLIMIT_NOFILE). Each watched container keeps three
/// or four cgroup files open (a tenth of the cost of reopening them every
/// poll), so thousands of containers need far more than the usual 1024.
public enum DescriptorLimit {
    /// 2^20: the kernel's usual `fs.nr_open`, the most a process can get.
    public static let wanted = 1 << 20

    /// What ``raiseSoftLimit()`` did.
    public struct Change: Equatable, Sendable {
        /// The soft limit before.
        public var before: Int
        /// The soft limit after.
        public var after: Int
        /// The soft limit was below the hard limit and the kernel refused to
        /// lift it: worth a warning (about `before / 4` containers fit).
        public var refused: Bool

        public var raised: Bool { after > before }
    }

    /// The soft limit now; 0 when it cannot be read, `Int.max` for unlimited.
    public static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Asks for ``wanted`` (soft and hard, which needs CAP_SYS_RESOURCE
    /// when the hard limit is lower); without that privilege (under systemd:
    /// set `LimitNOFILE=`) takes the hard limit. Never lowers a limit.
    public static func raiseSoftLimit() -> Change {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return Change(before: 0, after: 0, refused: false) }
        let before = Int(clamping: limit.rlim_cur)
        let wantedLimit = rlim_t(wanted)
        if limit.rlim_max < wantedLimit {
            var raised = rlimit(rlim_cur: wantedLimit, rlim_max: wantedLimit)
            if setrlimit(resource, &raised) == 0 {
                return Change(before: before, after: wanted, refused: false)
            }
        }
        guard limit.rlim_cur < limit.rlim_max else { return Change(before: before, after: before, refused: false) }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(resource, &limit) == 0 {
            return Change(before: before, after: Int(clamping: limit.rlim_max), refused: false)
        }
        return Change(before: before, after: before, refused: true)
    }

    private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
