import Foundation
import PaddockCore
import Testing

@testable import PaddockSandbox

/// The spec side of the guardrails: execs go to the host only for sessions with command rules, and file
/// guardrail mounts come after everything they cover.
struct ExecGuardSpecTests {
    static func builder() -> SandboxSpecBuilder {
        SandboxSpecBuilder(
            id: SpecBuilderTests.id, rootfs: "/data/sessions/abc123/rootfs", initBinary: "/data/bin/paddock-init",
            controlDirectory: "/data/sessions/abc123/run", hostIDBase: 2_000_000, limits: .default,
            readOnlyBinds: [.init(source: "/usr", destination: "/usr")])
    }

    @Test func withoutCommandRulesExecsArePlainlyAllowed() throws {
        let seccomp = try #require(Self.builder().build().linux.seccomp)
        #expect(seccomp.listenerPath == nil)
        #expect(!seccomp.syscalls.contains { $0.action == "SCMP_ACT_NOTIFY" })
        let allowed = seccomp.syscalls.filter { $0.action == "SCMP_ACT_ALLOW" }.flatMap(\.names)
        #expect(allowed.contains("execve") && allowed.contains("execveat"))
    }

    @Test func withCommandRulesEveryExecWaitsForTheHost() throws {
        var builder = Self.builder()
        builder.execNotify = .init(listenerPath: "/run/paddock/exec-guard-1.sock", metadata: "abc123")
        let seccomp = try #require(builder.build().linux.seccomp)
        #expect(seccomp.listenerPath == "/run/paddock/exec-guard-1.sock")
        #expect(seccomp.listenerMetadata == "abc123")
        let notify = seccomp.syscalls.filter { $0.action == "SCMP_ACT_NOTIFY" }.flatMap(\.names)
        #expect(Set(notify) == ["execve", "execveat"])
        // Listed once: a syscall both allowed and notified would make libseccomp reject the filter.
        let allowed = seccomp.syscalls.filter { $0.action == "SCMP_ACT_ALLOW" }.flatMap(\.names)
        #expect(!allowed.contains("execve") && !allowed.contains("execveat"))
        let json = String(decoding: try JSONEncoder().encode(seccomp), as: UTF8.self)
        #expect(json.contains("\"listenerPath\""))
    }

    @Test func guardMountsComeLast() {
        var builder = Self.builder()
        builder.guardMounts = [
            .init(destination: "/workspace/.git/hooks", type: "bind", source: "/x", options: ["rbind", "ro"])
        ]
        let mounts = builder.build().mounts
        #expect(mounts.last?.destination == "/workspace/.git/hooks")
    }
}
