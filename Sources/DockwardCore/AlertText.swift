/// Turns detector findings into journal entries: one readable sentence with
/// the numbers, plus the figures as fields.
public enum AlertText {
    public static func entry(for f: PidsFinding, container: ContainerRef?) -> JournalEntry {
        let who = container.map { "Container \(sanitizedForMessage($0.displayName)) (\($0.id.short))" } ?? "The host"
        let limitText = f.limit.map(String.init) ?? "?"
        let percent = f.ratio.map { " (\(Int(($0 * 100).rounded()))%)" } ?? ""
        let again = f.isReminder ? "Still: " : ""
        var message: String
        switch f.kind {
        case .pidsUnlimited:
            let host = f.limit.map { ", so only the host's ceiling of \($0) tasks stops a fork bomb" } ?? ""
            message = "\(who) runs with no pids limit\(host); \(tasks(f.current)) now. "
                + "Set one with docker update --pids-limit N."
        case .pidsHigh:
            let level = f.priority == .err ? "critical" : "warning"
            message = "\(again)\(who) uses \(f.current) of its \(limitText) pids\(percent), above its \(level) threshold."
        case .pidsExhausted:
            let newly = f.newlyRefused.map { " (\($0) since the last report)" } ?? ""
            message = "\(again)\(who) hit its pids limit: \(f.current) of \(limitText) tasks, "
                + "the kernel refused \(f.refusedForks ?? 0) forks\(newly)."
        case .pidsForecast:
            let whose = f.limitIsHost ? "the host's free process table" : "its pids limit of \(limitText)"
            message = "\(again)\(who) will exhaust \(whose) in about \(Int((f.secondsToLimit ?? 0).rounded())) s: "
                + "\(tasks(f.current)) now, growing \(formatRate(f.rate ?? 0))/s."
        case .pidsRecovered:
            let of = f.limit.map { " of \($0)" } ?? ""
            message = "\(who) is back under its pids thresholds: \(f.current)\(of) tasks."
        case .hostPidsHigh:
            message = "\(again)The host runs \(f.current) of at most \(limitText) tasks\(percent); "
                + "containers without a pids limit can exhaust it."
        case .hostPidsRecovered:
            message = "The host is back under its task thresholds: \(f.current) of \(limitText) tasks\(percent)."
        default:
            message = "\(who): \(f.kind.rawValue)"
        }
        var fields: [(name: String, value: String)] = [("PIDS_CURRENT", String(f.current))]
        if let l = f.limit { fields.append(("PIDS_MAX", String(l))) }
        if f.limitIsHost { fields.append(("PIDS_MAX_SOURCE", "host")) }
        if let r = f.refusedForks { fields.append(("PIDS_REJECTED", String(r))) }
        if let r = f.rate { fields.append(("PIDS_RATE", formatRate(r))) }
        if let s = f.secondsToLimit { fields.append(("PIDS_FORECAST_SECONDS", String(Int(s.rounded())))) }
        if f.isReminder { fields.append(("DOCKWARD_REMINDER", "1")) }
        return JournalEntry(kind: f.kind, priority: f.priority, message: message, container: container, fields: fields)
    }

    /// "1 task", "2 tasks".
    static func tasks(_ n: Int64) -> String { n == 1 ? "1 task" : "\(n) tasks" }

    /// Two decimals at most, no exponent: `1.5`, `0.03`, `12`.
    public static func formatRate(_ r: Double) -> String {
        guard r.isFinite else { return "0" }
        let hundredths = Int64((r * 100).rounded())
        let whole = hundredths / 100
        let frac = abs(hundredths % 100)
        if frac == 0 { return "\(whole)" }
        let sign = hundredths < 0 && whole == 0 ? "-" : ""
        return frac % 10 == 0 ? "\(sign)\(whole).\(frac / 10)" : "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// Container names and paths come from outside; in a MESSAGE they must not
    /// break the sentence onto a second line or smuggle terminal escapes.
    public static func sanitizedForMessage(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f || (0x80...0x9f).contains(scalar.value) {
                out.unicodeScalars.append("?")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
