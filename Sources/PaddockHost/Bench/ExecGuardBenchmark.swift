import Foundation
import Logging
import PaddockCore
import PaddockLinux
import PaddockSandbox
import PaddockServer
import PaddockServices

/// `paddock.exec_guarded`: `true` in a running session whose every execve goes through the exec guard
/// (seccomp user notification → host → policy decision → CONTINUE), next to the unguarded `paddock.exec`.
enum ExecGuardBenchmark {
    /// A realistic policy: a default, ask rules, and enough deny rules that the lookup is not trivial.
    static var policy: PolicyText {
        let denied = (0..<150).map { "tool\($0)" } + ["rm", "sudo", "curl * | sh"]
        let allowed = (0..<45).map { "\"dev\($0) *\"" }
        let text = """
            version: 1
            guardrails:
              commands:
                default: allow
                allow: [\(allowed.joined(separator: ", "))]
                ask: ["git push*"]
                deny: [\(denied.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        return PolicyText(text: text, file: "bench-policy.yml")
    }

    static func run(
        provider: LocalProvider, samples: (() async throws -> Void) async throws -> [Double], logger: Logger
    ) async throws -> [Benchmarks.Result] {
        let guardrails = GuardrailService(store: nil, logger: logger)
        let id = SessionID.random()
        var request = SandboxRequest(id: id, template: "host", limits: .default)
        request.guardrails = try await guardrails.sandboxGuardrails(policy: policy, session: id)
        try await provider.create(request)
        let guarded: [Double]
        do {
            guarded = try await samples { try await Benchmarks.runTrue(provider, id) }
        } catch {
            try? await provider.destroy(id)
            throw error
        }
        try await provider.destroy(id)
        return [
            Benchmarks.summarize(
                "paddock.exec_guarded", unit: "ms", guarded,
                note: "as paddock.exec, every execve checked by the host against a 200-rule policy")
        ]
    }
}
