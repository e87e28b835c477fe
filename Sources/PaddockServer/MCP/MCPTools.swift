import Foundation
import Logging
import MCP
import PaddockCore
import PaddockSandbox
import PaddockServices

/// The tools and resources Paddock offers over MCP, each a translation onto a service call made as the caller
/// (so it is authorized against their teams and audited under their name, as the same call through `/v1`).
struct MCPTools: Sendable {
    let sessions: SessionService
    let authorizer: RouteAuthorizer
    let runs: RunService?
    let previews: PreviewService?
    let projects: ProjectService
    /// The lifetime a session created through MCP gets unless the call names one: it outlives the MCP client.
    static let defaultTTLSeconds: Int64 = 3600
    /// The most output one `exec` call returns (its end); the whole output went by as progress.
    static let outputLimit = 256 << 10
    static let readLimit = 4 << 20

    /// An MCP server whose every handler acts as the session's caller at the time of the call.
    func server(for current: MCPSessionCaller) async throws -> Server {
        let server = Server(
            name: "paddock", version: "1",
            instructions: "Paddock sandboxes: create a session, run commands and edit files in it, snapshot, fork, "
                + "diff and submit its change for review. Sessions outlive this connection until their TTL.",
            capabilities: .init(
                resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: Self.catalogue) }
        await server.withMethodHandler(CallTool.self) { [self, weak server] params in
            await answer(params, as: current, server: server)
        }
        await server.withMethodHandler(ListResources.self) { [self] _ in
            .init(resources: try await resources(for: Caller(current.principal)))
        }
        await server.withMethodHandler(ReadResource.self) { [self] params in
            .init(contents: [try await read(params.uri, caller: Caller(current.principal))])
        }
        return server
    }

    /// A tool call's answer, as the MCP session's caller is now. `server` sends the call's progress, if it asked
    /// for any.
    func answer(_ params: CallTool.Parameters, as current: MCPSessionCaller, server: Server?) async -> CallTool.Result {
        let principal = current.principal
        do {
            let text = try await call(params, caller: Caller(principal), principal: principal, server: server)
            return .init(content: [.text(text: text, annotations: nil, _meta: nil)], isError: false)
        } catch {
            // A refusal or failure is the tool's answer, in words the model can act on.
            let e = PaddockError.wrap(error, "the tool failed")
            return .init(content: [.text(text: e.message, annotations: nil, _meta: nil)], isError: true)
        }
    }

    // MARK: Tools

    static func schema(_ properties: [String: (String, String)], required: [String]) -> Value {
        var props: [String: Value] = [:]
        for (name, (type, description)) in properties {
            props[name] = .object(["type": .string(type), "description": .string(description)])
        }
        return .object([
            "type": "object", "properties": .object(props), "required": .array(required.map { .string($0) }),
        ])
    }

    static let session = ("string", "The session id (from create_session or list_sessions).")
    static let keeps = (
        "string",
        "files (default) or processes: running processes continue in sessions started from it (gVisor sessions only)."
    )

    static let catalogue: [Tool] = [
        Tool(
            name: "create_session",
            description: "Create a sandbox session from a template, or from a project (its repository, policy and "
                + "secrets). It lives until its TTL (default 1h), not until this connection ends.",
            inputSchema: schema(
                [
                    "template": ("string", "Template name (default: the server's base)."),
                    "project": ("string", "Project name: start a session of the project instead."),
                    "team": ("string", "Team that owns the session (default: yours)."),
                    "ttl_seconds": ("integer", "Seconds until it is destroyed (default 3600)."),
                    "memory_mib": ("integer", "Memory limit in MiB."), "cpus": ("number", "CPU limit."),
                    "provider": (
                        "string", "local (default) or gvisor: a second kernel, and snapshots that keep processes."
                    ),
                ], required: [])),
        Tool(
            name: "list_sessions", description: "The sessions you can see that are running or paused.",
            inputSchema: schema([:], required: [])),
        Tool(
            name: "exec",
            description: "Run a shell command in the session (as the sandbox user, in /workspace unless cwd is "
                + "given), under the session's guardrails. Output is streamed as progress; the result is the exit "
                + "code and the output's end.",
            inputSchema: schema(
                [
                    "session": session, "command": ("string", "Shell command (sh syntax)."),
                    "cwd": ("string", "Working directory."),
                    "timeout_seconds": ("integer", "Stop it after this many seconds (default 600)."),
                ], required: ["session", "command"])),
        Tool(
            name: "read_file", description: "Read a text file of the session.",
            inputSchema: schema(
                ["session": session, "path": ("string", "Absolute path.")], required: ["session", "path"])),
        Tool(
            name: "write_file", description: "Write a text file in the session (parents are created).",
            inputSchema: schema(
                ["session": session, "path": ("string", "Absolute path."), "content": ("string", "The file's text.")],
                required: ["session", "path", "content"])),
        Tool(
            name: "list_files", description: "List a directory of the session.",
            inputSchema: schema(
                [
                    "session": session, "path": ("string", "Directory (default /workspace)."),
                    "depth": ("integer", "Levels to descend (default 1)."),
                ], required: ["session"])),
        Tool(
            name: "snapshot",
            description: "Snapshot the session's files (and, with keeps=processes, its running processes); new "
                + "sessions and forks can start from it.",
            inputSchema: schema(
                ["session": session, "name": ("string", "A name for the snapshot."), "keeps": keeps],
                required: ["session"])),
        Tool(
            name: "fork",
            description: "Start copies of the session, each with its files (and, with keeps=processes, its running "
                + "processes).",
            inputSchema: schema(
                ["session": session, "count": ("integer", "How many (default 1)."), "keeps": keeps],
                required: ["session"])),
        Tool(
            name: "diff", description: "The session's change against where it started (files and patch).",
            inputSchema: schema(["session": session], required: ["session"])),
        Tool(
            name: "submit",
            description: "Submit the session's change for review: guardrails, secret scan and checks, then a "
                + "commit pushed on its own branch and a review.",
            inputSchema: schema(
                [
                    "session": session, "message": ("string", "Commit message."),
                    "branch": ("string", "Branch to push."),
                ],
                required: ["session"])),
        Tool(
            name: "share_preview", description: "A link to a web app listening on a port in the session.",
            inputSchema: schema(
                [
                    "session": session, "port": ("integer", "The app's port."),
                    "ttl_seconds": ("integer", "How long the link works (default 1 day)."),
                ], required: ["session", "port"])),
        Tool(
            name: "destroy_session", description: "Destroy the session and everything in it.",
            inputSchema: schema(["session": session], required: ["session"])),
    ]

