import CSystemd
import DockwardSystem
import Glibc

/// The sd_notify protocol: readiness, status, watchdog, reload and stop,
/// sent to `$NOTIFY_SOCKET` when systemd (or a test) provides one; silent
/// otherwise.
public final class SystemdNotifier: Sendable {
    /// Half of `WatchdogSec` when the watchdog is enabled for this process,
    /// as systemd recommends; nil when it is off.
    public let watchdogPingInterval: Int64?

    public init() {
        var usec: UInt64 = 0
        if sd_watchdog_enabled(0, &usec) > 0, usec > 0 {
            watchdogPingInterval = Int64(usec) * 1000 / 2
        } else {
            watchdogPingInterval = nil
        }
    }

    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { send("STATUS=\(text)") }
    public func watchdog() { send("WATCHDOG=1") }

    /// `MONOTONIC_USEC` lets systemd (Type=notify-reload) tell this reload
    /// from an earlier one.
    public func reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=\(SystemClock.monotonicNanos() / 1000)")
    }

    public func stopping() { send("STOPPING=1") }

    private func send(_ state: String) {
        guard isEnabled else { return }
        // Newlines inside a STATUS would start a new assignment; the texts
        // sent here are built by dockward, so only strip them.
        _ = sd_notify(0, state)
    }
}
