import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// The `/v1` API in-process, through the same router production serves.
struct APITests {
    /// A router over a real SQLite file. With `stack`, real sandboxes; without, no providers at all.
    static func withApp(
        stack: TestStack? = nil, maxUpload: Int = 1 << 20,
        _ body: @Sendable (any TestClientProtocol, String) async throws -> Void
    ) async throws {
        let dir = stack?.dataDirectory ?? TestHost.makeDataDirectory("api")
        defer { if stack == nil { TestHost.removeDataDirectory(dir) } }
        let store = try stack?.store ?? SQLiteStore(path: dir + "/paddock.sqlite")
        let sessions =
            stack?.sessions ?? SessionService(store: store, providers: [:], logger: TestHost.quietLogger("api"))
        let tokens = TokenService(store: store)
        let token = try await tokens.issue(name: "test")
        let router = buildRouter(
            sessions: sessions, tokens: tokens, configuration: ServerConfiguration(maxUploadBytes: maxUpload))
        let app = Application(router: router)
        try await app.test(.router) { client in try await body(client, token) }
    }

    static func error(_ buffer: ByteBuffer) throws -> ErrorBody {
        try APICoding.decoder().decode(ErrorBody.self, from: Data(buffer.readableBytesView))
    }

    static func json(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try APICoding.encoder().encode(value))
    }

    @Test func healthIsOpenAndEverythingElseNeedsAToken() async throws {
        try await Self.withApp { client, token in
            // Liveness only: an unauthenticated caller learns nothing about sessions, versions or the host.
            try await client.execute(uri: "/v1/health", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .unauthorized || r.status == .notFound)
            }
            try await client.execute(uri: "/v1/sessions", method: .get) { r in
                #expect(r.status == .unauthorized)
                let e = try Self.error(r.body)
                #expect(e.error.code == "unauthenticated")
                #expect(e.error.message.contains("PADDOCK_TOKEN"))
            }
            try await client.execute(uri: "/v1/sessions", method: .get, headers: [.authorization: "Bearer pdk_wrong"]) {
                r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/sessions", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test(arguments: [
        (#"{"memory": "lots"}"#, "memory"),
        (#"{"cpus": "two"}"#, "cpus"),
        (#"{"ttl": "soon"}"#, "duration"),
        (#"{"env": {"A=B": "x"}}"#, "environment variable"),
        (#"{"provider": "nowhere"}"#, "provider"),
        (#"not json"#, "JSON"),
        (#"{"pids": 1}"#, "pids"),
    ])
    func badCreateRequestsAreClearErrors(body: String, mentions: String) async throws {
        try await Self.withApp { client, token in
            try await client.execute(
                uri: "/v1/sessions", method: .post,
                headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                body: ByteBuffer(string: body)
            ) { r in
                #expect(r.status == .badRequest)
                let e = try Self.error(r.body)
                #expect(e.error.code == "invalid_argument")
                #expect(e.error.message.contains(mentions), "\(e.error.message)")
            }
            // Nothing half-created.
            try await client.execute(
                uri: "/v1/sessions?all=true", method: .get, headers: [.authorization: "Bearer \(token)"]
            ) { r in
                let list = try APICoding.decoder().decode(SessionListBody.self, from: Data(r.body.readableBytesView))
                #expect(list.sessions.isEmpty)
            }
        }
    }

    @Test(arguments: ["/v1/sessions/abc123", "/v1/sessions/abc123/stats", "/v1/sessions/NOT-AN-ID"])
    func unknownSessionsAre404(path: String) async throws {
        try await Self.withApp { client, token in
            try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)"]) { r in
                #expect(r.status == .notFound)
                let err = try Self.error(r.body)
                #expect(err.error.code == "not_found")
            }
        }
    }

    @Test(.needsSandboxes) func sessionCrudAndStreamingExecOverHTTP() async throws {
        try await withTestStack("api-exec") { stack in
            try await Self.withApp(stack: stack) { client, token in
                let auth: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                let created = try await client.execute(
                    uri: "/v1/sessions", method: .post, headers: auth,
                    body: try Self.json(
                        CreateSessionBody(name: "api", env: ["SECRET_TOKEN": "value-never-returned"], ttl: "10m"))
                ) { r in
                    #expect(r.status == .created)
                    #expect(!String(buffer: r.body).contains("value-never-returned"))
                    return try APICoding.decoder().decode(SessionBody.self, from: Data(r.body.readableBytesView))
                }
                #expect(created.state == "running" && created.envKeys == ["SECRET_TOKEN"] && created.expiresAt != nil)

                try await client.execute(
                    uri: "/v1/sessions/\(created.id)/exec", method: .post, headers: auth,
                    body: try Self.json(ExecBody(cmd: ["sh", "-c", "echo out; echo err >&2; exit 7"]))
                ) { r in
                    #expect(r.status == .ok)
                    let events = String(buffer: r.body).split(separator: "\n").compactMap {
                        try? APICoding.decoder().decode(ExecEventBody.self, from: Data($0.utf8))
                    }
                    #expect(events.first?.type == .started)
                    #expect(
                        events.contains { $0.type == .stdout && $0.data == Data("out\n".utf8).base64EncodedString() })
                    #expect(
                        events.contains { $0.type == .stderr && $0.data == Data("err\n".utf8).base64EncodedString() })
                    #expect(events.last == ExecEventBody(type: .exit, code: 7, oomKilled: false, timedOut: false))
                }
                try await client.execute(
                    uri: "/v1/sessions/\(created.id)/exec", method: .post, headers: auth,
                    body: try Self.json(ExecBody(cmd: ["sleep", "30"], timeout: "300ms"))
                ) { r in
                    let last = String(buffer: r.body).split(separator: "\n").last.map { String($0) } ?? ""
                    let exit = try APICoding.decoder().decode(ExecEventBody.self, from: Data(last.utf8))
                    #expect(exit.type == .exit && exit.code == 124 && exit.timedOut == true)
                }
                try await client.execute(
                    uri: "/v1/sessions/\(created.id)/exec", method: .post, headers: auth,
                    body: try Self.json(ExecBody(cmd: ["no-such-program"]))
                ) { r in
                    #expect(r.status == .notFound)
                    let err = try Self.error(r.body)
                    #expect(err.error.message.contains("no-such-program"))
                }
                try await client.execute(uri: "/v1/sessions/\(created.id)", method: .delete, headers: auth) { r in
                    #expect(r.status == .ok)
                }
                try await client.execute(
                    uri: "/v1/sessions/\(created.id)/exec", method: .post, headers: auth,
                    body: try Self.json(ExecBody(cmd: ["true"]))
                ) { r in
                    #expect(r.status == .conflict)
                }
            }
        }
    }

    @Test(.needsSandboxes) func filesUploadDownloadAndOversizedUploadsLeaveNothing() async throws {
        try await withTestStack("api-files") { stack in
            try await Self.withApp(stack: stack, maxUpload: 64 * 1024) { client, token in
                let auth: HTTPFields = [.authorization: "Bearer \(token)"]
                let s = try await stack.sessions.create(SessionSpec())
                try await client.execute(
                    uri: "/v1/sessions/\(s.id)/files?path=notes/hello.txt&mode=600", method: .put, headers: auth,
                    body: ByteBuffer(string: "hi there\n")
                ) { r in
                    #expect(r.status == .created)
                    let info = try APICoding.decoder().decode(FileInfoBody.self, from: Data(r.body.readableBytesView))
                    #expect(info.path == "/workspace/notes/hello.txt" && info.size == 9 && info.mode == "600")
                }
                try await client.execute(
                    uri: "/v1/sessions/\(s.id)/files?path=/workspace/notes/hello.txt", method: .get, headers: auth
                ) { r in
                    #expect(r.status == .ok)
                    #expect(String(buffer: r.body) == "hi there\n")
                }
                #expect(try await stack.sessions.sh(s.id, "cat notes/hello.txt").stdout == "hi there\n")
                try await client.execute(
                    uri: "/v1/sessions/\(s.id)/files?path=big.bin", method: .put, headers: auth,
                    body: ByteBuffer(repeating: 7, count: 200 * 1024)
                ) { r in
                    #expect(r.status == .contentTooLarge)
                    let err = try Self.error(r.body)
                    #expect(err.error.code == "payload_too_large")
                }
                let leftover = try await stack.sessions.sh(s.id, "ls -A /workspace")
                #expect(leftover.stdout == "notes\n", "no partial upload: \(leftover.stdout)")
                try await client.execute(
                    uri: "/v1/sessions/\(s.id)/files?path=missing.txt", method: .get, headers: auth
                ) { r in
                    #expect(r.status == .notFound)
                }
                try await client.execute(
                    uri: "/v1/sessions/\(s.id)/files/list?path=/workspace&depth=2", method: .get, headers: auth
                ) { r in
                    let list = try APICoding.decoder().decode(FileListBody.self, from: Data(r.body.readableBytesView))
                    #expect(list.entries.map(\.path) == ["/workspace/notes", "/workspace/notes/hello.txt"])
                }
            }
        }
    }
}
