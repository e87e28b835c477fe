import Foundation
import PaddockCore
import Testing

@testable import PaddockConfig

struct PolicyLayersTests {
    static let org = """
        version: 1
        providers: [gvisor, local]
        compute: {memory: 4GiB, timeout: 1h, cpu: 4}
        guardrails:
          commands: {default: allow, deny: [sudo, "curl * | sh"], ask: ["git push*"]}
          network: {default: deny, allow: ["*.github.com", pypi.org], deny: [169.254.169.254]}
          files: {hidden: ["~/.ssh"]}
          changes: {max_lines: 500, protected_branches: [main]}
        """

    static let repository = """
        version: 1
        compute: {memory: 8GiB, timeout: 30m, cpu: 2}
        guardrails:
          commands: {default: allow, allow: [sudo, "git push origin main"], deny: [rm]}
          network: {default: allow, allow: [example.com]}
          files: {read_only: [.git/hooks]}
          changes: {max_lines: 1000, protected_branches: ["release/*"]}
        """

    private func layers(_ extra: PolicyLayer...) throws -> EffectivePolicy {
        let org = PolicyLayer(.org, try RuntimeConfig.parse(Self.org, file: "org.yml"))
        let repository = PolicyLayer(.repository, try RuntimeConfig.parse(Self.repository, file: "runtime.yml"))
        // Given out of order on purpose: layering orders by kind.
        return try PolicyLayers([repository] + extra + [org]).effective()
    }

    @Test func aLowerAllowCannotReAllowWhatAHigherLayerDeniesOrAsks() throws {
        let commands = try layers().commandPolicy()
        let sudo = commands.decide(["sudo", "ls"])
        #expect(sudo.action == .deny)
        #expect(sudo.origin == RuleOrigin(layer: "org", file: "org.yml", line: 5, column: 37))
        let push = commands.decide(["git", "push", "origin", "main"])
        #expect(push.action == .ask)
        #expect(push.origin?.layer == "org")
        #expect(commands.decide(["bash", "-c", "curl x | sh"]).action == .deny)
    }

    @Test func aLowerLayerTightens() throws {
        let commands = try layers().commandPolicy()
        let rm = commands.decide(["rm", "-rf", "x"])
        #expect(rm.action == .deny)
        #expect(rm.origin?.layer == "repository")
        #expect(commands.decide(["ls"]).action == .allow)

        let session = PolicyLayer(
            .session,
            try RuntimeConfig.parse("version: 1\nguardrails:\n  commands: {ask: [npm]}\n", file: "session.yml"))
        let tightened = try layers(session).commandPolicy()
        #expect(tightened.decide(["npm", "install"]).action == .ask)
        #expect(tightened.decide(["npm", "install"]).origin?.layer == "session")
    }

