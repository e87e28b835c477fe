import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

@testable import PaddockServer
@testable import PaddockServices

/// `previews: {restart: true}` off its happy path: a snapshot that kept the app's process (gVisor), and restarts
/// that cannot happen.
@Suite(.needsSandboxes, .serialized)
struct PreviewRestartTests {
    /// A public share link's cookie for a session's port 8000, from its first visit.
    static func publicCookie(_ h: PreviewHarness, _ id: SessionID) async throws -> String {
        let issued = try await h.previews.share(id, port: 8000, ttl: 3600, audience: .public, by: .system)
        let first = try await PreviewClient.request(
            port: h.port, host: h.host(id, 8000), "GET", PreviewHarness.target(of: issued.url))
        return PreviewHarness.cookiePair(first.header("Set-Cookie"))
    }

    /// Visits as a browser until the answer is no longer the "Starting…" page (which reloads itself).
    static func visitUntilSettled(_ h: PreviewHarness, _ id: SessionID, cookie: String) async throws
        -> PreviewClient.Answer
    {
        var answer = try await PreviewClient.request(
            port: h.port, host: h.host(id, 8000), headers: ["Cookie": cookie, "Accept": "text/html"])
        let deadline = ContinuousClock.now + .seconds(240)
        while answer.status == 503, ContinuousClock.now < deadline {
            // The page's own reload interval is 2 s; a test looks more often.
            try await Task.sleep(for: .milliseconds(250))
            answer = try await PreviewClient.request(
                port: h.port, host: h.host(id, 8000), headers: ["Cookie": cookie, "Accept": "text/html"])
        }
        return answer
    }

    @Test(
        .enabled("needs gVisor that checkpoints on this host (make deps)") {
            await GVisorProcessSnapshotTests.checkpointWorks.value
        })
    func aSnapshotThatKeptTheAppsProcessRestartsItWithoutTheStartCommand() async throws {
        try await withTestStack("preview-restart-ps") { stack in
            try await PreviewHarness.with(stack) { h in
                // `start` would leave a mark; a restart from a snapshot with the app's process must not run it.
                let policy = PolicyText(
                    text: "version: 1\npreviews: {max_audience: public, restart: true, "
                        + "start: touch /workspace/start-ran}\n", file: "runtime.yml")
                let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"), policy: policy, by: .system)
                try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                let cookie = try await Self.publicCookie(h, s.id)
                let kept = try await stack.sessions.snapshot(s.id, name: nil, keeps: .processes)
                try await stack.sessions.destroy(s.id)
                // The destroy sealed the files as a newer snapshot; without it, the newest is the one that kept the
                // app running.
                for snapshot in try await stack.store.snapshots()
                where snapshot.session == s.id && snapshot.id != kept.id {
                    try await stack.sessions.deleteSnapshot(snapshot.id)
                }

                let answer = try await Self.visitUntilSettled(h, s.id, cookie: cookie)
                #expect(answer.status == 200, "\(answer.text)")
                let replacement = try #require(try await stack.store.previewReplacement(of: s.id))
                let mark = try await stack.sessions.sh(
                    replacement, "test -e /workspace/start-ran && echo ran || echo no")
                #expect(mark.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "no")
                let restart = try #require(
                    try await stack.sessions.audit?.events(session: replacement).first { $0.kind == "preview.restart" })
                #expect("\(restart)".contains(kept.id))
                try await stack.sessions.destroy(replacement)
                try await stack.sessions.deleteSnapshot(kept.id)
                for snapshot in try await stack.store.snapshots() where snapshot.session == replacement {
                    try await stack.sessions.deleteSnapshot(snapshot.id)
                }
            }
        }
    }

    @Test func aRestartThatCannotHappenSaysWhyRecordsItAndLeavesNothingBehind() async throws {
        try await withTestStack("preview-restart-fail") { stack in
            try await PreviewHarness.with(stack) { h in
                // A start command the shell cannot parse; a session whose snapshot was removed.
                let cases = [
                    (
                        "version: 1\npreviews: {max_audience: public, restart: true, start: 'python3 app.py ('}\n",
                        false, "could not be started"
                    ),
                    ("version: 1\npreviews: {max_audience: public, restart: true}\n", true, "left no snapshot"),
                ]
                for (text, removeSnapshot, reason) in cases {
                    let s = try await stack.sessions.create(
                        SessionSpec(), policy: PolicyText(text: text, file: "runtime.yml"), by: .system)
                    try await PreviewAppFixture.start(in: s.id, port: 8000, sessions: stack.sessions)
                    let cookie = try await Self.publicCookie(h, s.id)
                    try await stack.sessions.destroy(s.id)
                    if removeSnapshot {
                        for snapshot in try await stack.store.snapshots() where snapshot.session == s.id {
                            try await stack.sessions.deleteSnapshot(snapshot.id)
                        }
                    }
                    let snapshotsBefore = try await stack.store.snapshots().map(\.id)

                    let answer = try await Self.visitUntilSettled(h, s.id, cookie: cookie)
                    #expect(answer.status == 410, "\(answer.text)")
                    #expect(answer.text.contains("This preview has ended"))
                    #expect(answer.text.contains(reason), "\(answer.text)")
                    let failed = try await stack.sessions.audit?.events(session: s.id).filter {
                        $0.kind == "preview.restart_failed"
                    }
                    #expect(failed?.count == 1)
                    #expect("\(failed ?? [])".contains(reason))
                    // Nothing half-made: no replacement serves or runs, and no snapshot was added.
                    #expect(try await stack.store.previewReplacement(of: s.id) == nil)
                    let replacements = try await stack.store.sessions(includeTerminal: true).filter {
                        $0.spec.forkOf == s.id
                    }
                    #expect(replacements.allSatisfy { $0.state == .destroyed }, "\(replacements.map(\.state))")
                    #expect(try await stack.store.snapshots().map(\.id) == snapshotsBefore)
                    // A visit within the next minute is told the same, without another attempt.
                    let again = try await PreviewClient.request(
                        port: h.port, host: h.host(s.id, 8000), headers: ["Cookie": cookie])
                    #expect(again.status == 410)
                    #expect(
                        try await stack.sessions.audit?.events(session: s.id).filter {
                            $0.kind == "preview.restart_failed"
                        }.count == 1)
                    for snapshot in try await stack.store.snapshots() where snapshot.session == s.id {
                        try await stack.sessions.deleteSnapshot(snapshot.id)
                    }
                }
            }
        }
    }
}
