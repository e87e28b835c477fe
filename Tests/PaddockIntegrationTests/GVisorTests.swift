import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The `gvisor` provider: the same session API, with commands running on gVisor's user-space kernel.
@Suite(.needsSandboxes, .serialized)
struct GVisorTests {
    static var runscInstalled: Bool {
        get async { await TestHost.capabilities().runtimes.contains { $0.name == "runsc" && $0.usable } }
    }

    @Test(.enabled("needs runsc (apt-get install runsc)") { await Self.runscInstalled })
    func sessionsRunOnTheGVisorKernel() async throws {
        try await withTestStack("gvisor") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
            let r = try await stack.sessions.sh(
                s.id,
                "id -u; dmesg 2>/dev/null | head -1; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; echo out; echo err >&2; exit 4"
            )
            #expect(r.status.code == 4)
            #expect(r.stdout.hasPrefix("1000\n"))
            #expect(r.stdout.contains("gVisor"), "the kernel is gVisor's: \(r.stdout)")
            #expect(r.stdout.contains("lo\n") && r.stdout.hasSuffix("out\n"))
            #expect(r.stderr == "err\n")
            // Files persist between execs and the file API works through the same init protocol.
            _ = try await stack.sessions.sh(s.id, "echo kept > /workspace/f")
            #expect(try await stack.sessions.sh(s.id, "cat /workspace/f").stdout == "kept\n")
            let files = SessionFiles(sessions: stack.sessions)
            #expect(try await files.stat(s.id, path: "f", user: .user, by: .system).size == 5)
            // A memory hog is contained here too.
            var small = SessionSpec(provider: "gvisor")
            small.limits.memory = .mebibytes(128)
            let hog = try await stack.sessions.create(small)
            // gVisor may kill the hog or the whole sandbox; either way the hog never gets its memory.
            let oom = try? await stack.sessions.run(
                hog.id, ["python3", "-c", "x = bytearray(1 << 30); x[-1] = 1; print('survived')"])
            #expect(oom?.stdout.contains("survived") != true)
            try await stack.sessions.destroy(s.id)
            #expect(await stack.gvisor?.leftovers(of: s.id) == [])
        }
    }
}
