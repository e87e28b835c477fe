import Foundation
import Logging
import PaddockCore
import PaddockObservability

/// One guardrail decision, for the audit trail: every exec the exec guard saw, what the policy said and why,
/// and the approval when a person was asked.
public struct GuardrailEvent: Sendable, Codable, Equatable {
    public var session: SessionID
    public var at: Date
    /// `exec` (network decisions will use the same shape).
    public var kind: String
    public var argv: [String]
    /// The paths the program is known by (given, resolved, identified by content).
    public var executablePaths: [String]
    public var cwd: String
    /// The host pid of the process that called execve.
    public var pid: Int32
    /// What the policy said: allow, ask or deny.
    public var policyAction: PolicyAction
    /// What happened: true when the program started.
    public var allowed: Bool
    /// The decision with its rule and origin (`deny by rule 'rm' (session runtime.yml:4:40)`).
    public var rule: String
    /// The answer when the policy asked a person.
    public var approval: Approval?

    public init(
        session: SessionID, at: Date, kind: String, argv: [String], executablePaths: [String], cwd: String, pid: Int32,
        policyAction: PolicyAction, allowed: Bool, rule: String, approval: Approval? = nil
    ) {
        self.session = session
        self.at = at
        self.kind = kind
        self.argv = argv
        self.executablePaths = executablePaths
        self.cwd = cwd
        self.pid = pid
        self.policyAction = policyAction
        self.allowed = allowed
        self.rule = rule
        self.approval = approval
    }
}

/// Where guardrail decisions go. The audit trail implements it; the exec waits for `record` to return, so an
/// implementation that makes events durable makes them durable before the program runs.
public protocol GuardrailEventSink: Sendable {
    func record(_ event: GuardrailEvent) async
}

/// The default sink: a log line per refused or asked-about exec (program name, decision, rule — never the
/// arguments, which may hold a value someone typed), and allowed ones at debug level.
public struct LoggingGuardrailEventSink: GuardrailEventSink {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func record(_ event: GuardrailEvent) async {
        PaddockMetrics.policyDecision(kind: event.kind, outcome: event.policyAction.rawValue)
        let program = event.argv.first.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? "-"
        let metadata: Logger.Metadata = [
            "session.id": "\(event.session)", "exec.program": "\(program)", "exec.pid": "\(event.pid)",
            "exec.allowed": "\(event.allowed)", "policy.rule": "\(event.rule)",
        ]
        if event.policyAction == .allow {
            logger.debug("exec allowed", metadata: metadata)
        } else {
            logger.info(event.allowed ? "exec approved" : "exec refused", metadata: metadata)
        }
    }
}
