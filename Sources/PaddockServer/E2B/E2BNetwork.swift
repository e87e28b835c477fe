import PaddockCore

extension E2B {
    /// What an `update_network` body means as the session layer of Paddock's network policy.
    struct NetworkRules: Equatable, Sendable {
        var allow: [String]
        var deny: [String]
        /// `deny` when the update closes everything it does not allow.
        var defaultAction: PolicyAction?
    }

    /// E2B's spelling of "every destination" (`ALL_TRAFFIC`).
    static let allTraffic: Set<String> = ["0.0.0.0/0", "::/0"]

    /// E2B lets allowed entries win over denied ones, so "deny all but these" is `denyOut: [0.0.0.0/0]` with an
    /// `allowOut` list (or `allowInternetAccess: false`): that becomes a layer whose default is deny, with the
    /// allowed entries as its rules. Other denied blocks are deny rules, which in Paddock win over an allowed
    /// name that resolves into them (strictest match wins). Egress proxies and transform rules are E2B's
    /// hosted features; Paddock's gateway and vault do that work, so asking for them is refused, not ignored.
    static func networkRules(_ update: NetworkUpdate) throws(PaddockError) -> NetworkRules {
        if update.egressProxy != nil {
            throw .invalidArgument(
                "egress_proxy is not offered by this server: all egress already goes through Paddock's gateway; "
                    + "leave it out of update_network")
        }
        if update.rules != nil {
            throw .invalidArgument(
                "network transform rules are not offered by this server: give the sandbox a vault secret instead "
                    + "(`paddock secrets set`, then an env var named after it)")
        }
        let allowAll = (update.allowOut ?? []).contains { allTraffic.contains($0) }
        let allow = allowAll ? ["*"] : (update.allowOut ?? [])
        let closesAll =
            update.allowInternetAccess == false || (update.denyOut ?? []).contains { allTraffic.contains($0) }
        let deny = (update.denyOut ?? []).filter { !allTraffic.contains($0) }
        return NetworkRules(allow: allow, deny: deny, defaultAction: closesAll && !allowAll ? .deny : nil)
    }
}