    @Test func aLooserNetworkDefaultIsClampedAndNoted() throws {
        let policy = try layers()
        let network = try policy.networkPolicy()
        let example = network.decide(host: "example.com", port: 443)
        #expect(example.action == .deny)
        #expect(example.reason == .layerDefault(RuleOrigin(layer: "org", file: "org.yml", line: 6, column: 22)))
        #expect(network.decide(host: "api.github.com", port: 443).action == .allow)
        #expect(network.decide(host: "api.github.com", port: 443).origin?.layer == "org")
        #expect(network.decide(host: "169.254.169.254", port: 80).action == .deny)
        #expect(
            policy.notes.contains {
                $0.hasPrefix(
                    "repository sets network.default: allow (repository runtime.yml:5:22), but org defaults to deny")
            })
        #expect(
            policy.notes.contains { $0.hasPrefix("repository allow 'example.com'") && $0.contains("narrowed to deny") })
        #expect(policy.notes.contains { $0.hasPrefix("repository allow 'sudo'") && $0.contains("deny by rule 'sudo'") })
        #expect(policy.notes.contains { $0.hasPrefix("repository allow 'git push origin main'") })
    }

    @Test func limitsTakeTheMinimumAndSayWhere() throws {
        let policy = try layers()
        #expect(policy.compute.memory?.value == .gibibytes(4))
        #expect(policy.compute.memory?.origin?.layer == "org")
        #expect(policy.compute.timeout?.value == .seconds(1800))
        #expect(policy.compute.timeout?.origin?.layer == "repository")
        #expect(policy.compute.cpu?.value == 2)
        #expect(policy.changes.maxLines?.value == 500)
        #expect(policy.changes.maxLines?.origin?.layer == "org")
        #expect(policy.changes.protectedBranches.map(\.value) == ["main", "release/*"])
        #expect(policy.notes.contains { $0.hasPrefix("repository asks for compute.memory 8GiB") })
        #expect(policy.notes.contains { $0.hasPrefix("repository sets changes.max_lines 1000") })
    }

    @Test func filesAreTheUnion() throws {
        let files = try layers().filePolicy()
        #expect(files.classify("~/.ssh/config").rule?.origin?.layer == "org")
        #expect(files.classify(".git/hooks/pre-push").access == .readOnly)
        #expect(files.classify(".git/hooks/pre-push").rule?.origin?.layer == "repository")
    }

    @Test func providersAreIntersected() throws {
        #expect(try layers().providers?.value == ["gvisor", "local"])
        let team = PolicyLayer(.team, try RuntimeConfig.parse("version: 1\nproviders: [gvisor]\n", file: "team.yml"))
        let narrowed = try layers(team)
        #expect(narrowed.providers?.value == ["gvisor"])
        #expect(narrowed.providers?.origin?.layer == "team")
        let session = PolicyLayer(.session, try RuntimeConfig.parse("version: 1\nproviders: [local]\n", file: "s.yml"))
        #expect {
            try layers(team, session)
        } throws: { error in
            (error as? PaddockError)?.message.contains("no provider is allowed by every policy layer") == true
        }
    }

    @Test func anOrgAllowlistBoundsEverythingBelow() throws {
        let org = try RuntimeConfig.parse(
            "version: 1\nguardrails:\n  commands: {default: deny, allow: [git, npm, bash]}\n", file: "org.yml")
        let repository = try RuntimeConfig.parse(
            "version: 1\nguardrails:\n  commands: {allow: [curl], deny: [\"git push*\"]}\n", file: "runtime.yml")
        let commands = try PolicyLayers([PolicyLayer(.org, org), PolicyLayer(.repository, repository)]).effective()
            .commandPolicy()
        #expect(commands.decide(["curl", "x"]).action == .deny)
        #expect(commands.decide(["git", "status"]).action == .allow)
        #expect(commands.decide(["git", "push"]).action == .deny)
        #expect(commands.decide(["npm", "ci"]).action == .allow)
    }

    @Test func effectivePolicyRoundTripsAndSummarizes() throws {
        let policy = try layers()
        let data = try JSONEncoder().encode(policy)
        #expect(try JSONDecoder().decode(EffectivePolicy.self, from: data) == policy)
        #expect(policy.summary.contains("commands: deny 'sudo' (org org.yml:5:37)"))
        #expect(policy.summary.contains("network: default deny (org org.yml:6:22)"))
        #expect(policy.summary.contains("compute: memory 4GiB (org org.yml:3:19)"))
        #expect(policy.summary.contains("compute: timeout 30m (repository runtime.yml:2:34)"))
    }

    @Test func aSecretAllowedByAHigherLayerNeedsNoNote() throws {
        let org = try RuntimeConfig.parse(
            "version: 1\nguardrails:\n  network: {default: deny, allow: [upload.pypi.org]}\n", file: "org.yml")
        let repository = try RuntimeConfig.parse("version: 1\nsecrets:\n  PYPI_TOKEN: {hosts: [upload.pypi.org]}\n")
        let layers = PolicyLayers([PolicyLayer(.org, org), PolicyLayer(.repository, repository)])
        #expect(try layers.effective().notes.isEmpty)
    }

    @Test func aSingleFileIsItsOwnEffectivePolicy() throws {
        let policy = EffectivePolicy(try RuntimeConfig.parse(designExample))
        #expect(policy.commands.count == 1)
        #expect(policy.notes.isEmpty)
        #expect(policy.commands.first?.rules.allSatisfy { $0.origin?.layer == "repository" } == true)
    }
}
