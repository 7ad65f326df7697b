import DockwardCore

/// Where the feed hands alert states: the delivery, which POSTs them off the
/// daemon's queue, or a test's recorder. `submit` never blocks.
public protocol AlertmanagerSubmitter: AnyObject, Sendable {
    /// The latest state of each alert (firing with `endsAt` ahead, or resolved).
    func submit(_ alerts: [AlertmanagerAlert])
    /// A reload changed the URLs, the TLS or auth files, the timeout or the
    /// bound: the secrets are read again (throws naming the file that could
    /// not be), and what is pending stays for the URLs that stay.
    func apply(_ config: AlertmanagerConfig) throws
    /// At stop or when replaced: one last try at what is pending, for at
    /// most `grace`; then `done` (on any thread).
    func finish(within grace: Interval, done: @escaping @Sendable () -> Void)
}

/// Makes the delivery for a config (reading its secret files); throws with
/// the file and the reason when one cannot be read.
public typealias AlertmanagerDeliveryFactory = @Sendable (
    AlertmanagerConfig, _ report: @escaping @Sendable (AlertmanagerDeliveryEvent) -> Void
) throws -> AlertmanagerSubmitter
