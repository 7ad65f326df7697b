extension AlertText {
    /// `node-pids-pressure` and `node-pids-recovered`: the node's free pids
    /// (kubelet's pid.available) against its eviction threshold, with the
    /// pods holding the most tasks.
    public static func nodePids(_ f: NodePidsFinding) -> EntryText {
        let whose = f.isKubelets ? "kubelet's pid.available eviction threshold of \(f.threshold)"
            : "the pid.available threshold of \(f.threshold) (node_pids.threshold)"
        let free = "\(f.available) of \(f.capacity) tasks free"
        let again = f.isReminder ? "Still: " : ""
        let message: String
        switch f.kind {
        case .nodePidsRecovered:
            message = "The node is back clear of \(whose): \(free)."
        default:
            let trend: String
            switch f.rate ?? 0 {
            case let r where r > 0: trend = "falling \(formatRate(r))/s"
            case let r where r < 0: trend = "rising \(formatRate(-r))/s"
            default: trend = "steady"
            }
            let top = f.topPods.isEmpty ? "none known" : f.topPods.map { sanitizedForMessage($0.item) }.joined(separator: ", ")
            if f.available < f.threshold {
                message = "\(again)The node is under \(whose), so kubelet may evict pods: \(free), \(trend); top pods: \(top)."
            } else {
                let seconds = Int((f.secondsToThreshold ?? 0).rounded())
                message = "\(again)The node will reach \(whose) in about \(seconds) s: \(free), \(trend); top pods: \(top)."
            }
        }
        var fields: [(name: String, value: String)] = [
            ("NODE_PIDS_AVAILABLE", String(f.available)),
            ("NODE_PIDS_THRESHOLD", String(f.threshold)),
            ("NODE_PIDS_THRESHOLD_SOURCE", f.source.text),
            ("NODE_PIDS_CAPACITY", String(f.capacity)),
        ]
        if let r = f.systemReserved { fields.append(("NODE_PIDS_SYSTEM_RESERVED", String(r))) }
        if let r = f.kubeReserved { fields.append(("NODE_PIDS_KUBE_RESERVED", String(r))) }
        if let s = f.secondsToThreshold { fields.append(("PIDS_FORECAST_SECONDS", String(Int(s.rounded())))) }
        if let r = f.rate { fields.append(("PIDS_RATE", formatRate(r))) }
        if !f.topPods.isEmpty { fields.append(("NODE_TOP_PODS", PodTasks.fieldValue(f.topPods))) }
        if f.isReminder { fields.append(("DOCKWARD_REMINDER", "1")) }
        return EntryText(message: message, fields: fields)
    }
}
