import Foundation
import PaddockCore
import PaddockSandbox
import Synchronization

/// The exec guard of one session: the compiled command policy, a person's answer for `ask`, and an event for
/// every decision.
struct SessionGuard: ExecGuard {
    let session: SessionID
    let policy: CommandPolicy
    let guardedPrograms: [String]
    let approvals: ApprovalService
    let sink: any GuardrailEventSink
    let clock: @Sendable () -> Date
    let answers = RecentAnswers()

    func decide(_ attempt: ExecAttempt) async -> Bool {
        let decision = policy.decide(attempt.invocation)
        var approval: Approval?
        let allowed: Bool
        switch decision.action {
        case .allow: allowed = true
        case .deny: allowed = false
        case .ask:
            // A shell or execvp that was refused tries the next PATH entry (/usr/bin/x, then /bin/x): the same
            // process asking again for the same command gets the answer it just had, not a second request.
            if let recent = answers.answer(pid: attempt.pid, argv: attempt.invocation.argv, now: clock()) {
                approval = recent
            } else {
                // The process stays blocked in execve until a person answers (or the request times out: denied).
                let answer = await approvals.request(
                    session: session, kind: "exec", subject: attempt.invocation.description,
                    rule: decision.description)
                answers.remember(answer, pid: attempt.pid, argv: attempt.invocation.argv, now: clock())
                approval = answer
            }
            allowed = approval?.isApproved ?? false
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

/// Answers to `ask` requests of the last few seconds, by process and command line.
final class RecentAnswers: Sendable {
    private struct Key: Hashable {
        var pid: Int32
        var argv: [String]
    }
    private let answers = Mutex<[Key: (approval: Approval, at: Date)]>([:])
    /// A retry comes within microseconds; anything older is a new request.
    static let window: TimeInterval = 5

    func answer(pid: Int32, argv: [String], now: Date) -> Approval? {
        answers.withLock { answers in
            guard let entry = answers[Key(pid: pid, argv: argv)], now.timeIntervalSince(entry.at) < Self.window else {
                return nil
            }
            return entry.approval
        }
    }

    func remember(_ approval: Approval, pid: Int32, argv: [String], now: Date) {
        answers.withLock { answers in
            answers = answers.filter { now.timeIntervalSince($0.value.at) < Self.window }
            answers[Key(pid: pid, argv: argv)] = (approval, now)
        }
    }
}
