import Foundation
import PaddockServices
import PaddockTestSupport
import Testing

/// `paddock policy check|explain`, through the real binary. Needs no sandbox.
struct PolicyCLITests {
    static let example = """
        version: 1
        name: monorepo-agent
        compute: {cpu: 2, memory: 2GiB, timeout: 30m}
        guardrails:
          commands: {default: allow, allow: [npm, git, pytest], ask: ["git push*"], deny: [rm, sudo]}
          network: {default: deny, allow: ["api.stripe.com", "*.github.com:443"]}
        """

    static func paddock(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestHost.paddockBinary)
        p.arguments = args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func write(_ text: String) throws -> String {
        let path = "/tmp/paddock-policy-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func checkPrintsTheEffectivePolicyWithOrigins() throws {
        let file = try Self.write(Self.example)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.paddock(["policy", "check", file])
        #expect(r.status == 0)
        #expect(r.out.contains("\(file): ok"))
        #expect(r.out.contains("commands: deny 'rm' (repository \(file):5:"))
    }

    @Test func checkReportsEveryErrorWithItsLineAndColumn() throws {
        let bad = Self.example.replacingOccurrences(of: "  commands:", with: "  comands:")
            .replacingOccurrences(of: "memory: 2GiB", with: "memory: 2 gigs")
        let file = try Self.write(bad)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.paddock(["policy", "check", file])
        #expect(r.status == 1)
        #expect(r.err.contains("\(file):3:27: compute.memory"))
        #expect(r.err.contains("\(file):5:3: unknown key 'comands' in guardrails; did you mean 'commands'?"))
    }

    @Test(arguments: [
        (["--", "git", "push", "origin", "main"], "ask by rule 'git push*'"),
        (["--", "/usr/bin/rm", "-rf", "/"], "deny by rule 'rm'"),
        (["--", "ls"], "allow by default"),
        (["--host", "api.github.com:443"], "allow by rule '*.github.com:443'"),
        (["--host", "api.github.com:80"], "deny by default"),
        (["--host", "evil.example"], "deny by default"),
    ])
    func explainNamesTheDecidingRule(args: [String], expected: String) throws {
        let file = try Self.write(Self.example)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Self.paddock(["policy", "explain", file] + args)
        #expect(r.status == 0)
        #expect(r.out.hasPrefix(expected), "\(r.out)\(r.err)")
    }

    @Test func aLowerLayerCannotLoosenAHigherOne() throws {
        let org = try Self.write("version: 1\nguardrails:\n  commands: {deny: [curl]}\n  network: {default: deny}\n")
        let repo = try Self.write("version: 1\nguardrails:\n  commands: {allow: [curl]}\n  network: {default: allow}\n")
        defer {
            try? FileManager.default.removeItem(atPath: org)
            try? FileManager.default.removeItem(atPath: repo)
        }
        let curl = try Self.paddock(["policy", "explain", repo, "--org", org, "--", "curl", "https://x"])
        #expect(curl.out.hasPrefix("deny by rule 'curl' (org"), "\(curl.out)")
        let net = try Self.paddock(["policy", "explain", repo, "--org", org, "--host", "example.com:443"])
        #expect(net.out.hasPrefix("deny"), "\(net.out)")
    }
}
