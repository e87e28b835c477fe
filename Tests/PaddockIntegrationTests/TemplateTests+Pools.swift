import Foundation
import PaddockConfig
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Warm pools per built template: sessions of the template are handed a warm sandbox with its files; a
/// rebuild moves the pool to the new version; a template with a pool cannot be removed under it.
extension TemplateTests {
    @Test func builtTemplatesHaveWarmPoolsThatFollowRebuilds() async throws {
        try await withTestStack("template-pool") { stack in
            let sessions = stack.sessions
            _ = try await sessions.buildTemplate(
                TemplateSpec(name: "warmapp", install: ["echo v1 > /srv/version"]), progress: Progress().callback)
            let status = try await sessions.setPool(provider: "local", template: "warmapp", size: 2)
            #expect(status.size == 2)
            await sessions.refillPools()
            #expect(try await sessions.pools().first { $0.template == "warmapp" }?.ready == 2)

            let claimed = try await sessions.create(SessionSpec(template: "warmapp"))
            #expect(claimed.start == "warm", "\(claimed.start ?? "-")")
            #expect(try await sessions.sh(claimed.id, "cat /srv/version").stdout == "v1\n")
            // A host-template session does not take a warmapp sandbox (and there is no host pool here).
            let host = try await sessions.create(SessionSpec())
            #expect(host.start?.hasPrefix("cold") == true)
            #expect(try await sessions.sh(host.id, "test -e /srv/version || echo absent").stdout == "absent\n")

            // A rebuild: the pool's old sandboxes are replaced by ones on the new version.
            _ = try await sessions.buildTemplate(
                TemplateSpec(name: "warmapp", install: ["echo v2 > /srv/version"]), progress: Progress().callback)
            await sessions.refillPools()
            #expect(try await sessions.pools().first { $0.template == "warmapp" }?.ready == 2)
            let fresh = try await sessions.create(SessionSpec(template: "warmapp"))
            #expect(fresh.start == "warm")
            #expect(try await sessions.sh(fresh.id, "cat /srv/version").stdout == "v2\n")
            // The session on v1 keeps its files while v1's layer is still mounted by it.
            #expect(try await sessions.sh(claimed.id, "cat /srv/version").stdout == "v1\n")

            // A template with a pool is not removed from under it; with the pool gone it is.
            await #expect(throws: PaddockError.self) { try await sessions.removeTemplate("warmapp") }
            _ = try await sessions.setPool(provider: "local", template: "warmapp", size: 0)
            await sessions.refillPools()
            #expect(await stack.provider.readyCount(template: "warmapp") == 0)
            try await sessions.removeTemplate("warmapp")
            // A pool for a template that does not exist is refused.
            await #expect(throws: PaddockError.self) {
                try await sessions.setPool(provider: "local", template: "nosuch", size: 1)
            }
        }
    }

    @Test func runtimeYmlTemplatePoolIsParsedAndChecked() throws {
        let config = try RuntimeConfig.parse(
            "version: 1\ntemplate: {base: host, install: [\"true\"], pool: {size: 3}}\n", file: "runtime.yml")
        #expect(config.template?.poolSize == 3)
        #expect(throws: (any Error).self) {
            try RuntimeConfig.parse("version: 1\ntemplate: {pool: {size: -1}}\n", file: "runtime.yml")
        }
        #expect(throws: (any Error).self) {
            try RuntimeConfig.parse("version: 1\ntemplate: {pool: {count: 2}}\n", file: "runtime.yml")
        }
    }
}
