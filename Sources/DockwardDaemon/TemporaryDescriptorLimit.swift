import Glibc
// Placeholder until DockwardSystem lands (merge).
enum DescriptorLimit {
    static let wanted = 1 << 20
    static func current() -> Int { var l = rlimit(); getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &l); return Int(clamping: l.rlim_cur) }
    static func raise() -> (before: Int, after: Int) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let before = Int(clamping: limit.rlim_cur)
        if limit.rlim_max < rlim_t(wanted) {
            var raised = rlimit(rlim_cur: rlim_t(wanted), rlim_max: rlim_t(wanted))
            if setrlimit(resource, &raised) == 0 { return (before, wanted) }
        }
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        limit.rlim_cur = limit.rlim_max
        return setrlimit(resource, &limit) == 0 ? (before, Int(clamping: limit.rlim_max)) : (before, before)
    }
}
