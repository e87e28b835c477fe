import Foundation
import PaddockCore

extension SessionService {
    /// Changes a running session's network rules (the session layer) without a restart: the next connection
    /// and the next request through the gateway obey them. `replace` drops the rules the session had;
    /// `defaultAction` (with `replace`) is what the session layer decides for what it does not list. Like every
    /// session rule, it only narrows: the org, team and repository layers still decide first (strictest wins).
    public func changeNetwork(
        _ id: SessionID, allow: [String], deny: [String], replace: Bool, defaultAction: PolicyAction? = nil,
        by caller: Caller
    ) async throws -> PolicyRuleSet {
        _ = try await get(id, for: caller, needs: .write)
        return try await lifecycle.withLock(id) {
            try await changeNetworkHoldingLock(
                id, allow: allow, deny: deny, replace: replace, defaultAction: defaultAction, by: caller)
        }
    }

    private func changeNetworkHoldingLock(
        _ id: SessionID, allow: [String], deny: [String], replace: Bool, defaultAction: PolicyAction?,
        by caller: Caller
    ) async throws -> PolicyRuleSet {
        var session = try await get(id)
        guard session.state == .running || session.state == .paused else {
            throw PaddockError.conflict("session \(id) is \(session.state.rawValue); only a live session has a network")
        }
        guard let network else {
            throw PaddockError.unavailable("this server has no egress gateway; nothing leaves its sandboxes")
        }
        let origin = RuleOrigin(layer: "session", file: "paddock session network")
        var rules = replace ? PolicyRuleSet() : (session.spec.network ?? PolicyRuleSet())
        if let defaultAction {
            rules.defaultAction = defaultAction
            rules.defaultOrigin = origin
        }
        rules.rules += allow.map { PolicyRule(.allow, $0, origin: origin) }
        rules.rules += deny.map { PolicyRule(.deny, $0, origin: origin) }
        var changed = session
        changed.spec.network = rules
        try network.apply(changed)
        session.spec.network = rules
        session.updatedAt = clock()
        try await store.updateSession(session, expecting: session.state)
        logger.info(
            "session network changed",
            metadata: ["session.id": "\(id)", "session.network": "\(rules.rules.map(\.description))"])
        var fields: [String: AuditValue] = ["rules": .strings(rules.rules.map(\.description))]
        if let action = rules.defaultAction { fields["default"] = .string(action.rawValue) }
        try await record(id, "session.network", fields, by: caller)
        return rules
    }
}
