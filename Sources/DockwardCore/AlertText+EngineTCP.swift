extension AlertText {
    /// `engine-tcp-exposed` for one listener: each has its own address and
    /// its own place in the configuration, so each is its own entry, its
    /// fields single values a query or the catalog can use. `unreadable`
    /// names configuration files that could not be read, so the verdict may
    /// miss what they set.
    public static func engineTCPExposed(_ finding: EngineListenerFinding, unreadable: [String] = []) -> EntryText {
        let address = sanitizedForMessage(finding.address)
        let place = sanitizedForMessage(finding.place.description)
        let how: String
        switch finding.tls {
        case .noVerify:
            how = "with TLS but without client verification (--tlsverify): the traffic is encrypted, yet any client is let in"
        case .none, .verified:  // a verified listener is never a finding
            how = "without TLS: plain HTTP, no authentication at all"
        }
        let who = finding.isLoopback
            ? "It is bound to loopback only, so other machines cannot reach it, but every local user and every "
                + "container with host networking can, and so controls the host."
            : "Anyone who can reach that port controls the host: the API starts a privileged container with the "
                + "host's root filesystem mounted."
        let notRead = unreadable.isEmpty ? ""
            : " Not read (the check may miss what they set): \(unreadable.map(sanitizedForMessage).joined(separator: ", "))."
        let message = "The Docker engine listens on \(address) \(how) (set at \(place)). \(who) "
            + "Remove -H \(address) (or the hosts entry in daemon.json), or configure --tlsverify with client "
            + "certificates; local clients should use the Unix socket.\(notRead)"
        var fields: [(name: String, value: String)] = [
            ("ENGINE_LISTEN", finding.address),
            ("ENGINE_TLS", finding.tls.rawValue),
            ("ENGINE_LOOPBACK", finding.isLoopback ? "true" : "false"),
            ("ENGINE_CONFIG", finding.place.description),
        ]
        if !unreadable.isEmpty { fields.append(("ENGINE_CONFIG_UNREADABLE", unreadable.joined(separator: ", "))) }
        return EntryText(message: message, fields: fields)
    }
}