    func call(_ params: CallTool.Parameters, caller: Caller, principal: Principal, server: Server?) async throws
        -> String
    {
        let args = Arguments(values: params.arguments ?? [:])
        switch params.name {
        case "create_session": return try await create(args, caller: caller, principal: principal)
        case "list_sessions":
            let list = try await sessions.list(includeEnded: false, for: caller)
            return list.map {
                "\($0.id) \($0.state.rawValue) \($0.spec.template)\($0.spec.name.map { " \($0)" } ?? "")"
            }
            .joined(separator: "\n")
        case "exec":
            return try await exec(args, caller: caller, progress: params._meta?.progressToken, server: server)
        case "read_file":
            let (info, content) = try await SessionFiles(sessions: sessions).read(
                try args.session(), path: try args.string("path"), user: .user, by: caller)
            guard info.size <= UInt64(Self.readLimit) else {
                throw PaddockError.invalidArgument(
                    "the file is \(info.size) bytes, more than read_file returns (\(Self.readLimit)); read part with exec"
                )
            }
            var bytes: [UInt8] = []
            for try await chunk in content { bytes += chunk }
            return String(decoding: bytes, as: UTF8.self)
        case "write_file":
            let bytes = Array(try args.string("content").utf8)
            let info = try await SessionFiles(sessions: sessions).write(
                try args.session(), path: try args.string("path"), user: .user, createParents: true,
                data: BackpressuredStream { sink in if !bytes.isEmpty { await sink.send(bytes) } }, by: caller)
            return "wrote \(info.size) bytes"
        case "list_files":
            let entries = try await SessionFiles(sessions: sessions).list(
                try args.session(), path: args.optionalString("path") ?? SandboxLayout.workspace,
                depth: args.int("depth") ?? 1, user: .user, by: caller)
            return entries.map { "\($0.kind == .directory ? "d" : "-") \($0.size)\t\($0.path)" }.joined(separator: "\n")
        case "snapshot":
            let snapshot = try await SnapshotService(sessions: sessions).take(
                try args.session(), name: args.optionalString("name"), keeps: try args.keeps(), by: caller)
            return try Self.json(snapshot)
        case "fork":
            let forks = try await SnapshotService(sessions: sessions).fork(
                try args.session(), count: args.int("count") ?? 1, keeps: try args.keeps(), by: caller)
            return forks.map(\.id.rawValue).joined(separator: "\n")
        case "diff":
            return try Self.json(try await ChangeService(sessions: sessions).diff(try args.session(), by: caller))
        case "submit":
            let outcome = try await ChangeService(sessions: sessions).submit(
                try args.session(), message: args.optionalString("message"), branch: args.optionalString("branch"),
                by: caller)
            var text = try Self.json(outcome.report)
            if let review = outcome.review { text = "review \(review.id)\n" + text }
            return text
        case "share_preview":
            guard let previews else { throw PaddockError.unavailable("this server has no previews") }
            guard let port = args.int("port"), (1...65535).contains(port) else {
                throw PaddockError.invalidArgument("port must be a number from 1 to 65535")
            }
            let issued = try await previews.share(
                try args.session(), port: UInt16(port), ttl: args.int("ttl_seconds").map { TimeInterval($0) },
                audience: .user(principal.user), by: caller)
            return issued.url
        case "destroy_session":
            let session = try await sessions.destroy(try args.session(), by: caller)
            return "\(session.id) \(session.state.rawValue)"
        default: throw PaddockError.notFound("no tool named '\(params.name)'; tools/list shows them")
        }
    }

