import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// Collects guardrail events so tests can read what the exec guard decided.
actor RecordingSink: GuardrailEventSink {
    private(set) var events: [GuardrailEvent] = []
    func record(_ event: GuardrailEvent) async { events.append(event) }
}

/// Command guardrails enforced on every execve of a real runc sandbox (seccomp user notification answered by
/// the host), approvals that block and resume, file guardrails enforced by mounts, the stored policy, diff.
@Suite(.needsSandboxes, .serialized)
struct GuardrailTests {
    static let denyRm = PolicyText(
        text: """
            version: 1
            guardrails:
              commands: {default: allow, deny: [rm]}
            """, file: "deny-rm.yml")

    /// Every route to `rm` the issue names. Each must leave the file in place and report EPERM.
    static let routes: [(String, String)] = [
        ("shell", "rm victim"),
        ("absolute path", "/usr/bin/rm victim"),
        ("script", "printf '#!/bin/sh\\nrm \"$1\"\\n' > /tmp/del.sh; chmod +x /tmp/del.sh; /tmp/del.sh victim"),
        ("python subprocess", "python3 -c 'import subprocess; subprocess.run([\"rm\", \"victim\"])'"),
        ("find -exec", "find . -name victim -exec rm {} \\;"),
        ("xargs", "echo victim | xargs rm"),
        ("symlink", "ln -sf /usr/bin/rm /tmp/remove; /tmp/remove victim"),
        ("renamed copy", "cp /usr/bin/rm /tmp/zap; /tmp/zap victim"),
        ("copy in the workspace, relative path", "cp /usr/bin/rm ./tidy; ./tidy victim"),
        ("env wrapper", "env rm victim"),
        ("bash -c", "bash -c 'rm victim'"),
    ]

