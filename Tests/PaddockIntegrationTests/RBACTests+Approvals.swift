import Foundation
import HTTPTypes
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

/// Approvals, snapshots and the E2B-compatible API follow the team of the session they belong to, like the
/// session routes: another team's request, snapshot or sandbox answers as if it did not exist, and answering
/// a request needs `approve` on its team.
extension RBACTests {
    @Test func approvalsAreAnsweredAndListedOnlyWithinTheSessionsTeam() async throws {
        try await Self.withOrg { org in
            let sa = try org.id("sa")
            let sb = try org.id("sb")
            let approvals = org.service.guardrails.approvals
            async let answerA = approvals.request(
                session: sa, kind: "network", subject: "example.com:443", rule: "ask by rule 'example.com'")
            async let answerB = approvals.request(
                session: sb, kind: "exec", subject: "git push", rule: "ask by rule 'git push*'")
            var open: [Approval] = []
            for _ in 0..<200 where open.count < 2 {
                open = try await approvals.list(session: nil, includeAnswered: false)
                try await Task.sleep(for: .milliseconds(10))
            }
            let a = try #require(open.first { $0.session == sa })
            let b = try #require(open.first { $0.session == sb })

            func listed(_ user: String) async throws -> Set<String> {
                let r = try await Self.call(org, .get, "/v1/approvals", as: try org.token(user))
                let body = try APICoding.decoder().decode(ApprovalListBody.self, from: Data(r.body.readableBytesView))
                return Set(body.approvals.map(\.id))
            }
            #expect(try await listed("alice") == [a.id])
            #expect(try await listed("bob") == [b.id])
            #expect(try await listed("carol") == [a.id, b.id])
            #expect(try await listed("dan") == [])
            #expect(try await listed("owner") == [a.id, b.id])

            // Another team's request is hidden; a viewer may see but not answer; a member answers.
            for (user, status) in [("bob", HTTPResponse.Status.notFound), ("ann", .notFound), ("vic", .forbidden)] {
                let r = try await Self.call(
                    org, .post, "/v1/approvals/\(a.id)/approve", as: try org.token(user))
                #expect(r.status == status, "\(user): \(r.status) \(r.message)")
            }
            #expect(
                try await Self.call(org, .get, "/v1/approvals/\(a.id)", as: try org.token("vic")).status
                    == .ok)
            #expect(
                try await Self.call(org, .get, "/v1/approvals/\(a.id)", as: try org.token("bob")).status
                    == .notFound)
            let ok = try await Self.call(
                org, .post, "/v1/approvals/\(a.id)/approve", as: try org.token("alice"))
            #expect(ok.status == .ok, "\(ok.message)")
            let denied = try await Self.call(
                org, .post, "/v1/approvals/\(b.id)/deny", as: try org.token("bob"))
            #expect(denied.status == .ok, "\(denied.message)")
            #expect(await answerA.state == .approved)
            #expect(await answerA.decidedBy == "alice")
            #expect(await answerB.state == .denied)
        }
    }

    @Test func snapshotsBelongToTheirSessionsTeam() async throws {
        try await Self.withOrg { org in
            let sa = try org.id("sa")
            let snapshot = Snapshot(
                id: Snapshot.newID(), name: "team-a-base", session: sa, provider: "local", template: "host",
                layer: "layer-x", bytes: 10, entries: 1, createdAt: Date())
            try await org.store.insertSnapshot(snapshot)
            for (user, visible) in [("alice", true), ("vic", true), ("bob", false), ("dan", false), ("owner", true)] {
                let r = try await Self.call(org, .get, "/v1/snapshots", as: try org.token(user))
                let body = try APICoding.decoder().decode(SnapshotListBody.self, from: Data(r.body.readableBytesView))
                #expect(body.snapshots.map(\.id) == (visible ? [snapshot.id] : []), "\(user)")
                let one = try await Self.call(
                    org, .get, "/v1/snapshots/team-a-base", as: try org.token(user))
                #expect(one.status == (visible ? .ok : .notFound), "\(user): \(one.status)")
            }
            // Removing needs write on the team; another team cannot even see it.
            #expect(
                try await Self.call(org, .delete, "/v1/snapshots/\(snapshot.id)", as: try org.token("vic"))
                    .status == .forbidden)
            #expect(
                try await Self.call(org, .delete, "/v1/snapshots/\(snapshot.id)", as: try org.token("bob"))
                    .status == .notFound)
            // Starting a session from another team's snapshot is refused before anything is created.
            let before = try await org.store.sessions(includeTerminal: true).count
            let r = try await Self.call(
                org, .post, "/v1/sessions", as: try org.token("bob"), json: #"{"snapshot": "team-a-base"}"#)
            #expect(r.status == .notFound, "\(r.status) \(r.message)")
            #expect(try await org.store.sessions(includeTerminal: true).count == before)
            #expect(try await org.store.snapshot(snapshot.id) != nil)
        }
    }

    @Test func theE2BAPIFollowsTeamsToo() async throws {
        try await Self.withOrg { org in
            let sa = try org.id("sa").rawValue
            let router = buildE2BRouter(sessions: org.service, tokens: org.tokenService, configuration: .init())
            try await Application(router: router).test(.router) { client async throws in
                #expect(try await Self.listed(client, org, "alice") == [sa])
                #expect(try await Self.listed(client, org, "bob") == [try org.id("sb").rawValue])
                #expect(try await Self.e2b(client, org, .get, "/sandboxes/\(sa)", "alice") == .ok)
                #expect(try await Self.e2b(client, org, .get, "/sandboxes/\(sa)", "vic") == .ok)
                #expect(try await Self.e2b(client, org, .get, "/sandboxes/\(sa)", "bob") == .notFound)
                #expect(try await Self.e2b(client, org, .delete, "/sandboxes/\(sa)", "bob") == .notFound)
                #expect(try await Self.e2b(client, org, .delete, "/sandboxes/\(sa)", "vic") == .forbidden)
                // In-sandbox traffic (envd) needs write on the sandbox's team.
                let rpc = "/process.Process/List"
                #expect(try await Self.e2b(client, org, .post, rpc, "bob", sandbox: sa) == .badGateway)
                #expect(try await Self.e2b(client, org, .post, rpc, "vic", sandbox: sa) == .forbidden)
                #expect(try await org.store.session(try org.id("sa"))?.state == .running)
                #expect(try await Self.e2b(client, org, .delete, "/sandboxes/\(sa)", "alice") == .noContent)
                #expect(try await org.store.session(try org.id("sa"))?.state == .destroyed)
            }
        }
    }

    static func e2b(
        _ client: some TestClientProtocol, _ org: Org, _ method: HTTPRequest.Method, _ uri: String, _ user: String,
        sandbox: String? = nil
    ) async throws -> HTTPResponse.Status {
        var headers: HTTPFields = [:]
        headers[try #require(HTTPField.Name("X-API-KEY"))] = try org.token(user)
        if let sandbox {
            headers[try #require(HTTPField.Name("E2b-Sandbox-Id"))] = sandbox
            headers[.contentType] = "application/json"
        }
        return try await client.execute(
            uri: uri, method: method, headers: headers, body: sandbox == nil ? nil : ByteBuffer(string: "{}")
        ) { $0.status }
    }

    static func listed(_ client: some TestClientProtocol, _ org: Org, _ user: String) async throws -> [String] {
        var headers: HTTPFields = [:]
        headers[try #require(HTTPField.Name("X-API-KEY"))] = try org.token(user)
        return try await client.execute(uri: "/v2/sandboxes", method: .get, headers: headers) { r in
            let list = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]]
            return (list ?? []).compactMap { $0["sandboxID"] as? String }
        }
    }
}

extension RBACTests.Org {
    func token(_ user: String) throws -> String {
        guard let token = tokens[user] else { throw PaddockError.notFound("no token for \(user) in the test org") }
        return token
    }

    func id(_ label: String) throws -> SessionID {
        guard let raw = sessions[label], let id = SessionID(rawValue: raw) else {
            throw PaddockError.notFound("no session \(label) in the test org")
        }
        return id
    }
}
