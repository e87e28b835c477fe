import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockAPI
import PaddockConfig
import PaddockCore
import PaddockServer
import PaddockStore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Projects: validation, who may see and change them, the org trail, the policy and instructions their sessions
/// get, the agent their runs default to, and the REST door. A real SQLite store (in memory, or a file under the
/// REST door), the fake provider and a real git origin; no root, no sandboxes.
@Suite struct ProjectTests {
    struct Stack: Sendable {
        let dir: String
        let store: SQLiteStore
        let fake: FakeProvider
        let sessions: SessionService
        let vault: SecretVault
        let runs: RunService
        var projects: ProjectService { ProjectService(sessions: sessions, vault: vault, runs: runs) }
    }

    /// A stack with teams `a` and `b` (default grants) and `ro` (read only), repository clones, a vault and two
    /// command agents (`echo`, the default, and `shout`).
    static func withStack(_ label: String, _ body: @Sendable (Stack) async throws -> Void) async throws {
        let dir = TestHost.makeDataDirectory("project-\(label)")
        defer { TestHost.removeDataDirectory(dir) }
        let store = try SQLiteStore.inMemory()
        let fake = FakeProvider()
        let sessions = SessionService(store: store, providers: ["local": fake], logger: TestHost.quietLogger(label))
        await sessions.setRepositories(try RepositoryClones(root: dir + "/repos"))
        for (team, grant) in [
            ("a", TeamRecord.defaultPermissions), ("b", TeamRecord.defaultPermissions), ("ro", [.read]),
        ] {
            try await store.insertTeam(TeamRecord(name: team, permissions: grant, members: [], createdAt: Date()))
        }
        let runs = RunService(
            sessions: sessions, store: store, teams: store,
            configuration: RunConfiguration(
                agents: [
                    AgentDefinition(name: "echo", kind: .command, argv: ["echo", "{prompt}", "{model}"]),
                    AgentDefinition(name: "shout", kind: .command, argv: ["echo", "SHOUT", "{prompt}", "{model}"]),
                ], defaultAgent: "echo"),
            logger: TestHost.quietLogger(label))
        let stack = Stack(
            dir: dir, store: store, fake: fake, sessions: sessions,
            vault: try SecretVault(store: store, keyFile: dir + "/vault.key"), runs: runs)
        // The runs' tasks belong to the run service, running as the server's service group would run it.
        try await withRunning(runs) { try await body(stack) }
        for session in try await sessions.list(includeEnded: false) { _ = try await sessions.destroy(session.id) }
    }

    static let admin = Caller(
        Principal(user: "ada", role: .admin, tokenID: "tok-ada", scopes: Role.admin.ceiling, teams: [:]))

    static func person(_ user: String, role: Role = .member, _ teams: [String: Set<Permission>]) -> Caller {
        Caller(Principal(user: user, role: role, tokenID: "tok-\(user)", scopes: role.ceiling, teams: teams))
    }

    static let alice = person("alice", ["a": TeamRecord.defaultPermissions])
    static let bob = person("bob", ["b": TeamRecord.defaultPermissions])
    static let carol = person("carol", ["a": TeamRecord.defaultPermissions, "b": TeamRecord.defaultPermissions])
    static let vic = person("vic", role: .viewer, ["a": TeamRecord.defaultPermissions])
    static let ann = person("ann", ["ro": [.read]])

    static func spec(_ name: String, teams: [String] = [], repository: String = "/srv/git/web.git") -> ProjectSpec {
        ProjectSpec(name: name, repository: repository, teams: teams)
    }

    static func code(_ body: () async throws -> Void) async -> (PaddockError.Code?, String) {
        do { try await body() } catch let e as PaddockError { return (e.code, e.message) } catch {
            return (nil, "\(error)")
        }
        return (nil, "no error")
    }

    // MARK: Validation