    @Test func aDeniedProgramStaysDeniedThroughEveryRoute() async throws {
        try await withTestStack("guard-routes") { stack in
            let sink = RecordingSink()
            await stack.sessions.guardrails.setEventSink(sink)
            let s = try await stack.sessions.create(SessionSpec(), policy: Self.denyRm)
            #expect(s.policy?.guardsCommands == true)
            for (route, script) in Self.routes {
                _ = try await stack.sessions.sh(s.id, "touch victim")
                let r = try await stack.sessions.sh(s.id, "\(script) 2>&1; test -e victim && echo STILL-THERE")
                #expect(r.stdout.contains("STILL-THERE"), "\(route): rm ran: \(r.stdout)")
                #expect(
                    r.stdout.contains("Operation not permitted") || r.stdout.contains("PermissionError"),
                    "\(route): the caller should see EPERM: \(r.stdout)")
            }
            // The guard is not a blanket refusal: another program removes the file, so the checks above can fail.
            let unlinked = try await stack.sessions.sh(s.id, "unlink victim; test -e victim || echo GONE")
            #expect(unlinked.stdout.contains("GONE"))
            // A denied top-level command fails with EPERM and the sandbox keeps running.
            await #expect(throws: PaddockError.self) { _ = try await stack.sessions.run(s.id, ["rm", "-rf", "/tmp"]) }
            let alive = try await stack.sessions.sh(s.id, "echo alive")
            #expect(alive.stdout == "alive\n")
            let events = await sink.events
            let refused = events.filter { !$0.allowed }
            #expect(refused.count >= Self.routes.count)
            let renamed = try #require(refused.first { $0.argv.first == "/tmp/zap" })
            #expect(renamed.executablePaths.contains("/usr/bin/rm"), "identified by content: \(renamed)")
            #expect(renamed.rule.contains("deny by rule 'rm'"))
            #expect(renamed.rule.contains("deny-rm.yml"))
            #expect(renamed.cwd == "/workspace")
            #expect(events.contains { $0.allowed && $0.argv.first == "unlink" })
        }
    }

    /// Exec decisions inside the sandbox land in the session's hash-chained audit trail, in order with the
    /// API's own events, durable before the exec is answered.
    @Test func execDecisionsAreInTheAuditTrail() async throws {
        try await withTestStack("guard-audit") { stack in
            let s = try await stack.sessions.create(SessionSpec(), policy: Self.denyRm)
            let r = try await stack.sessions.sh(s.id, "touch victim; sh -c 'rm victim' 2>&1; ls")
            #expect(r.stdout.contains("Operation not permitted") && r.stdout.contains("victim"), "\(r.stdout)")
            let audit = AuditLog(store: stack.store)
            let events = try await audit.events(session: s.id)
            let guarded = events.filter { $0.kind == "exec.guardrail" }
            let refused = try #require(guarded.first { $0.fields["allowed"] == .bool(false) })
            #expect(refused.fields["argv"] == .list([.string("rm"), .string("victim")]))
            #expect(refused.fields["policy"] == .string("deny"))
            #expect(refused.actor.user == "sandbox")
            if case .string(let rule) = refused.fields["rule"] { #expect(rule.contains("deny-rm.yml")) }
            #expect(guarded.contains { $0.fields["allowed"] == .bool(true) }, "allowed execs are recorded too")
            #expect(try await audit.verify(session: s.id).ok)
        }
    }

    @Test func argumentPatternsAndDefaultDenyAreEnforced() async throws {
        try await withTestStack("guard-args") { stack in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      commands:
                        default: deny
                        allow: [sh, echo, cat, touch, ls, git, test]
                        deny: ["git push*"]
                    """, file: "strict.yml")
            let s = try await stack.sessions.create(SessionSpec(), policy: policy)
            let r = try await stack.sessions.sh(
                s.id,
                "echo ok; git --version >/dev/null && echo git-ok; git push origin main 2>&1; wc -l /dev/null 2>&1")
            #expect(r.stdout.contains("ok\n"))
            #expect(r.stdout.contains("git-ok"))
            #expect(r.stdout.components(separatedBy: "Operation not permitted").count - 1 == 2, "\(r.stdout)")
        }
    }

    @Test func askBlocksUntilAPersonAnswers() async throws {
        try await withTestStack("guard-ask") { stack in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      commands: {ask: [touch]}
                    """, file: "ask.yml")
            let sink = RecordingSink()
            await stack.sessions.guardrails.setEventSink(sink)
            let s = try await stack.sessions.create(SessionSpec(), policy: policy)
            let approvals = stack.sessions.guardrails.approvals

            // Approved: the held-back exec resumes and runs.
            let approved = Task { try await stack.sessions.sh(s.id, "touch approved 2>&1; echo done") }
            let first = try await waitForPending(approvals, s.id)
            #expect(first.subject.contains("touch approved"))
            #expect(await stack.sessions.awaitingApproval(s.id))
            // The session keeps answering while one of its processes waits.
            #expect(try await stack.sessions.sh(s.id, "echo responsive").stdout == "responsive\n")
            _ = try await approvals.answer(id: first.id, approve: true, by: "test-approver", note: "looks fine")
            #expect(try await approved.value.stdout == "done\n")
            #expect(try await stack.sessions.sh(s.id, "ls").stdout.contains("approved"))
            #expect(!(await stack.sessions.awaitingApproval(s.id)))

            // Denied: EPERM.
            let denied = Task { try await stack.sessions.sh(s.id, "touch denied 2>&1; echo done") }
            let second = try await waitForPending(approvals, s.id)
            _ = try await approvals.answer(id: second.id, approve: false, by: "test-approver", note: nil)
            #expect(try await denied.value.stdout.contains("Operation not permitted"))

            // Nobody answers: denied when the request times out.
            await approvals.setDefaultTimeout(.milliseconds(300))
            let timedOut = try await stack.sessions.sh(s.id, "touch late 2>&1; echo done")
            #expect(timedOut.stdout.contains("Operation not permitted"))
            #expect(!(try await stack.sessions.sh(s.id, "ls").stdout.contains("late")))

            // Persisted with who and when; the events carry the approval.
            let all = try await approvals.list(session: s.id, includeAnswered: true)
            #expect(Set(all.map(\.state)) == [.approved, .denied, .expired])
            let stored = try #require(try await stack.store.approval(id: first.id))
            #expect(stored.state == .approved && stored.decidedBy == "test-approver" && stored.note == "looks fine")
            // One request per command, although the shell retried the refused ones on the next PATH entry.
            #expect(all.count == 3)
            let events = await sink.events.filter { $0.policyAction == .ask }
            #expect(events.count >= 3)
            #expect(events.first { $0.allowed }?.approval?.decidedBy == "test-approver")
            // An answered request cannot be answered again.
            await #expect(throws: PaddockError.self) {
                _ = try await approvals.answer(id: first.id, approve: false, by: "x", note: nil)
            }
        }
    }

    @Test func fileGuardrailsAreEnforcedByMounts() async throws {
        try await withTestStack("guard-files") { stack in
            let policy = PolicyText(
                text: """
                    version: 1
                    guardrails:
                      files:
                        read_only: [.git/hooks, .github/workflows]
                        hidden: ["~/.ssh", secrets]
                    """, file: "files.yml")
            let s = try await stack.sessions.create(SessionSpec(), policy: policy)
            #expect(s.start?.hasPrefix("cold") == true)
            let r = try await stack.sessions.sh(
                s.id,
                """
                echo x > .git/hooks/pre-commit 2>&1 || true
                mkdir -p .github/workflows/sub 2>&1 || true
                ls ~/.ssh 2>&1 || true
                echo k > ~/.ssh/id_rsa 2>&1 || true
                ls secrets 2>&1 || true
                echo fine > notes.txt && cat notes.txt
                """)
            // The shell reports the failed redirection on its own stderr.
            let output = r.stdout + r.stderr
            #expect(output.components(separatedBy: "Read-only file system").count - 1 >= 2, "\(output)")
            #expect(output.contains("Permission denied"), "\(output)")
            #expect(r.stdout.contains("fine"))
            // Root inside the sandbox cannot write through them either.
            let root = try await stack.sessions.sh(
                s.id, "touch /workspace/.git/hooks/x 2>&1; touch /home/user/.ssh/x 2>&1; true", user: "root")
            let errors = root.stdout.split(separator: "\n")
            #expect(errors.count == 2, "\(root.stdout)")
            #expect(errors.first?.contains("Read-only file system") == true, "\(root.stdout)")
            #expect(
                errors.allSatisfy { $0.contains("Read-only file system") || $0.contains("Permission denied") },
                "\(root.stdout)")
        }
    }

    @Test func thePolicyIsValidatedStoredAndAppliedByTheServer() async throws {
        try await withTestStack("guard-policy") { stack in
            let policy = PolicyText(
                text: """
                    version: 1
                    compute: {memory: 300MiB, pids: 123, timeout: 20m}
                    guardrails:
                      commands: {deny: [sudo]}
                      changes: {max_lines: 3, protected_branches: [main]}
                    """, file: "session.yml")
            let s = try await stack.sessions.create(SessionSpec(ttlSeconds: 7200), policy: policy)
            #expect(s.spec.limits.memory == (try ByteSize(parsing: "300MiB")))
            #expect(s.spec.limits.pids == 123)
            #expect(s.spec.ttlSeconds == 1200)
            let stored = try #require(try await stack.store.session(s.id)?.policy)
            #expect(stored.summary.contains { $0.contains("commands: deny 'sudo'") || $0.contains("sudo") })
            #expect(stored.sources.map(\.layer) == ["session"])
            let limit = try await stack.sessions.sh(
                s.id, "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
            #expect(limit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "123")

            // The change check: 4 lines > max_lines 3, and the checked-out branch is protected.
            _ = try await stack.sessions.sh(
                s.id,
                "printf 'a\\nb\\n' > one.txt; printf 'c\\nd' > two.txt; mkdir -p .git; echo 'ref: refs/heads/main' > .git/HEAD"
            )
            let diff = try await stack.sessions.diff(s.id)
            #expect(diff.files.map(\.path) == ["one.txt", "two.txt"])
            #expect(diff.linesChanged == 4)
            #expect(diff.branch == "main")
            #expect(diff.violations.count == 2, "\(diff.violations)")

            // Bad policy: a located error, and nothing is created.
            let before = try await stack.sessions.list(includeEnded: true).count
            let bad = PolicyText(
                text: "version: 1\nguardrails:\n  commands: {deny: [rm], allwo: [ls]}\n", file: "bad.yml")
            do {
                _ = try await stack.sessions.create(SessionSpec(), policy: bad)
                Issue.record("a bad policy must be refused")
            } catch let error as PaddockError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("bad.yml:3:"), "\(error.message)")
            }
            #expect(try await stack.sessions.list(includeEnded: true).count == before)
        }
    }

    @Test func gVisorRefusesCommandRules() async throws {
        try await withTestStack("guard-gvisor") { stack in
            guard stack.gvisor != nil else { return }
            do {
                _ = try await stack.sessions.create(SessionSpec(provider: "gvisor"), policy: Self.denyRm)
                Issue.record("command rules on gVisor must be refused")
            } catch let error as PaddockError {
                #expect(error.message.contains("not enforced"), "\(error.message)")
            }
        }
    }

    private func waitForPending(_ approvals: ApprovalService, _ session: SessionID) async throws -> Approval {
        for _ in 0..<200 {
            if let open = try await approvals.list(session: session, includeAnswered: false).first { return open }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PaddockError(.timeout, "no approval request appeared")
    }
}
