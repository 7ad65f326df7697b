public enum DockwardVersion {
    /// Bumped with each release; `make deb` names the package after it.
    public static let current = "0.1.0"
}
