extension CgroupDriver {
    /// Where a pids ceiling the container did not ask for comes from, by
    /// the driver that placed its cgroup (the daemon's entries and
    /// `dockward audit` say the same).
    public var ceilingOrigin: String {
        switch self {
        case .systemd: "systemd's DefaultTasksMax on its scope"
        case .rootless: "the user manager's TasksMax on its scope"
        case .cgroupfs: "a parent cgroup's pids.max"
        }
    }
}