    private func create(_ args: Arguments, caller: Caller, principal: Principal) async throws -> String {
        let session: Session
        if let project = args.optionalString("project") {
            session = try await projects.startSession(project, team: args.optionalString("team"), by: caller)
        } else {
            var spec = SessionSpec()
            if let template = args.optionalString("template") { spec.template = template }
            if let provider = args.optionalString("provider") { spec.provider = provider }
            spec.ttlSeconds = Int64(args.int("ttl_seconds") ?? Int(Self.defaultTTLSeconds))
            if let memory = args.int("memory_mib"), memory > 0 { spec.limits.memory = .mebibytes(UInt64(memory)) }
            if let cpus = args.double("cpus") { spec.limits.cpus = cpus }
            let team = try await authorizer.teamForCreate(principal, requested: args.optionalString("team"))
            session = try await sessions.create(
                spec, owner: SessionOwner(team: team, user: principal.user), by: caller)
        }
        return "\(session.id) \(session.state.rawValue) (TTL \(session.spec.ttlSeconds.map { "\($0)s" } ?? "none"))"
    }

    // MARK: Resources

    /// Each visible session's audit trail, and the transcripts of its runs.
    func resources(for caller: Caller) async throws -> [Resource] {
        var out: [Resource] = []
        for session in try await sessions.list(includeEnded: false, for: caller) {
            out.append(
                Resource(
                    name: "audit \(session.id)", uri: "paddock://sessions/\(session.id)/audit",
                    description: "The session's hash-chained audit trail (JSON Lines).", mimeType: "application/jsonl"))
            for run in try await runs?.list(session: session.id, limit: 20) ?? [] {
                out.append(
                    Resource(
                        name: "run \(run.id)", uri: "paddock://runs/\(run.id)",
                        description: "The agent run's record and events: \(run.prompt.prefix(80))",
                        mimeType: "application/json"))
            }
        }
        return out
    }

    func read(_ uri: String, caller: Caller) async throws -> Resource.Content {
        let parts = uri.dropFirst("paddock://".count).split(separator: "/").map(String.init)
        guard uri.hasPrefix("paddock://"), parts.count >= 2 else {
            throw MCPError.invalidParams("unknown resource \(uri); resources/list shows them")
        }
        if parts[0] == "sessions", parts.count == 3, parts[2] == "audit" {
            let id = try SessionID(validating: parts[1])
            _ = try await sessions.get(id, for: caller, needs: .read)
            guard let audit = sessions.audit else { throw PaddockError.unavailable("this server keeps no audit trail") }
            return .text(
                String(decoding: try await audit.export(session: id), as: UTF8.self), uri: uri,
                mimeType: "application/jsonl")
        }
        if parts[0] == "runs", parts.count == 2, let runs {
            let run = try await runs.get(parts[1])
            _ = try await sessions.get(run.session, for: caller, needs: .read)
            var events: [RunEvent] = []
            // A finished run's stored events; a running one's would follow it to its end, so they are left out.
            if run.status.isFinished {
                for await event in try await runs.events(run.id) { events.append(event) }
            }
            return .text(try Self.json(RunTranscript(run: run, events: events)), uri: uri, mimeType: "application/json")
        }
        throw MCPError.invalidParams("unknown resource \(uri); resources/list shows them")
    }

    struct RunTranscript: Encodable {
        var run: Run
        /// Stored events of a finished run (a running one's follow as it goes: read it again later).
        var events: [RunEvent]
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A tool call's arguments, read with errors that say which is missing.
    struct Arguments {
        let values: [String: Value]
        func optionalString(_ name: String) -> String? { values[name]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        func string(_ name: String) throws -> String {
            guard let value = optionalString(name) else { throw PaddockError.invalidArgument("\(name) is required") }
            return value
        }
        func int(_ name: String) -> Int? { values[name]?.intValue ?? values[name]?.doubleValue.map { Int($0) } }
        func double(_ name: String) -> Double? {
            values[name]?.doubleValue ?? values[name]?.intValue.map { Double($0) }
        }
        func session() throws -> SessionID { try SessionID(validating: try string("session")) }
        /// What a snapshot or fork keeps; the provider refuses `processes` where it cannot, saying why.
        func keeps() throws -> Snapshot.Keeps { try Snapshot.Keeps(parsing: optionalString("keeps") ?? "files") }
    }
}
