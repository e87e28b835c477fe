import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MCP
import NIOCore
import PaddockCore
import PaddockServices
import PaddockTestSupport
import Testing

@testable import PaddockServer

/// Snapshots that keep processes, and a pause that releases memory, reached through the other doors: MCP's
/// `snapshot` and `fork` tools take `keeps`, and the E2B API snapshots and pauses a gVisor sandbox the way E2B
/// does (memory and processes kept, nothing held while paused). Where the provider cannot, they say why.
@Suite(.needsSandboxes, .serialized)
struct GVisorKeepsDoorsTests {
    static let admin = Principal(
        user: "ada", role: .admin, tokenID: "tok-ada", scopes: Role.admin.ceiling, teams: [:])

    static func tools(_ stack: TestStack) -> MCPTools {
        MCPTools(
            sessions: stack.sessions, authorizer: RouteAuthorizer(access: stack.store, sessions: stack.sessions),
            runs: nil, previews: nil, projects: ProjectService(sessions: stack.sessions))
    }

    static func call(_ tools: MCPTools, _ name: String, _ arguments: [String: Value]) async throws -> String {
        try await tools.call(
            CallTool.Parameters(name: name, arguments: arguments), caller: Caller(admin), principal: admin, server: nil)
    }

    /// The snapshot tool's answer (the snapshot as JSON).
    static func snapshot(_ text: String) throws -> Snapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Snapshot.self, from: Data(text.utf8))
    }

    @Test(
        .enabled("needs gVisor that checkpoints on this host (make deps)") {
            await GVisorProcessSnapshotTests.checkpointWorks.value
        })
    func mcpSnapshotsAndForksKeepProcessesWhenAsked() async throws {
        try await withTestStack("gvisor-mcp-keeps") { stack in
            let tools = Self.tools(stack)
            let created = try await Self.call(tools, "create_session", ["provider": "gvisor", "ttl_seconds": 600])
            let id = try SessionID(validating: String(created.split(separator: " ")[0]))
            #expect(try await stack.sessions.get(id).spec.provider == "gvisor")
            let value = try await GVisorDiskPauseTests.startKeeper(
                id, stack.sessions, script: GVisorProcessSnapshotTests.keeper)

            let text = try await Self.call(tools, "snapshot", ["session": .string(id.rawValue), "keeps": "processes"])
            let snapshot = try Self.snapshot(text)
            #expect(snapshot.keeps == .processes)
            var spec = SessionSpec(provider: "gvisor")
            spec.snapshot = snapshot.id
            let child = try await stack.sessions.create(spec)
            #expect(try await GVisorProcessSnapshotTests.ask(child.id, stack.sessions) == value)

            let forks = try await Self.call(tools, "fork", ["session": .string(id.rawValue), "keeps": "processes"])
            let fork = try SessionID(validating: forks.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try await GVisorProcessSnapshotTests.ask(fork, stack.sessions) == value)

            // Without `keeps`, files only, as before.
            let files = try await Self.call(tools, "snapshot", ["session": .string(id.rawValue)])
            #expect(try Self.snapshot(files).keeps == .files)
            for session in [id, child.id, fork] { try await stack.sessions.destroy(session) }
        }
    }

    @Test func mcpRefusesToKeepProcessesWhereTheProviderCannotAndSaysWhy() async throws {
        try await withTestStack("mcp-keeps-refused") { stack in
            let tools = Self.tools(stack)
            let s = try await stack.sessions.create(SessionSpec())
            for tool in ["snapshot", "fork"] {
                let refused = await #expect(throws: PaddockError.self) {
                    _ = try await Self.call(tools, tool, ["session": .string(s.id.rawValue), "keeps": "processes"])
                }
                #expect(refused?.message.contains("gVisor") == true, "\(refused?.message ?? "")")
            }
            let wrong = await #expect(throws: PaddockError.self) {
                _ = try await Self.call(tools, "snapshot", ["session": .string(s.id.rawValue), "keeps": "memory"])
            }
            #expect(wrong?.code == .invalidArgument)
            #expect(wrong?.message.contains("'files' or 'processes'") == true, "\(wrong?.message ?? "")")
            #expect(try await stack.store.snapshots().isEmpty)
        }
    }

    /// Sends `body` to the in-process E2B router as the stack's admin.
    static func e2b(
        _ client: some TestClientProtocol, _ token: String, _ method: HTTPRequest.Method, _ uri: String,
        _ body: String? = nil
    ) async throws -> (status: HTTPResponse.Status, text: String) {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[try #require(HTTPField.Name("x-api-key"))] = token
        return try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test(
        .enabled("needs gVisor that checkpoints on this host (make deps)") {
            await GVisorProcessSnapshotTests.checkpointWorks.value
        })
    func e2bSnapshotsAndPausesOfAGVisorSandboxKeepItsProcesses() async throws {
        try await withTestStack("gvisor-e2b-keeps") { stack in
            let token = try await stack.tokens.issue(name: "test")
            let router = buildE2BRouter(sessions: stack.sessions, tokens: stack.tokens, configuration: .init())
            try await Application(router: router).test(.router) { client in
                let s = try await stack.sessions.create(SessionSpec(provider: "gvisor"))
                let value = try await GVisorDiskPauseTests.startKeeper(
                    s.id, stack.sessions, script: GVisorProcessSnapshotTests.keeper)

                // A snapshot keeps the processes, as E2B's does: a sandbox made from it continues them.
                let taken = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/snapshots", "{}")
                #expect(taken.status == .created, "\(taken.text)")
                let snapshots = try await stack.store.snapshots()
                #expect(snapshots.count == 1 && snapshots.first?.keeps == .processes, "\(snapshots)")
                if let snapshot = snapshots.first {
                    var spec = SessionSpec(provider: "gvisor")
                    spec.snapshot = snapshot.id
                    let child = try await stack.sessions.create(spec)
                    #expect(try await GVisorProcessSnapshotTests.ask(child.id, stack.sessions) == value)
                    try await stack.sessions.destroy(child.id)
                }
                let files = try await Self.e2b(
                    client, token, .post, "/sandboxes/\(s.id)/snapshots", #"{"keeps": "files"}"#)
                #expect(files.status == .created, "\(files.text)")
                #expect(try await stack.store.snapshots().filter { $0.keeps == .files }.count == 1)

                // Pause writes the sandbox to disk (nothing of it runs on the host); connect brings it back whole.
                let paused = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/pause")
                #expect(paused.status == .noContent, "\(paused.text)")
                #expect(try await stack.sessions.get(s.id).state == .paused)
                let image = "\(stack.dataDirectory)/gvisor/sessions/\(s.id.rawValue)/checkpoint/complete"
                #expect(FileManager.default.fileExists(atPath: image), "the pause went to disk")
                let connected = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/connect", "{}")
                #expect(connected.status == .created, "\(connected.text)")
                #expect(try await GVisorProcessSnapshotTests.ask(s.id, stack.sessions) == value)

                // While a command stream is attached the processes cannot be kept; unasked, the files are.
                let attached = try await stack.sessions.exec(s.id, SessionCommand(["sleep", "600"]), by: .system)
                let busy = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/snapshots", "{}")
                #expect(busy.status == .created, "\(busy.text)")
                #expect(try await stack.store.snapshots().filter { $0.keeps == .files }.count == 2)
                await attached.cancel()
                try await stack.sessions.destroy(s.id)
            }
        }
    }

    @Test func e2bRefusesToKeepProcessesOfARuncSandboxAndSaysWhy() async throws {
        try await withTestStack("e2b-keeps-refused") { stack in
            let token = try await stack.tokens.issue(name: "test")
            let router = buildE2BRouter(sessions: stack.sessions, tokens: stack.tokens, configuration: .init())
            try await Application(router: router).test(.router) { client in
                let s = try await stack.sessions.create(SessionSpec())
                let refused = try await Self.e2b(
                    client, token, .post, "/sandboxes/\(s.id)/snapshots", #"{"keeps": "processes"}"#)
                #expect(refused.status.code >= 400 && refused.text.contains("gVisor"), "\(refused.text)")
                let fork = try await Self.e2b(
                    client, token, .post, "/sandboxes/\(s.id)/fork", #"{"keeps": "processes"}"#)
                #expect(fork.status.code >= 400 && fork.text.contains("gVisor"), "\(fork.text)")
                // Without `keeps`, a runc sandbox's snapshot keeps its files, as before.
                let files = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/snapshots", "{}")
                #expect(files.status == .created, "\(files.text)")
                #expect(try await stack.store.snapshots().map(\.keeps) == [.files])
                // A pause of a runc sandbox stays in memory.
                let paused = try await Self.e2b(client, token, .post, "/sandboxes/\(s.id)/pause")
                #expect(paused.status == .noContent, "\(paused.text)")
                #expect(try await stack.sessions.get(s.id).state == .paused)
            }
        }
    }
}
