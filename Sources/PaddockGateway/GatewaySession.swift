import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PaddockCore

/// One session's view of the gateway: its policy (changed live), its secrets, its CA and its listeners.
public final class GatewaySession: Sendable {
    public let id: SessionID
    /// Generated when the session starts; the sandbox trusts it, nothing else does.
    public let authority: CertificateAuthority
    let gateway: EgressGateway
    private let state: NIOLockedValueBox<State>

    struct State {
        var policy: NetworkPolicy?
        var secrets: [GatewaySecret]
        var serverContexts: [String: NIOSSLContext] = [:]
        var modelCallRefusal: String?
        var mcpServers: [GatewayMCPServer] = []
    }

    init(id: SessionID, gateway: EgressGateway, secrets: [GatewaySecret], policy: NetworkPolicy?) throws(PaddockError) {
        self.id = id
        self.gateway = gateway
        self.authority = try CertificateAuthority(name: "Paddock session \(id.rawValue)")
        state = NIOLockedValueBox(State(policy: policy, secrets: secrets))
    }

    /// Replaces the network policy; new connections and requests are decided by it at once. nil denies all.
    public func setPolicy(_ policy: NetworkPolicy?) { state.withLockedValue { $0.policy = policy } }

    public var policy: NetworkPolicy? { state.withLockedValue { $0.policy } }

    /// Refuses the session's model calls from now on with `reason` (a spent budget), or lets them go again
    /// (nil). Everything else the sandbox does is untouched.
    public func refuseModelCalls(_ reason: String?) { state.withLockedValue { $0.modelCallRefusal = reason } }

    public var modelCallRefusal: String? { state.withLockedValue { $0.modelCallRefusal } }
    public var secrets: [GatewaySecret] { state.withLockedValue { $0.secrets } }

    /// The remote MCP servers the session's agents are given (`agent.mcp_servers`), whose tool calls the gateway
    /// audits; set when a run starts, for the connections opened from then on.
    public func setMCPServers(_ servers: [GatewayMCPServer]) { state.withLockedValue { $0.mcpServers = servers } }

    public var mcpServers: [GatewayMCPServer] { state.withLockedValue { $0.mcpServers } }

    /// Hosts with a secret are intercepted (their placeholder must be swapped), and so are remote MCP servers
    /// (their tool calls are read); everything else is tunnelled.
    func intercepts(host: String, port: UInt16) -> Bool {
        secrets.contains { $0.isScoped(to: host, port: port) }
            || mcpServers.contains { $0.host == host.lowercased() && $0.port == port }
    }

    /// A TLS server context presenting a certificate for `host` signed by the session CA.
    func serverContext(for host: String) throws -> NIOSSLContext {
        if let cached = state.withLockedValue({ $0.serverContexts[host] }) { return cached }
        let leaf = try authority.leaf(for: host)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: leaf.chain.map { .certificate($0) }, privateKey: .privateKey(leaf.key))
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        state.withLockedValue { $0.serverContexts[host] = context }
        return context
    }

    // MARK: Decisions

    /// Where a connection may go, once policy and the address checks let it.
    struct Route: Sendable {
        let host: String
        let port: UInt16
        let address: IPAddress
        let decision: PolicyDecision
    }

    /// A refusal an agent can read: the HTTP status and the reason (also the `X-Paddock-Reason` header).
    struct Refusal: Error, Sendable {
        let status: Int
        let reason: String
        let decision: PolicyDecision?
    }

    /// The name-only decision: what policy says about `host:port` before anything is resolved.
    func decide(host: String, port: UInt16) -> Result<PolicyDecision, Refusal> {
        guard let policy else {
            return .failure(
                Refusal(
                    status: 403,
                    reason: "session \(id) has no network policy, so nothing leaves the sandbox; allow this host with "
                        + "`paddock session network \(id) --allow \(host)`", decision: nil))
        }
        let decision = policy.decide(host: host, port: port)
        switch decision.action {
        case .allow, .ask: return .success(decision)
        case .deny:
            return .failure(
                Refusal(
                    status: 403,
                    reason: "\(host):\(port) is refused (\(decision)); allow it with "
                        + "`paddock session network \(id) --allow \(host)`", decision: decision))
        }
    }

    /// Decides, asks when policy says `ask`, resolves on the host, and picks the first address that policy and
    /// the address checks allow.
    func authorize(host: String, port: UInt16) async -> Result<Route, Refusal> {
        let decision: PolicyDecision
        switch decide(host: host, port: port) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let d): decision = d
        }
        if decision.action == .ask {
            guard let hook = gateway.approvalHook else {
                return .failure(
                    Refusal(
                        status: 403,
                        reason: "\(host):\(port) needs approval (\(decision)), and this server has no approver for "
                            + "network requests, so it is denied; allow the host instead", decision: decision))
            }
            guard await hook(id, host, port, decision.description) else {
                return .failure(
                    Refusal(status: 403, reason: "\(host):\(port) was not approved (\(decision))", decision: decision))
            }
        }
        let addresses: [IPAddress]
        do {
            addresses = try await gateway.resolve(host)
        } catch {
            return .failure(Refusal(status: 502, reason: error.message, decision: decision))
        }
        guard let policy else { return .failure(Refusal(status: 403, reason: "the policy was removed", decision: nil)) }
        var problems: [String] = []
        for address in addresses {
            let full = policy.decide(host: host, port: port, address: address)
            if full.action == .deny {
                problems.append("\(address) is refused (\(full))")
                continue
            }
            if let kind = gateway.addressGuard.restriction(address) {
                // Only a rule naming the address itself opens a restricted address; a name rule does not. (An
                // `ask` rule for it has been approved above.)
                let explicit = policy.decide(host: address.description, port: port)
                var byAddress: HostPattern?
                if let rule = explicit.rule {
                    do { byAddress = try HostPattern(parsing: rule.pattern) } catch {
                        // The rule parsed when the policy was read; if it no longer does, the address stays shut.
                        gateway.logger.error(
                            "a network rule's pattern does not parse; the restricted address stays refused",
                            metadata: [
                                "session.id": "\(id)", "rule": "\(rule.pattern)", "address": "\(address)",
                                "error": "\(error)",
                            ])
                    }
                }
                guard explicit.action != .deny, let pattern = byAddress, case .network = pattern.host else {
                    problems.append(
                        "\(host) resolves to \(address), which is \(kind); the gateway refuses it unless policy "
                            + "allows the address itself (--allow \(address))")
                    continue
                }
            }
            return .success(Route(host: host, port: port, address: address, decision: full))
        }
        return .failure(
            Refusal(
                status: 403,
                reason: problems.isEmpty ? "\(host) has no address" : problems.joined(separator: "; "),
                decision: decision))
    }
}