    @Test(arguments: [
        ("Web", "lowercase"), ("-web", "starting and ending"), ("web-", "starting and ending"), ("", "1 to 63"),
        (String(repeating: "a", count: 64), "1 to 63"), ("web_app", "like web-app"), ("wéb", "lowercase"),
        ("web/app", "lowercase"),
    ])
    func badNamesAreRefusedSayingWhatANameIs(name: String, hint: String) {
        #expect {
            try Self.spec(name).validate()
        } throws: { error in
            let e = error as? PaddockError
            return e?.code == .invalidArgument && e?.message.contains(hint) == true
        }
    }

    @Test func everyFieldIsCheckedWithAMessageThatSaysWhatToDo() {
        var cases: [(ProjectSpec, String)] = []
        var s = Self.spec("web")
        s.repository = "relative/path"
        cases.append((s, "pass --repo"))
        s = Self.spec("web")
        s.repository = "https://bot:ghp_secret@github.com/acme/web.git"
        cases.append((s, "credential"))
        s = Self.spec("web")
        s.branch = "a..b"
        cases.append((s, "valid git branch"))
        s = Self.spec("web")
        s.template = "Bad Template"
        cases.append((s, "template name"))
        s = Self.spec("web")
        s.instructions = String(repeating: "x", count: (64 << 10) + 1)
        cases.append((s, "64 KiB"))
        s = Self.spec("web")
        s.instructions = "ring the bell \u{07}"
        cases.append((s, "control character"))
        s = Self.spec("web")
        s.secrets = ["1PASSWORD"]
        cases.append((s, "paddock secrets list"))
        s = Self.spec("web")
        s.agent = "claude code"
        cases.append((s, "such as claude-code"))
        s = Self.spec("web")
        s.model = "--dangerous"
        cases.append((s, "model name"))
        s = Self.spec("web")
        s.teams = ["Team A"]
        cases.append((s, "team name"))
        s = Self.spec("web")
        s.policy = String(repeating: "#\n", count: 200_000)
        cases.append((s, "KiB"))
        for (spec, hint) in cases {
            #expect(throws: PaddockError.self) { try spec.normalized().validate() }
            do { try spec.normalized().validate() } catch {
                #expect(error.code == .invalidArgument && error.message.contains(hint), "\(error.message)")
            }
        }
        // A scp-style or ssh URL with a user is fine: there is no password in it.
        for url in ["git@github.com:acme/web.git", "ssh://git@github.com/acme/web.git", "https://github.com/a/b"] {
            #expect(throws: Never.self) { try Self.spec("web", repository: url).validate() }
        }
    }

    @Test func normalizingSortsListsAndClearsBlankText() {
        var s = Self.spec("web", teams: ["b", "a", "b"])
        s.secrets = ["Z_KEY", "A_KEY", "Z_KEY"]
        s.description = "  "
        s.agent = ""
        s.template = ""
        s.instructions = "\r\n  Be brief.\r\n\r\n"
        let n = s.normalized()
        #expect(n.teams == ["a", "b"] && n.secrets == ["A_KEY", "Z_KEY"])
        #expect(n.description == nil && n.agent == nil && n.template == "host" && n.instructions == "Be brief.")
    }

    // MARK: What the server has

    @Test func addChecksTheTemplateTeamsPolicySecretsAndAgent() async throws {
        try await Self.withStack("checks") { s in
            var spec = Self.spec("web")
            spec.template = "tools"
            var (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("paddock template build tools"), "\(message)")

            spec = Self.spec("web", teams: ["a", "nope"])
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .notFound && message.contains("paddock teams create nope"), "\(message)")

            spec = Self.spec("web")
            spec.policy = "version: 1\nguardrails:\n  commands: {deny: [rm]\n"
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("runtime.yml of project web"), "\(message)")

            spec.policy = "version: 1\nguardrails:\n  commandz: {}\n"
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains(":3:"), "line-precise: \(message)")

            spec.policy = "version: 1\ninstructions: Be brief.\n"
            spec.instructions = "Run the tests."
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("one place"), "\(message)")

            spec = Self.spec("web", teams: ["a"])
            spec.secrets = ["ANTHROPIC_API_KEY"]
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(
                code == .invalidArgument && message.contains("team a")
                    && message.contains("paddock secrets set ANTHROPIC_API_KEY --team a"), "\(message)")
            // An org-wide secret opens for every team.
            _ = try await s.vault.set(
                name: "ANTHROPIC_API_KEY", team: nil, value: "sk-test", hosts: ["api.anthropic.com"], allowHTTP: false)
            _ = try await s.projects.add(spec, by: Self.admin)

            spec = Self.spec("other")
            spec.agent = "aider"
            (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("echo, shout"), "\(message)")

            (code, message) = await Self.code { _ = try await s.projects.add(Self.spec("web"), by: Self.admin) }
            #expect(code == .alreadyExists && message.contains("paddock projects update web"), "\(message)")
        }
    }

    @Test func aChangeIsCheckedForWhatItTouchesOnly() async throws {
        try await Self.withStack("touches") { s in
            let templates = TemplateService(sessions: s.sessions)
            _ = try await templates.build(TemplateSpec(name: "tools"), by: Self.admin) { _ in }
            var spec = Self.spec("web")
            spec.template = "tools"
            _ = try await s.projects.add(spec, by: Self.admin)
            try await templates.remove("tools", by: Self.admin)
            // The template is gone, but a change of the description does not touch it.
            let changed = try await s.projects.update("web", ProjectUpdate(description: "The shop"), by: Self.admin)
            #expect(changed.description == "The shop" && changed.revision == 2 && changed.updatedBy == "ada")
            // Putting it back to the built-in template does.
            let back = try await s.projects.update("web", ProjectUpdate(template: ""), by: Self.admin)
            #expect(back.template == "host" && back.revision == 3)
            let (code, _) = await Self.code {
                _ = try await s.projects.update("web", ProjectUpdate(template: "gone"), by: Self.admin)
            }
            #expect(code == .invalidArgument)
            // Nothing to change: the same revision, nothing recorded.
            #expect(try await s.projects.update("web", ProjectUpdate(template: "host"), by: Self.admin).revision == 3)
        }
    }

    @Test func changesAreCompareAndSet() async throws {
        try await Self.withStack("cas") { s in
            let added = try await s.projects.add(Self.spec("web"), by: Self.admin)
            _ = try await s.projects.update("web", ProjectUpdate(branch: "develop"), expecting: 1, by: Self.admin)
            // An edit made from the first view is refused instead of undoing the branch change.
            let (code, message) = await Self.code {
                _ = try await s.projects.update("web", ProjectUpdate(agent: "echo"), expecting: 1, by: Self.admin)
            }
            #expect(code == .conflict && message.contains("paddock projects show web"), "\(message)")
            // The store refuses a write based on a stale read, too.
            let stale = added.replacing(added.spec, by: "ada", at: Date())
            await #expect(throws: PaddockError.self) { try await s.store.updateProject(stale, expecting: 1) }
            #expect(try await s.store.project("web")?.branch == "develop")
            await #expect(throws: PaddockError.self) { try await s.store.deleteProject("nope") }
        }
    }

    // MARK: Who may do what

    @Test func onlyOwnersAndAdminsChangeProjects() async throws {
        try await Self.withStack("admins") { s in
            for caller in [Self.alice, Self.vic, Self.carol] {
                let (code, message) = await Self.code {
                    _ = try await s.projects.add(Self.spec("web", teams: ["a"]), by: caller)
                }
                #expect(code == .permissionDenied && message.contains("owner or admin"), "\(message)")
            }
            _ = try await s.projects.add(Self.spec("web", teams: ["a"]), by: Self.admin)
            for caller in [Self.alice, Self.vic] {
                var (code, _) = await Self.code {
                    _ = try await s.projects.update("web", ProjectUpdate(description: "x"), by: caller)
                }
                #expect(code == .permissionDenied)
                (code, _) = await Self.code { _ = try await s.projects.remove("web", by: caller) }
                #expect(code == .permissionDenied)
            }
            // An admin whose token is scoped without admin is not an admin here either.
            let narrow = Caller(
                Principal(user: "ada", role: .admin, tokenID: "narrow", scopes: [.read, .write], teams: [:]))
            #expect(await Self.code { _ = try await s.projects.remove("web", by: narrow) }.0 == .permissionDenied)
            #expect(try await s.projects.get("web", for: .system).description == nil)
        }
    }

    @Test func peopleSeeOnlyTheProjectsOfTheirTeams() async throws {
        try await Self.withStack("visibility") { s in
            for (name, teams) in [("pa", ["a"]), ("pb", ["b"]), ("pab", ["a", "b"]), ("pn", []), ("pro", ["ro"])] {
                _ = try await s.projects.add(Self.spec(name, teams: teams), by: Self.admin)
            }
            let expected: [(Caller, [String])] = [
                (Self.alice, ["pa", "pab"]), (Self.bob, ["pab", "pb"]), (Self.carol, ["pa", "pab", "pb"]),
                (Self.vic, ["pa", "pab"]), (Self.ann, ["pro"]), (Self.person("dan", [:]), []),
                (Self.admin, ["pa", "pab", "pb", "pn", "pro"]), (.system, ["pa", "pab", "pb", "pn", "pro"]),
            ]
            for (caller, names) in expected {
                #expect(try await s.projects.list(for: caller).map(\.name) == names, "\(caller)")
            }
            // Another team's project answers exactly like one that does not exist.
            let hidden = await Self.code { _ = try await s.projects.get("pb", for: Self.alice) }
            let missing = await Self.code { _ = try await s.projects.get("nope", for: Self.alice) }
            #expect(hidden.0 == .notFound && missing.0 == .notFound)
            #expect(hidden.1 == missing.1.replacingOccurrences(of: "nope", with: "pb"))
            let adminOnly = await Self.code { _ = try await s.projects.launch("pn", by: Self.alice) }
            #expect(adminOnly.0 == .notFound)
        }
    }

    @Test func aProjectSessionBelongsToOneOfItsTeamsTheCallerMayWriteTo() async throws {
        try await Self.withStack("teams") { s in
            for (name, teams) in [("pa", ["a"]), ("pab", ["a", "b"]), ("pn", []), ("pro", ["ro"])] {
                _ = try await s.projects.add(Self.spec(name, teams: teams), by: Self.admin)
            }
            #expect(try await s.projects.launch("pa", by: Self.alice).owner == SessionOwner(team: "a", user: "alice"))
            #expect(try await s.projects.launch("pab", by: Self.alice).owner.team == "a")
            var (code, message) = await Self.code { _ = try await s.projects.launch("pab", by: Self.carol) }
            #expect(code == .invalidArgument && message.contains("--team"), "\(message)")
            #expect(try await s.projects.launch("pab", team: "b", by: Self.carol).owner.team == "b")
            (code, message) = await Self.code { _ = try await s.projects.launch("pa", team: "b", by: Self.carol) }
            #expect(code == .invalidArgument && message.contains("not open to team 'b'"), "\(message)")
            // Seeing is not starting: a viewer, and a team granted only read.
            (code, message) = await Self.code { _ = try await s.projects.launch("pa", by: Self.vic) }
            #expect(code == .permissionDenied && message.contains("viewer"), "\(message)")
            (code, message) = await Self.code { _ = try await s.projects.launch("pro", by: Self.ann) }
            #expect(code == .permissionDenied && message.contains("granted read"), "\(message)")
            // Admins start a project open to no team as a session of no team, or of a team they name.
            #expect(try await s.projects.launch("pn", by: Self.admin).owner.team == nil)
            #expect(try await s.projects.launch("pn", team: "b", by: Self.admin).owner.team == "b")
            (code, message) = await Self.code { _ = try await s.projects.launch("pab", by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("--team"), "\(message)")
            // Paddock itself (a trigger) names a team of the project, or gets the only one.
            #expect(try await s.projects.launch("pa", by: .system).owner.team == "a")
            #expect(try await s.projects.launch("pab", team: "b", by: .system).owner.team == "b")
            (code, message) = await Self.code { _ = try await s.projects.launch("pa", team: "b", by: .system) }
            #expect(code == .invalidArgument && message.contains("open it to that team"), "\(message)")
        }
    }

    // MARK: The org trail

    @Test func everyChangeIsRecordedNamingWhoMadeIt() async throws {
        try await Self.withStack("trail") { s in
            var spec = Self.spec("web", teams: ["a"])
            spec.instructions = "Run make test before you finish."
            _ = try await s.projects.add(spec, by: Self.admin)
            _ = try await s.projects.update("web", ProjectUpdate(agent: "shout", teams: ["a", "b"]), by: Self.admin)
            try await s.projects.remove("web", by: Self.admin)
            let audit = try #require(s.sessions.audit)
            let events = try await audit.events(session: .organization).filter { $0.kind.hasPrefix("project.") }
            #expect(events.map(\.kind) == ["project.add", "project.update", "project.remove"])
            #expect(events.allSatisfy { $0.actor.user == "ada" && $0.actor.token == "tok-ada" })
            #expect(events.allSatisfy { $0.fields["project"] == .string("web") })
            #expect(events[0].fields["instructions_bytes"] == .int(32))
            #expect(events[0].fields["teams"] == .strings(["a"]))
            #expect(events[1].fields["changed"] == .strings(["agent", "teams"]))
            #expect(try await audit.verify(session: .organization).ok)
            // Refused changes record nothing.
            _ = await Self.code { _ = try await s.projects.add(Self.spec("x"), by: Self.alice) }
            #expect(try await audit.events(session: .organization).filter { $0.kind.hasPrefix("project.") }.count == 3)
        }
    }

    // MARK: Sessions and runs

    @Test(arguments: [
        "Be brief.", "  Indented first line\nthen not", "# Heading\n\n- a list: with colons\n---\n...\n\ttabbed",
        "Ünïcödé, \"quotes\" and 'apostrophes' & {braces} [brackets] *stars* |pipes| >gt",
    ])
    func instructionsSurviveBeingWrittenIntoThePolicy(instructions: String) throws {
        var spec = Self.spec("web")
        spec.instructions = instructions
        spec.policy = "version: 1\nguardrails:\n  commands: {default: allow, deny: [rm]}"
        let project = Project(spec.normalized(), by: "ada", at: Date())
        let policy = try #require(try ProjectService.sessionPolicy(for: project))
        #expect(policy.text.hasPrefix(try #require(spec.policy)))
        let read = try RuntimeConfig.parse(policy.text, file: policy.file)
        #expect(read.instructions?.trimmingCharacters(in: .whitespacesAndNewlines) == project.instructions)
        #expect(read.guardrails.commands.rules.count == 1)
        // Without instructions the policy is the project's own text, and without either there is none.
        spec.instructions = ""
        #expect(try ProjectService.sessionPolicy(for: Project(spec, by: "ada", at: Date()))?.text == spec.policy)
        spec.policy = nil
        #expect(try ProjectService.sessionPolicy(for: Project(spec, by: "ada", at: Date())) == nil)
    }

    @Test func aPolicyThatCannotTakeTheInstructionsIsRefusedAtAdd() async throws {
        try await Self.withStack("flow") { s in
            var spec = Self.spec("web")
            spec.policy = "{version: 1, name: web}"
            spec.instructions = "Be brief."
            let (code, message) = await Self.code { _ = try await s.projects.add(spec, by: Self.admin) }
            #expect(code == .invalidArgument && message.contains("plain top-level key"), "\(message)")
        }
    }

    @Test func aSessionOfAProjectGetsItsRepositoryPolicyInstructionsAndSecrets() async throws {
        let origin = try GitFixture.make(
            "project-session", files: ["CLAUDE.md": "# Web\n\nUse pnpm.\n", "src/app.js": "console.log(1)\n"])
        defer { origin.remove() }
        try await Self.withStack("session") { s in
            _ = try await s.vault.set(
                name: "NPM_TOKEN", team: "a", value: "npm-secret", hosts: ["registry.npmjs.org"], allowHTTP: false)
            var spec = Self.spec("web", teams: ["a"], repository: origin.origin)
            spec.branch = "feature"
            spec.policy = "version: 1\nguardrails:\n  commands: {default: allow, deny: [sudo]}\n"
            spec.instructions = "Run the tests with `pnpm test` before you finish."
            spec.secrets = ["NPM_TOKEN"]
            _ = try await s.projects.add(spec, by: Self.admin)

            let session = try await s.projects.startSession("web", sessionName: "fix-login", by: Self.alice)
            #expect(session.spec.project == "web" && session.spec.name == "fix-login")
            #expect(session.team == "a" && session.createdBy == "alice")
            #expect(session.spec.repository?.url == origin.origin && session.spec.repository?.branch == "feature")
            #expect(session.spec.secrets == ["NPM_TOKEN"])
            let layer = try #require(session.policy?.sources.last)
            #expect(layer.layer == "session" && layer.file == "runtime.yml of project web")
            #expect(session.policy?.summary.joined().contains("sudo") == true)
            // The repository's own CLAUDE.md, then the project's instructions in Paddock's block; AGENTS.md too.
            let claude = try await Self.read(s, session.id, "/workspace/CLAUDE.md")
            #expect(claude.hasPrefix("# Web\n\nUse pnpm.\n"), "\(claude)")
            #expect(claude.contains("pnpm test") && claude.contains("paddock:instructions:begin"), "\(claude)")
            #expect(try await Self.read(s, session.id, "/workspace/AGENTS.md").contains("pnpm test"))
            // The session says where it came from, in its record and its trail.
            let created = try await #require(s.sessions.audit).events(session: session.id).first {
                $0.kind == "session.create"
            }
            #expect(created?.fields["project"] == .string("web") && created?.actor.user == "alice")
            // Bob's team may not use it: the project does not exist for him.
            let (code, _) = await Self.code { _ = try await s.projects.startSession("web", by: Self.bob) }
            #expect(code == .notFound)
        }
    }

    @Test func runsInAProjectSessionUseTheProjectsAgentAndModel() async throws {
        let origin = try GitFixture.make("project-run", files: ["README.md": "hello\n"])
        defer { origin.remove() }
        try await Self.withStack("runs") { s in
            var spec = Self.spec("web", teams: ["a"], repository: origin.origin)
            spec.agent = "shout"
            spec.model = "big-model"
            _ = try await s.projects.add(spec, by: Self.admin)
            let started = try await s.projects.start("web", prompt: "fix the login", by: Self.alice)
            #expect(started.run.agent == "shout" && started.run.model == "big-model")
            let first = try await s.runs.wait(started.run.id)
            #expect(first.status == .completed, "\(first.reason ?? "")")
            // A later prompt in the same session, from any door, defaults to the project's agent too.
            let second = try await s.runs.start(session: started.session.id, prompt: "and the logout", by: Self.alice)
            #expect(second.agent == "shout" && second.model == "big-model")
            _ = try await s.runs.wait(second.id)
            // Another agent named for one prompt does not take the project's model along.
            let third = try await s.runs.start(
                session: started.session.id, prompt: "say hi", agent: "echo", by: Self.alice)
            #expect(third.agent == "echo" && third.model == nil)
            _ = try await s.runs.wait(third.id)
            // A session that is not a project's keeps the server's default.
            let plain = try await s.sessions.create(
                SessionSpec(), owner: SessionOwner(team: "a", user: "alice"), by: Self.alice)
            #expect(try await s.runs.start(session: plain.id, prompt: "hi", by: Self.alice).agent == "echo")
        }
    }

    @Test func aFirstPromptThatCannotStartLeavesNoSession() async throws {
        let origin = try GitFixture.make("project-refused", files: ["README.md": "hello\n"])
        defer { origin.remove() }
        try await Self.withStack("refused") { s in
            _ = try await s.projects.add(Self.spec("web", teams: ["a"], repository: origin.origin), by: Self.admin)
            // An unknown agent is refused before anything is started.
            var (code, message) = await Self.code {
                _ = try await s.projects.start("web", prompt: "hi", agent: "nope", by: Self.alice)
            }
            #expect(code == .invalidArgument && message.contains("echo, shout"), "\(message)")
            #expect(try await s.sessions.list(includeEnded: true).isEmpty)
            // A run refused once the session exists (the team's budget is spent) takes the session with it.
            try await s.store.setBudget(team: "a", monthlyUSD: 0)
            (code, message) = await Self.code { _ = try await s.projects.start("web", prompt: "hi", by: Self.alice) }
            #expect(code == .permissionDenied && message.contains("budget"), "\(message)")
            let ended = try await s.sessions.list(includeEnded: true)
            #expect(ended.count == 1 && ended.allSatisfy { $0.state == .destroyed && $0.spec.project == "web" })
            #expect(await s.fake.sandboxes.isEmpty)
        }
    }

    @Test func sessionsStoredBeforeProjectsExistedStillRead() throws {
        let spec = SessionSpec(name: "old")
        var json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any])
        json["project"] = nil
        let decoded = try JSONDecoder().decode(
            SessionSpec.self, from: try JSONSerialization.data(withJSONObject: json))
        #expect(decoded == spec && decoded.project == nil)
    }

    static func read(_ s: Stack, _ id: SessionID, _ path: String) async throws -> String {
        var bytes: [UInt8] = []
        for try await chunk in try await s.fake.initClient(id).readFile(path: path, user: .user) { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: The REST door

    @Test func theAPIAddsListsShowsChangesAndRemovesProjects() async throws {
        try await FakeStack.with("projects-api") { stack, v1, _ in
            func call(_ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil) async throws -> TestResponse {
                try await v1.execute(
                    uri: uri, method: method, headers: stack.auth, body: json.map { ByteBuffer(string: $0) })
            }
            let created = try await call(
                .post, "/v1/projects",
                #"{"name": "web", "repository": "https://github.com/acme/web.git", "description": "The shop", "#
                    + #""instructions": "Be brief.", "secrets": []}"#)
            #expect(created.status == .created, "\(created.text)")
            let body = try APICoding.decoder().decode(ProjectBody.self, from: Data(created.body.readableBytesView))
            #expect(body.branch == "main" && body.template == "host" && body.revision == 1 && body.createdBy == "owner")
            #expect(body.instructions == "Be brief." && body.teams.isEmpty)

            let duplicate = try await call(.post, "/v1/projects", #"{"name": "web", "repository": "/srv/web.git"}"#)
            #expect(duplicate.status == .conflict && duplicate.text.contains("already_exists"), "\(duplicate.text)")
            let bad = try await call(.post, "/v1/projects", #"{"name": "Web!", "repository": "/srv/web.git"}"#)
            #expect(bad.status == .badRequest && bad.text.contains("invalid_argument"), "\(bad.text)")

            let list = try await call(.get, "/v1/projects")
            #expect(
                try APICoding.decoder().decode(ProjectListBody.self, from: Data(list.body.readableBytesView))
                    .projects.map(\.name) == ["web"])

            let patched = try await call(.patch, "/v1/projects/web", #"{"branch": "develop", "revision": 1}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(
                try APICoding.decoder().decode(ProjectBody.self, from: Data(patched.body.readableBytesView)).branch
                    == "develop")
            let stale = try await call(.patch, "/v1/projects/web", #"{"description": "", "revision": 1}"#)
            #expect(stale.status == .conflict, "\(stale.text)")

            let shown = try await call(.get, "/v1/projects/web")
            let shownBody = try APICoding.decoder().decode(ProjectBody.self, from: Data(shown.body.readableBytesView))
            #expect(shownBody.revision == 2 && shownBody.description == "The shop")

            #expect(try await call(.delete, "/v1/projects/web").status == .ok)
            let gone = try await call(.get, "/v1/projects/web")
            #expect(gone.status == .notFound && gone.text.contains("paddock projects list"), "\(gone.text)")
        }
    }

    @Test func theAPIKeepsProjectsToTheirTeams() async throws {
        try await RBACTests.withOrg { org in
            func call(_ user: String, _ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil)
                async throws -> (HTTPResponse.Status, String)
            {
                let r = try await RBACTests.call(org, method, uri, as: try #require(org.tokens[user]), json: json)
                return (r.status, r.message)
            }
            // Members do not add projects; admins do.
            var r = try await call("alice", .post, "/v1/projects", #"{"name": "pa", "repository": "/srv/a.git"}"#)
            #expect(r.0 == .forbidden, "\(r.1)")
            for (name, team) in [("pa", "a"), ("pb", "b")] {
                r = try await call(
                    "ada", .post, "/v1/projects",
                    #"{"name": "\#(name)", "repository": "/srv/x.git", "teams": ["\#(team)"]}"#)
                #expect(r.0 == .created, "\(r.1)")
            }
            let list = try await RBACTests.call(org, .get, "/v1/projects", as: try #require(org.tokens["alice"]))
            let names = try APICoding.decoder().decode(ProjectListBody.self, from: Data(list.body.readableBytesView))
            #expect(names.projects.map(\.name) == ["pa"])
            r = try await call("alice", .get, "/v1/projects/pb")
            #expect(r.0 == .notFound && r.1.contains("does not exist"), "\(r.1)")
            r = try await call("bob", .get, "/v1/projects/pb")
            #expect(r.0 == .ok)
            for (method, json) in [(HTTPRequest.Method.patch, #"{"description": "x"}"#), (.delete, nil)] {
                r = try await call("alice", method, "/v1/projects/pa", json)
                #expect(r.0 == .forbidden, "\(method) \(r.1)")
            }
            // A viewer sees the project but may not start it.
            r = try await call("vic", .post, "/v1/projects/pa/sessions", "{}")
            #expect(r.0 == .forbidden && r.1.contains("viewer"), "\(r.1)")
            r = try await call("bob", .post, "/v1/projects/pa/sessions", "{}")
            #expect(r.0 == .notFound, "\(r.1)")
        }
    }
}

extension ProjectTests {
    /// `paddock projects` as an engineer and a member type it, against a real `paddock server` and a real sandbox.
    @Suite(.needsSandboxes, .serialized)
    struct CLI {
        typealias Server = CLITests.ServerProcess

        static func paddock(_ args: [String], _ server: Server, token: String? = nil) async throws -> CLITests.CLIResult
        {
            try await AccessCLITests.paddock(args, server, token: token)
        }

        @Test func addListShowUpdateStartAndRemoveFromTheCommandLine() async throws {
            let origin = try GitFixture.make("project-cli", files: ["AGENTS.md": "Use make.\n"])
            defer { origin.remove() }
            try await CLITests.withServer { server in
                let policy = server.dataDirectory + "/web-runtime.yml"
                let instructions = server.dataDirectory + "/web-instructions.md"
                try Data("version: 1\nguardrails:\n  commands: {default: allow, deny: [sudo]}\n".utf8).write(
                    to: URL(fileURLWithPath: policy))
                try Data("Run `make test` before you finish.\n".utf8).write(to: URL(fileURLWithPath: instructions))
                #expect(try await Self.paddock(["teams", "add", "web"], server).status == 0)
                #expect(try await Self.paddock(["users", "add", "alice", "--team", "web"], server).status == 0)
                let alice = try await Self.paddock(["tokens", "create", "--user", "alice"], server).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)

                let missing = try await Self.paddock(["projects", "add", "web"], server)
                #expect(missing.status != 0 && missing.stderr.contains("--repo is required"), "\(missing)")
                let bad = try await Self.paddock(["projects", "add", "Web", "--repo", origin.origin], server)
                #expect(bad.status != 0 && bad.stderr.contains("like web-app"), "\(bad)")
                let added = try await Self.paddock(
                    [
                        "projects", "add", "web", "--repo", origin.origin, "--policy", policy, "--instructions",
                        instructions, "--team", "web", "--description", "The shop",
                    ], server)
                #expect(added.status == 0 && added.stdout.contains("open to web"), "\(added)")
                let denied = try await Self.paddock(
                    ["projects", "add", "other", "--repo", origin.origin], server, token: alice)
                #expect(denied.status != 0 && denied.stderr.contains("owner or admin"), "\(denied)")

                let list = try await Self.paddock(["projects", "list"], server, token: alice)
                #expect(list.stdout.contains("web") && list.stdout.contains("The shop"), "\(list)")
                let shown = try await Self.paddock(["projects", "show", "web"], server, token: alice)
                #expect(shown.stdout.contains("make test") && shown.stdout.contains("deny: [sudo]"), "\(shown)")

                let updated = try await Self.paddock(
                    ["projects", "update", "web", "--branch", "feature", "--clear", "description", "--json"], server)
                let body = try APICoding.decoder().decode(ProjectBody.self, from: Data(updated.stdout.utf8))
                #expect(body.branch == "feature" && body.description == nil && body.revision == 2, "\(updated)")
                let wrong = try await Self.paddock(["projects", "update", "web", "--clear", "repo"], server)
                #expect(wrong.status != 0 && wrong.stderr.contains("description, template"), "\(wrong)")

                // alice starts it by name; the sandbox has the branch and the project's instructions.
                let started = try await Self.paddock(["projects", "start", "web", "--json"], server, token: alice)
                let result = try APICoding.decoder().decode(ProjectStartedBody.self, from: Data(started.stdout.utf8))
                #expect(result.session.team == "web" && result.session.repository?.branch == "feature", "\(started)")
                let agents = try await Self.paddock(
                    ["exec", result.session.id, "--", "cat", "/workspace/AGENTS.md"], server, token: alice)
                #expect(agents.stdout.hasPrefix("Use make.\n") && agents.stdout.contains("make test"), "\(agents)")

                let removed = try await Self.paddock(["projects", "rm", "web"], server)
                #expect(removed.stdout == "removed project web\n", "\(removed)")
                let gone = try await Self.paddock(["projects", "show", "web"], server, token: alice)
                #expect(gone.status != 0 && gone.stderr.contains("does not exist"), "\(gone)")
            }
        }
    }
}
