import Foundation
import PaddockCore

/// One request through the gateway: what was asked, what was decided and why, and how it ended.
///
/// Never holds a secret value: secrets appear by name only.
public struct GatewayAuditEvent: Sendable, Codable, Equatable {
    public var time: Date
    public var session: String
    /// `CONNECT` for a tunnel, the HTTP method for plain or intercepted HTTP.
    public var method: String
    public var host: String
    public var port: UInt16
    /// The request path, for plain HTTP and intercepted HTTPS; nil for tunnels.
    public var path: String?
    /// The address dialled, when one was.
    public var address: String?
    /// The HTTP status sent to the sandbox (403 when refused, 502 when the upstream failed).
    public var status: Int?
    public var bytesUp: Int
    public var bytesDown: Int
    /// `allow`, `deny` (or `ask` while held).
    public var decision: String
    /// The rule or default that decided, as `PolicyDecision` prints it.
    public var rule: String?
    /// Why a request was refused, in words an agent can act on.
    public var reason: String?
    /// `tunnel`, `intercept` or `http`.
    public var mode: String
    /// Secrets whose placeholder was swapped for the value in this request.
    public var secretsInjected: [String]
    /// Secrets whose placeholder was sent where it is not allowed to go (refused, not swapped).
    public var placeholderMisuse: [String]
    /// For a model API call: the model and tokens read from its response (never the prompt or the answer).
    public var modelUsage: ModelUsage?
    /// For a request to one of the session's remote MCP servers: the `tools/call` requests it carried.
    public var mcpCalls: [GatewayMCPCall]?

    public init(
        session: String, method: String, host: String, port: UInt16, path: String? = nil, mode: String,
        decision: String, rule: String? = nil
    ) {
        self.time = Date()
        self.session = session
        self.method = method
        self.host = host
        self.port = port
        self.path = path
        self.address = nil
        self.status = nil
        self.bytesUp = 0
        self.bytesDown = 0
        self.decision = decision
        self.rule = rule
        self.reason = nil
        self.mode = mode
        self.secretsInjected = []
        self.placeholderMisuse = []
        self.modelUsage = nil
        self.mcpCalls = nil
    }
}

/// Where audit events go. The server wires this into the session audit trail; until then events are written
/// to a JSON Lines file per session (`JSONLinesAuditSink`).
///
/// A sink that cannot keep an event throws; the gateway logs the failure (the request has already happened).
public protocol GatewayAuditSink: Sendable {
    func record(_ event: GatewayAuditEvent) async throws
}

/// A hook that decides `ask` entries: true lets the connection through. Without one, `ask` means deny.
/// `rule` is the decision as an approver reads it (which rule asked, from which file and line).
public typealias GatewayApprovalHook =
    @Sendable (_ session: SessionID, _ host: String, _ port: UInt16, _ rule: String) async -> Bool
