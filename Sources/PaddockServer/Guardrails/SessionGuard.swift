import Foundation
import PaddockCore
import PaddockSandbox

/// The exec guard of one session: the compiled command policy, a person's answer for `ask`, and an event for
/// every decision.
struct SessionGuard: ExecGuard {
    let session: SessionID
    let policy: CommandPolicy
    let guardedPrograms: [String]
    let approvals: ApprovalService
    let sink: any GuardrailEventSink
    let clock: @Sendable () -> Date

    func decide(_ attempt: ExecAttempt) async -> Bool {
        let decision = policy.decide(attempt.invocation)
        var approval: Approval?
        let allowed: Bool
        switch decision.action {
        case .allow: allowed = true
        case .deny: allowed = false
        case .ask:
            // The process stays blocked in execve until a person answers (or the request times out: denied).
            let answer = await approvals.request(
                session: session, kind: "exec", subject: attempt.invocation.description,
                rule: decision.description)
            approval = answer
            allowed = answer.isApproved
        }
        await sink.record(
            GuardrailEvent(
                session: session, at: clock(), kind: "exec", argv: attempt.invocation.argv,
                executablePaths: attempt.invocation.executablePaths, cwd: attempt.cwd, pid: attempt.pid,
                policyAction: decision.action, allowed: allowed, rule: decision.description, approval: approval))
        return allowed
    }

    /// The program names rules start with (`rm`, `git`, each stage of `curl * | sh`), whose binaries are then
    /// recognised by content. Globs and paths are left out: they name no single binary.
    static func programs(in rules: [PolicyRuleSet]) -> [String] {
        var names: Set<String> = []
        for set in rules {
            for rule in set.rules {
                for stage in rule.pattern.split(separator: "|") {
                    guard let word = stage.split(whereSeparator: \.isWhitespace).first else { continue }
                    let name = word.split(separator: "/").last.map(String.init) ?? String(word)
                    if !name.isEmpty, !name.contains(where: { "*?[]'\"\\~".contains($0) }) { names.insert(name) }
                }
            }
        }
        return names.sorted()
    }
}
