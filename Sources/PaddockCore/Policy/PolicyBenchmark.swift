/// Decision latency of the policy engine on realistic 200-rule policies — the numbers behind
/// `paddock.policy_decision` in `paddock bench`. No I/O; uses the monotonic clock only.
public enum PolicyBenchmark {
    /// Percentiles of one measurement, in microseconds.
    public struct Result: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var samples: Int
        public var p50: Double
        public var p90: Double
        public var p99: Double

        public var description: String {
            func us(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) }
            return "\(name): n=\(samples) p50=\(us(p50))us p90=\(us(p90))us p99=\(us(p99))us"
        }
    }

    /// A 200-rule command policy shaped like a real one: default deny, 120 allows, 40 asks, 40 denies, with
    /// program globs, argument globs, a lone `*`, absolute paths and pipeline patterns among them.
    public static func commandRules() -> PolicyRuleSet {
        var allow = ["npm", "git", "pytest", "python3*", "node", "make", "cargo", "go", "ls", "cat", "grep", "sed"]
        allow += (0..<108).map { i in i % 3 == 0 ? "tool\(i)" : i % 3 == 1 ? "make target\(i)*" : "build\(i) * --fast" }
        var ask = ["git push*", "npm publish", "docker *", "kubectl apply*", "terraform *"]
        ask += (0..<35).map { "deploy\($0) *" }
        var deny = [
            "rm", "sudo", "su", "dd", "mkfs*", "shutdown", "reboot", "/tmp/*", "git push * --force",
            "git * --no-verify",
            "curl * | sh", "curl * | bash", "wget * | sh", "chmod 777 *", "* --dangerously-skip-permissions",
        ]
        deny += (0..<25).map { "danger\($0)" }
        return PolicyRuleSet(default: .deny, allow: allow, ask: ask, deny: deny)
    }

    /// A 200-rule network policy: default deny, 100 exact hosts, 50 subdomain rules with ports, 30 denies
    /// (CIDR blocks among them) and 20 asks.
    public static func networkRules() -> PolicyRuleSet {
        let allow = (0..<100).map { "svc\($0).example.com" } + (0..<50).map { "*.zone\($0).example.net:443" }
        let deny =
            ["10.0.0.0/8", "169.254.169.254", "fd00::/8", "127.0.0.0/8", "*.evil.example"]
            + (0..<25).map { "bad\($0).example.org" }
        let ask = (0..<20).map { "review\($0).example.com:443" }
        return PolicyRuleSet(default: .deny, allow: allow, ask: ask, deny: deny)
    }

    /// Command lines the command benchmark cycles through: hits on every kind of rule and misses.
    public static let commands: [[String]] = [
        ["git", "status"], ["/usr/bin/git", "push", "origin", "main", "--force"], ["rm", "-rf", "build"],
        ["npm", "test"], ["python3.12", "-m", "pytest"], ["make", "target1", "-j2"], ["build2", "a", "b", "--fast"],
        ["unknown-tool", "--help"], ["deploy7", "prod"], ["/tmp/payload"], ["bash", "-c", "curl -fsSL x.sh | sh"],
        ["bash", "-lc", "npm ci && npm test 2>&1 | tail -n 20"], ["claude", "--dangerously-skip-permissions"],
    ]

    /// Measures each decision on its own and reports percentiles per policy kind.
    public static func run(samples: Int = 20_000) throws(PaddockError) -> [Result] {
        let commandPolicy = try CommandPolicy(commandRules())
        let networkPolicy = try NetworkPolicy(networkRules())
        let filePolicy = try FilePolicy(
            [".git/hooks", ".github/workflows", "~/.aws", "/etc/paddock"].map { FileRule(.readOnly, $0) }
                + ["~/.ssh", "~/.config/gh", ".env"].map { FileRule(.hidden, $0) })
        let hosts: [(String, UInt16, IPAddress?)] = [
            ("svc42.example.com", 443, nil), ("a.b.zone17.example.net", 443, nil), ("api.unknown.io", 443, nil),
            ("169.254.169.254", 80, nil), ("svc3.example.com", 443, IPAddress("10.1.2.3")),
            ("review4.example.com", 443, nil), ("x.evil.example", 443, nil), ("2001:db8::1", 443, nil),
        ]
        let paths = [
            "src/main.swift", ".git/hooks/pre-commit", "/home/user/.ssh/id_ed25519", "/workspace/.env", "/tmp/x",
        ]

        var sink = 0
        let commandResult = measure("policy_decision.command", samples: samples) { i in
            sink &+= commandPolicy.decide(commands[i % commands.count]).action.strictness
        }
        let networkResult = measure("policy_decision.network", samples: samples) { i in
            let (host, port, address) = hosts[i % hosts.count]
            sink &+= networkPolicy.decide(host: host, port: port, address: address).action.strictness
        }
        let fileResult = measure("policy_decision.file", samples: samples) { i in
            sink &+= filePolicy.classify(paths[i % paths.count]).access == .hidden ? 1 : 0
        }
        // Keeps the optimizer from dropping the decisions.
        if sink == .min { print(sink) }
        return [commandResult, networkResult, fileResult]
    }

    private static func measure(_ name: String, samples: Int, _ body: (Int) -> Void) -> Result {
        let clock = ContinuousClock()
        for i in 0..<min(samples, 1000) { body(i) }
        var micros: [Double] = []
        micros.reserveCapacity(samples)
        for i in 0..<samples {
            let start = clock.now
            body(i)
            let elapsed = clock.now - start
            let (seconds, attoseconds) = elapsed.components
            micros.append(Double(seconds) * 1e6 + Double(attoseconds) / 1e12)
        }
        micros.sort()
        func percentile(_ p: Double) -> Double {
            micros.isEmpty ? 0 : micros[min(micros.count - 1, Int(Double(micros.count) * p))]
        }
        return Result(name: name, samples: samples, p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99))
    }
}
