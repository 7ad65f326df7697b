import Dispatch
import DockwardCgroup
import DockwardCore
import DockwardJournal
import DockwardSystem
import Logging

/// Where the pids watch hears of refused forks between polls.
public enum KernelMessages: Equatable, Sendable {
    /// /dev/kmsg (needs CAP_SYSLOG while `kernel.dmesg_restrict=1`), else the
    /// journal's kernel entries (needs the `systemd-journal` group), else none.
    case kmsgElseJournal(String)
    /// This file alone, read as /dev/kmsg is (tests hand it a FIFO).
    case file(String)
    /// None: every container's `pids.events` is read every poll.
    case none
}

/// The kernel's "fork rejected by pids controller in <cgroup>" lines, the
/// source of refusals between polls: /dev/kmsg where it can be read, else
/// the journal's kernel entries, else none (then every container's
/// `pids.events` is read every poll). Each refusal is handed over as the
/// container it names, on the daemon's queue.
@DaemonActor
final class KernelRefusalSource {
    /// Which source is read: what `/metrics` and the STATUS line tell.
    enum InUse: String, Equatable {
        case kmsg, journal
        /// None, or the one in use went away: refusals are seen at the next poll.
        case poll
    }

    private(set) var inUse: InUse
    /// The sources tried and found unreadable, at start or since (closed).
    private(set) var unreadable: Set<InUse> = []
    private var lines: KernelLineSource?
    private var readSource: DispatchSourceRead?
    private var overrunLogged = false
    private let logger: Logger
    private let onRefusal: (String) -> Void
    /// The source went away while running: the watch falls back to polling.
    var onClosed: (() -> Void)?

    init(_ choice: KernelMessages, queue: DispatchQueue, logger: Logger, onRefusal: @escaping (String) -> Void) {
        self.logger = logger
        self.onRefusal = onRefusal
        var failed: Set<InUse> = []
        let opened = Self.open(choice, logger: logger, failed: &failed)
        lines = opened?.lines
        inUse = opened?.kind ?? .poll
        unreadable = failed
        if let lines {
            let source = DispatchSource.makeReadSource(fileDescriptor: lines.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.drain() }
            source.resume()
            readSource = source
        }
    }

    /// Whether refusals are heard between polls.
    var isListening: Bool { readSource != nil }

    func cancel() {
        readSource?.cancel()
        readSource = nil
    }

    private static let fallback = "refused forks are seen at the next poll, by reading every container's pids.events"

    /// /dev/kmsg where it can be read, else the journal's kernel entries,
    /// else none (said once: refusals are then seen at the next poll).
    private static func open(_ choice: KernelMessages, logger: Logger,
                             failed: inout Set<InUse>) -> (lines: KernelLineSource, kind: InUse)? {
        switch choice {
        case .none:
            failed = [.kmsg, .journal]
            return nil
        case .file(let path):
            do { return (try KernelRefusalLog(path: path), .kmsg) } catch {
                failed = [.kmsg, .journal]
                logger.notice("\(error); \(fallback)")
                return nil
            }
        case .kmsgElseJournal(let path):
            let kmsgError: Error
            do { return (try KernelRefusalLog(path: path), .kmsg) } catch { kmsgError = error }
            failed.insert(.kmsg)
            do {
                let lines = try JournalKernelLines()
                logger.info("\(kmsgError); reading the kernel's refusal lines from the journal instead")
                return (lines, .journal)
            } catch {
                failed.insert(.journal)
                logger.notice("\(kmsgError), and \(error); \(fallback)")
                return nil
            }
        }
    }

    private func drain() {
        guard let lines else { return }
        var paths: [String] = []
        let outcome = lines.drain { path in paths.append(String(path)) }
        switch outcome {
        case .overrun where !overrunLogged:
            overrunLogged = true
            logger.warning("the kernel's message buffer overran before dockward read it (\(lines.name)); refusals lost there are still counted at each poll of the containers that refused before")
        case .closed:
            // A writer that went away (a FIFO in tests): stop, or the source
            // spins, and fall back to reading pids.events every poll.
            cancel()
            self.lines = nil
            unreadable.insert(inUse)
            inUse = .poll
            logger.warning("\(lines.name) closed; \(Self.fallback)")
            onClosed?()
        default:
            break
        }
        for path in paths { onRefusal(path) }
    }
}

/// Where the kernel's "fork rejected" lines come from: /dev/kmsg, or the
/// journal's kernel entries. Driven by a read source on `fd`.
protocol KernelLineSource: AnyObject {
    var fd: Int32 { get }
    var name: String { get }
    /// Hands each refusal's cgroup path to `onRefusal`.
    func drain(_ onRefusal: (Substring) -> Void) -> KernelRefusalLog.Outcome
}

extension KernelRefusalLog: KernelLineSource {
    var name: String { path }
}

extension JournalKernelLines: KernelLineSource {
    var name: String { "the journal's kernel entries" }

    func drain(_ onRefusal: (Substring) -> Void) -> KernelRefusalLog.Outcome {
        readNew { line in
            if let path = KernelRefusalLog.refusedCgroup(inRecord: line) { onRefusal(path) }
        }
        return .drained
    }
}
