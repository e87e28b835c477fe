import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore
import PaddockTestSupport
import Testing

/// No request can take the server down or poison its state: every input the API takes is bounded, refused
/// with a 4xx that names the field and the limit, and leaves nothing behind.
struct InputRobustnessTests {
    struct Refusal: Sendable, CustomStringConvertible {
        var body: String
        var status: HTTPResponse.Status = .badRequest
        var mentions: [String]
        var description: String { String(body.prefix(80)) }
    }

    static let createRefusals: [Refusal] = [
        Refusal(body: #"{"ttl": "nan"}"#, mentions: ["ttl", "not a duration"]),
        Refusal(body: #"{"ttl": "inf"}"#, mentions: ["ttl", "not a duration"]),
        Refusal(body: #"{"ttl": "1e309"}"#, mentions: ["ttl", "not a duration"]),
        Refusal(body: #"{"ttl": "99999999999999999999d"}"#, mentions: ["ttl", "maximum", "36500d"]),
        Refusal(body: #"{"ttl": "3000000d"}"#, mentions: ["ttl", "maximum", "36500d"]),
        Refusal(body: #"{"ttl": "100000000h"}"#, mentions: ["ttl", "maximum"]),
        Refusal(body: #"{"idle": "nan"}"#, mentions: ["idle", "not a duration"]),
        Refusal(body: #"{"idle": "1e309"}"#, mentions: ["idle"]),
        Refusal(body: #"{"idle": "99999999999999999999d"}"#, mentions: ["idle", "maximum"]),
        Refusal(body: #"{"cpus": 0.0001}"#, mentions: ["cpus", "0.01"]),
        Refusal(body: #"{"cpus": 0.009}"#, mentions: ["cpus", "0.01"]),
        // Out of Double's range: Foundation refuses the whole body before any field is seen.
        Refusal(body: #"{"cpus": 1e309}"#, mentions: ["not valid"]),
        Refusal(body: #"{"pids": 1.5}"#, mentions: ["pids must be a whole number"]),
        Refusal(body: #"{"pids": 99999999999999999999}"#, mentions: ["pids must be a whole number"]),
        Refusal(body: #"{"workdir": "/work\u0000space"}"#, mentions: ["workdir", "NUL"]),
        Refusal(body: #"{"workdir": "/proc/1/root"}"#, mentions: ["workdir", "/proc"]),
        Refusal(body: #"{"workdir": "/sys"}"#, mentions: ["workdir", "/sys"]),
        Refusal(body: #"{"workdir": "/dev/shm"}"#, mentions: ["workdir", "/dev"]),
        Refusal(body: #"{"workdir": "workspace"}"#, mentions: ["workdir", "absolute"]),
        Refusal(body: #"{"workdir": "/workspace/../proc/self"}"#, mentions: ["workdir", ".."]),
        Refusal(body: #"{"name": "a\u0000b"}"#, mentions: ["name", "NUL"]),
        Refusal(body: #"{"name": "\#(String(repeating: "n", count: 1_000_000))"}"#, mentions: ["name", "200 bytes"]),
        Refusal(body: #"{"env": {"A=B": "x"}}"#, mentions: ["env", "A=B"]),
        Refusal(body: #"{"env": {"A": "x\u0000"}}"#, mentions: ["env", "NUL"]),
        Refusal(
            body: #"{"env": {"BIG": "\#(String(repeating: "v", count: 1_000_000))"}}"#, mentions: ["env", "131071"]),
        Refusal(body: envBody(count: 5000), mentions: ["env", "at most 1000"]),
        Refusal(body: envBody(count: 100_000), status: .contentTooLarge, mentions: ["over the limit", "1MiB"]),
        Refusal(
            body: #"{"name": "\#(String(repeating: "n", count: 2 << 20))"}"#, status: .contentTooLarge,
            mentions: ["over the limit"]),
    ]

    static func envBody(count: Int) -> String {
        "{\"env\": {" + (0..<count).map { "\"V\($0)\": \"x\"" }.joined(separator: ",") + "}}"
    }

    @Test(arguments: createRefusals)
    func createRefusesBadInputWithTheFieldAndTheLimit(refusal: Refusal) async throws {
        try await FakeStack.with("refuse-create") { stack, v1, _ in
            try await v1.execute(
                uri: "/v1/sessions", method: .post, headers: stack.auth, body: ByteBuffer(string: refusal.body)
            ) { r in
                #expect(r.status == refusal.status, "\(r.text)")
                for fragment in refusal.mentions { #expect(r.text.contains(fragment), "\(r.text)") }
            }
            // Nothing half-created: no row in any state, no sandbox.
            #expect(try await stack.sessions.list(includeEnded: true).isEmpty)
            #expect(await stack.fake.sandboxes.isEmpty)
        }
    }

    static let execRefusals: [Refusal] = [
        Refusal(body: #"{"cmd": ["true"], "timeout": "nan"}"#, mentions: ["timeout", "not a duration"]),
        Refusal(body: #"{"cmd": ["true"], "timeout": "99999999999999999999d"}"#, mentions: ["timeout", "maximum"]),
        Refusal(body: #"{"cmd": ["true"], "env": {"A=B": "x"}}"#, mentions: ["env", "A=B"]),
        Refusal(body: #"{"cmd": ["true"], "env": {"A": "\u0000"}}"#, mentions: ["env", "NUL"]),
        Refusal(body: #"{"cmd": ["true"], "cwd": "/proc/1/root"}"#, mentions: ["cwd", "/proc"]),
        Refusal(body: #"{"cmd": ["true"], "cwd": "/a\u0000b"}"#, mentions: ["cwd", "NUL"]),
        Refusal(body: #"{"cmd": ["true"], "cwd": "../.."}"#, mentions: ["cwd", ".."]),
        Refusal(
            body: #"{"cmd": ["echo", "\#(String(repeating: "a", count: 500_000))"]}"#, mentions: ["cmd[1]", "131071"]),
        Refusal(body: #"{"cmd": ["echo", "a\u0000b"]}"#, mentions: ["cmd[1]", "NUL"]),
        Refusal(body: #"{"cmd": []}"#, mentions: ["cmd is empty"]),
        Refusal(body: #"{"cmd": ["true"], "tty": {"rows": 70000, "cols": 1}}"#, mentions: ["rows"]),
    ]

    @Test(arguments: execRefusals)
    func execRefusesBadInputLikeCreate(refusal: Refusal) async throws {
        try await FakeStack.with("refuse-exec") { stack, v1, _ in
            let session = try await stack.session()
            try await v1.execute(
                uri: "/v1/sessions/\(session.id)/exec", method: .post, headers: stack.auth,
                body: ByteBuffer(string: refusal.body)
            ) { r in
                #expect(r.status == refusal.status, "\(r.text)")
                for fragment in refusal.mentions { #expect(r.text.contains(fragment), "\(r.text)") }
            }
            // A good command still runs.
            try await v1.execute(
                uri: "/v1/sessions/\(session.id)/exec", method: .post, headers: stack.auth,
                body: ByteBuffer(string: #"{"cmd": ["echo", "ok"], "timeout": "10s"}"#)
            ) { r in
                #expect(r.status == .ok)
                #expect(r.text.contains(#""type":"exit""#))
            }
        }
    }

    @Test func filePathsWithNULAreRefused() async throws {
        try await FakeStack.with("refuse-files") { stack, v1, _ in
            let session = try await stack.session()
            try await v1.execute(
                uri: "/v1/sessions/\(session.id)/files?path=/tmp/a%00b", method: .put, headers: stack.auth,
                body: ByteBuffer(string: "x")
            ) { r in
                #expect(r.status == .badRequest)
                #expect(r.text.contains("path") && r.text.contains("NUL"), "\(r.text)")
            }
        }
    }

    @Test func tokenExpiriesAreBoundedAndTheTokenListKeepsWorking() async throws {
        try await FakeStack.with("refuse-token") { stack, v1, _ in
            for expires in ["3000000d", "nan", "1e309", "0s"] {
                try await v1.execute(
                    uri: "/v1/tokens", method: .post, headers: stack.auth,
                    body: ByteBuffer(string: #"{"name": "t", "expires_in": "\#(expires)"}"#)
                ) { r in
                    #expect(r.status == .badRequest, "\(expires): \(r.text)")
                    #expect(r.text.contains("expires_in"), "\(r.text)")
                }
            }
            try await v1.execute(uri: "/v1/tokens", method: .get, headers: stack.auth) { r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test func e2bTimeoutsAndEnvironmentAreBounded() async throws {
        try await FakeStack.with("refuse-e2b") { stack, _, e2b in
            for body in [
                #"{"templateID": "base", "timeout": 400000000000}"#, #"{"templateID": "base", "timeout": -5}"#,
                #"{"templateID": "base", "timeout": 1.5}"#, #"{"templateID": "base", "envVars": {"A=B": "x"}}"#,
                #"{"templateID": "base", "envVars": {"A": "\u0000"}}"#,
            ] {
                try await e2b.execute(
                    uri: "/sandboxes", method: .post, headers: stack.e2bAuth, body: ByteBuffer(string: body)
                ) { r in
                    #expect(r.status == .badRequest, "\(body): \(r.text)")
                    #expect(r.text.contains("timeout") || r.text.contains("envVars"), "\(r.text)")
                }
            }
            #expect(try await stack.sessions.list(includeEnded: true).isEmpty)
            let id = try await e2b.execute(
                uri: "/sandboxes", method: .post, headers: stack.e2bAuth,
                body: ByteBuffer(string: #"{"templateID": "base", "timeout": 60}"#)
            ) { r in
                #expect(r.status == .created, "\(r.text)")
                let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                return try #require(json?["sandboxID"] as? String)
            }
            for path in ["/sandboxes/\(id)/timeout", "/sandboxes/\(id)/connect"] {
                try await e2b.execute(
                    uri: path, method: .post, headers: stack.e2bAuth,
                    body: ByteBuffer(string: #"{"timeout": 400000000000}"#)
                ) { r in
                    #expect(r.status == .badRequest, "\(path): \(r.text)")
                    #expect(r.text.contains("timeout") && r.text.contains("maximum"), "\(r.text)")
                }
            }
            try await e2b.execute(
                uri: "/sandboxes/\(id)/fork", method: .post, headers: stack.e2bAuth,
                body: ByteBuffer(string: #"{"timeout": 400000000000}"#)
            ) { r in
                #expect(r.status == .badRequest, "\(r.text)")
            }
            // Exec through envd gets the same checks as /v1.
            var envd = stack.e2bAuth
            if let header = HTTPField.Name("e2b-sandbox-id") { envd[header] = id }
            try await e2b.execute(
                uri: "/process.Process/Start", method: .post, headers: envd,
                body: ByteBuffer(string: #"{"process": {"cmd": "true", "cwd": "/proc/1/root"}}"#)
            ) { r in
                #expect(r.status == .badRequest, "\(r.text)")
                #expect(r.text.contains("cwd"), "\(r.text)")
            }
            try await e2b.execute(uri: "/v2/sandboxes", method: .get, headers: stack.e2bAuth) { r in
                #expect(r.status == .ok)
            }
            // The only session is the good one; no fork or refused create left anything.
            #expect(try await stack.sessions.list(includeEnded: true).map(\.id.rawValue) == [id])
            #expect(try await stack.leftovers().isEmpty)
        }
    }

    @Test func e2bBodiesOverTheLimitAre413() async throws {
        try await FakeStack.with("e2b-413") { stack, _, e2b in
            let big = #"{"templateID": "base", "metadata": {"k": ""# + String(repeating: "v", count: 2 << 20) + "\"}}"
            try await e2b.execute(
                uri: "/sandboxes", method: .post, headers: stack.e2bAuth, body: ByteBuffer(string: big)
            ) { r in
                #expect(r.status == .contentTooLarge, "\(r.text.prefix(200))")
            }
        }
    }

    /// A session or token row whose date cannot be read back (past year 9999, as the unbounded API once wrote)
    /// is skipped by lists and logged; the lists, the reaper and a restart's recovery keep working.
    @Test func unreadableRowsNeverTakeDownAList() async throws {
        try await FakeStack.with("bad-rows") { stack, v1, _ in
            let good = try await stack.session()
            let farFuture = Date(timeIntervalSince1970: 300_000_000_000)  // year ~11476
            let bad = Session(
                id: .random(), state: .running, spec: SessionSpec(name: "bad"), createdAt: Date(), updatedAt: Date(),
                expiresAt: farFuture)
            try await stack.store.insertSession(bad)
            _ = try await stack.tokens.issue(name: "bad", expiresAt: farFuture)

            try await v1.execute(uri: "/v1/sessions?all=true", method: .get, headers: stack.auth) { r in
                #expect(r.status == .ok, "\(r.text)")
                #expect(r.text.contains(good.id.rawValue))
            }
            try await v1.execute(uri: "/v1/tokens", method: .get, headers: stack.auth) { r in
                #expect(r.status == .ok, "\(r.text)")
            }
            try await v1.execute(uri: "/v1/sessions/\(bad.id)", method: .get, headers: stack.auth) { r in
                #expect(r.status.code >= 400, "\(r.text)")
            }
            await stack.sessions.reapExpired()
            try await stack.sessions.recover()
            #expect(try await stack.sessions.get(good.id).state == .running)
        }
    }
}
