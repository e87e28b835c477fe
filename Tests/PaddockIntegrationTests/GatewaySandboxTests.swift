import Foundation
import Logging
import NIOConcurrencyHelpers
import PaddockAPI
import PaddockCore
import PaddockGateway
import PaddockHost
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The egress gateway with real sandboxes: real tools inside (curl, python, git) reach real HTTPS upstreams
/// on the host's loopback only through paddock-init's relay and the gateway; every other way out fails.
@Suite(.needsSandboxes, .serialized)
struct GatewaySandboxTests {
    /// A test stack whose sessions are connected to a gateway that trusts `trust` for upstreams, with every
    /// log line captured for the leak search.
    struct NetworkStack {
        let stack: TestStack
        let network: SessionNetwork
        let audit: JSONLinesAuditSink
        let logs: CapturedLogs

        static func make(_ label: String, trust: [LoopbackUpstream]) async throws -> NetworkStack {
            let stack = try await TestStack.make(label)
            let logs = CapturedLogs()
            let logger = Logger(label: "test.gateway") { label in CapturingLogHandler(label: label, logs: logs) }
            let vault = try SecretVault(store: stack.store, keyFile: stack.dataDirectory + "/vault.key")
            let audit = try JSONLinesAuditSink(directory: stack.dataDirectory + "/gateway-audit")
            let gateway = try EgressGateway(
                auditSink: audit, extraTrustRoots: try trust.map { try $0.authority.trustRoot() }, logger: logger)
            let network = SessionNetwork(gateway: gateway, vault: vault, logger: logger)
            await stack.sessions.setNetwork(network)
            return NetworkStack(stack: stack, network: network, audit: audit, logs: logs)
        }

        var sessions: SessionService { stack.sessions }

        /// The gateway's audit events for a session, once every request so far has been written.
        func auditEvents(_ id: SessionID) async -> [GatewayAuditEvent] {
            await network.gateway.flushAudit()
            return audit.events(for: id.rawValue)
        }

        func tearDown() async throws {
            try await stack.tearDown()
            await network.gateway.shutdown()
        }
    }

    static func with(
        _ label: String, trust: [LoopbackUpstream], _ body: (NetworkStack) async throws -> Void
    ) async throws {
        let net = try await NetworkStack.make(label, trust: trust)
        do { try await body(net) } catch {
            try? await net.tearDown()
            for upstream in trust { await upstream.stop() }
            throw error
        }
        try await net.tearDown()
        for upstream in trust { await upstream.stop() }
    }

    @Test func curlPythonAndAnAgentCallGetTheRealKeyOnlyAtTheirUpstream() async throws {
        let token = "tok-\(UUID().uuidString)"
        let apiKey = "sk-ant-api03-\(UUID().uuidString)\(UUID().uuidString)"
        let api = try await LoopbackUpstream.start(expectedHeaders: ["Authorization": "Bearer \(token)"])
        let anthropic = try await LoopbackUpstream.start(
            expectedHeaders: ["x-api-key": apiKey, "anthropic-version": "2023-06-01"])
        try await Self.with("gw-tools", trust: [api, anthropic]) { net in
            try await net.network.vault.set(
                name: "API_TOKEN", team: nil, value: token, hosts: ["127.0.0.1:\(api.port)"], allowHTTP: false)
            try await net.network.vault.set(
                name: "ANTHROPIC_API_KEY", team: nil, value: apiKey, hosts: ["127.0.0.1:\(anthropic.port)"],
                allowHTTP: false)
            var spec = SessionSpec()
            spec.secrets = ["API_TOKEN", "ANTHROPIC_API_KEY"]
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1"])
            let s = try await net.sessions.create(spec)
            let sessions = net.sessions

            let env = try await sessions.proxiedSh(
                s.id, "echo \"$API_TOKEN\"; echo \"$ANTHROPIC_API_KEY\"; echo $HTTPS_PROXY")
            let lines = env.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines.first?.hasPrefix("PADDOCK-PLACEHOLDER-") == true)
            #expect(lines.first?.count == token.count)
            #expect(lines.dropFirst().first?.count == apiKey.count)
            #expect(!env.stdout.contains(token) && !env.stdout.contains(apiKey))

            let curl = try await sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -H \"Authorization: Bearer $API_TOKEN\" https://127.0.0.1:\(api.port)/check")
            #expect(curl.stdout == "authorized\n", "curl: \(curl.stdout) \(curl.stderr)")

            let python = try await sessions.proxiedRun(
                s.id,
                [
                    "python3", "-c",
                    """
                    import os, urllib.request
                    r = urllib.request.Request('https://127.0.0.1:\(api.port)/check',
                        headers={'Authorization': 'Bearer ' + os.environ['API_TOKEN']})
                    print(urllib.request.urlopen(r, timeout=20).read().decode(), end='')
                    """,
                ])
            #expect(python.stdout == "authorized\n", "python: \(python.stdout) \(python.stderr)")

            // Claude Code's call shape: POST /v1/messages with x-api-key from ANTHROPIC_API_KEY.
            let agent = try await sessions.proxiedRun(
                s.id,
                [
                    "python3", "-c",
                    """
                    import json, os, urllib.request
                    body = json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 16,
                        'messages': [{'role': 'user', 'content': 'hi'}]}).encode()
                    r = urllib.request.Request('https://127.0.0.1:\(anthropic.port)/v1/messages', data=body,
                        headers={'x-api-key': os.environ['ANTHROPIC_API_KEY'], 'anthropic-version': '2023-06-01',
                                 'content-type': 'application/json'})
                    print(urllib.request.urlopen(r, timeout=20).read().decode(), end='')
                    """,
                ])
            #expect(agent.stdout == "authorized\n", "agent: \(agent.stdout) \(agent.stderr)")

            // Per-host scoping: API_TOKEN's placeholder sent to the other upstream is refused, not swapped.
            let misuse = try await sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -o /dev/null -w '%{http_code}' -H \"x-api-key: $API_TOKEN\" "
                    + "https://127.0.0.1:\(anthropic.port)/v1/messages -d '{}'")
            #expect(misuse.stdout == "403", "\(misuse.stdout) \(misuse.stderr)")

            let events = await net.auditEvents(s.id)
            #expect(events.filter { $0.secretsInjected == ["API_TOKEN"] }.count >= 2)
            #expect(events.contains { $0.secretsInjected == ["ANTHROPIC_API_KEY"] && $0.path == "/v1/messages" })
            #expect(events.contains { $0.placeholderMisuse == ["API_TOKEN"] && $0.status == 403 })
        }
    }

    @Test func requestsLibraryWhenInstalled() async throws {
        let token = "tok-\(UUID().uuidString)"
        let api = try await LoopbackUpstream.start(expectedHeaders: ["Authorization": "Bearer \(token)"])
        try await Self.with("gw-requests", trust: [api]) { net in
            try await net.network.vault.set(
                name: "API_TOKEN", team: nil, value: token, hosts: ["127.0.0.1:\(api.port)"], allowHTTP: false)
            var spec = SessionSpec()
            spec.secrets = ["API_TOKEN"]
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1"])
            let s = try await net.sessions.create(spec)
            let probe = try await net.sessions.proxiedSh(s.id, "python3 -c 'import requests' 2>/dev/null && echo yes")
            guard probe.stdout == "yes\n" else { return }
            let r = try await net.sessions.proxiedRun(
                s.id,
                [
                    "python3", "-c",
                    "import os, requests; print(requests.get('https://127.0.0.1:\(api.port)/check', headers="
                        + "{'Authorization': 'Bearer ' + os.environ['API_TOKEN']}, timeout=20).text, end='')",
                ])
            #expect(r.stdout == "authorized\n", "\(r.stderr)")
        }
    }

    @Test func everyBypassRouteFailsClosed() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        try await Self.with("gw-bypass", trust: [upstream]) { net in
            var spec = SessionSpec()
            // Everything is allowed by policy: what is tested is that nothing leaves except through the gateway.
            spec.network = PolicyRuleSet(default: .allow)
            let s = try await net.sessions.create(spec)
            let hostAddress = AddressGuardProbe.publicHostAddress() ?? "10.255.255.1"
            let script = """
                import socket, subprocess
                def attempt(name, fn):
                    try:
                        fn(); print(name, 'LEAKED')
                    except Exception as e:
                        print(name, 'blocked', type(e).__name__)
                def tcp4(): socket.create_connection(('1.1.1.1', 443), timeout=3).close()
                def tcp_host(): socket.create_connection(('\(hostAddress)', \(upstream.port)), timeout=3).close()
                def tcp_upstream(): socket.create_connection(('127.0.0.1', \(upstream.port)), timeout=3).close()
                def udp():
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
                    u.sendto(b'x', ('8.8.8.8', 53)); u.recvfrom(512)
                def dns(): socket.getaddrinfo('example.com', 443)
                def tcp6():
                    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); c.settimeout(3)
                    c.connect(('2606:4700:4700::1111', 443))
                def raw(): socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                def packet(): socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                for name, fn in [('tcp4', tcp4), ('tcp-host', tcp_host), ('tcp-upstream', tcp_upstream), ('udp', udp),
                                 ('dns', dns), ('tcp6', tcp6), ('raw', raw), ('packet', packet)]:
                    attempt(name, fn)
                """
            let probes = try await net.sessions.proxiedRun(s.id, ["python3", "-c", script])
            let lines = probes.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 8, "\(probes.stdout) \(probes.stderr)")
            for line in lines { #expect(line.contains(" blocked "), "\(line)") }
            // curl told to ignore the proxy has no route; through the proxy, the loopback upstream is refused
            // (policy allows everything, but not that address explicitly) and metadata too.
            let curl = try await net.sessions.proxiedSh(
                s.id,
                """
                curl --noproxy '*' -s --max-time 5 http://1.1.1.1/ >/dev/null; echo "noproxy=$?"
                curl -s --max-time 5 -o /dev/null -w 'metadata=%{http_code}\\n' http://169.254.169.254/latest/
                curl -s --max-time 5 -o /dev/null -w 'upstream=%{http_code}\\n' http://127.0.0.1:\(upstream.port)/check
                ip -o addr 2>/dev/null | awk '{print "iface=" $2}' | sort -u; cat /sys/class/net/*/ifindex | wc -l
                """)
            #expect(curl.stdout.contains("noproxy=7") || curl.stdout.contains("noproxy=28"), "\(curl.stdout)")
            #expect(curl.stdout.contains("metadata=403"), "\(curl.stdout)")
            #expect(curl.stdout.contains("upstream=403"), "\(curl.stdout)")
            #expect(curl.stdout.hasSuffix("1\n"), "only loopback: \(curl.stdout)")
            #expect(await upstream.requests.count == 0)
        }
    }

    @Test func aSessionWithoutRulesIsRefusedUntilItsNetworkIsChangedLive() async throws {
        let upstream = try await LoopbackUpstream.start(tls: false)
        try await Self.with("gw-live", trust: [upstream]) { net in
            let s = try await net.sessions.create(SessionSpec())
            let command = "curl -sS --max-time 10 -D - http://127.0.0.1:\(upstream.port)/check"
            let before = try await net.sessions.proxiedSh(s.id, command)
            let initLog =
                (try? String(
                    contentsOfFile: "\(net.stack.dataDirectory)/sessions/\(s.id.rawValue)/init.log", encoding: .utf8))
                ?? ""
            let runDir =
                (try? FileManager.default.contentsOfDirectory(
                    atPath: "\(net.stack.dataDirectory)/sessions/\(s.id.rawValue)/run")) ?? []
            #expect(
                before.stdout.hasPrefix("HTTP/1.1 403"),
                "\(before.stdout) \(before.stderr) init: \(initLog) run: \(runDir)")
            #expect(before.stdout.lowercased().contains("x-paddock-reason: session \(s.id) has no network policy"))
            let rules = try await net.sessions.changeNetwork(s.id, allow: ["127.0.0.1"], deny: [], replace: false)
            #expect(rules.rules.map(\.pattern) == ["127.0.0.1"])
            let after = try await net.sessions.proxiedSh(s.id, command)
            #expect(after.stdout.hasPrefix("HTTP/1.1 200"), "\(after.stdout)")
            #expect(after.stdout.hasSuffix("authorized\n"))
            _ = try await net.sessions.changeNetwork(s.id, allow: [], deny: ["127.0.0.1"], replace: true)
            let again = try await net.sessions.proxiedSh(s.id, command)
            #expect(again.stdout.hasPrefix("HTTP/1.1 403"), "\(again.stdout)")
            #expect(try await net.sessions.get(s.id).spec.network?.rules.map(\.pattern) == ["127.0.0.1"])
            let events = await net.auditEvents(s.id)
            #expect(events.map(\.status) == [403, 200, 403])
            #expect(events.allSatisfy { $0.method == "GET" && $0.path == "/check" && $0.port == UInt16(upstream.port) })
            #expect(events[1].bytesDown == "authorized\n".utf8.count)
        }
    }

    @Test func gitClonesOverHTTPSThroughTheGateway() async throws {
        let git = try await GitUpstream.start()
        defer { git.remove() }
        try await Self.with("gw-git", trust: [git.upstream]) { net in
            // A token for the remote makes it an intercepted host (the sandbox trusts the session CA); without
            // one, git would see the remote's own certificate, which only the gateway trusts.
            try await net.network.vault.set(
                name: "GIT_TOKEN", team: nil, value: "git-\(UUID().uuidString)",
                hosts: ["127.0.0.1:\(git.upstream.port)"],
                allowHTTP: false)
            var spec = SessionSpec()
            spec.secrets = ["GIT_TOKEN"]
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1:\(git.upstream.port)"])
            let s = try await net.sessions.create(spec)
            let clone = try await net.sessions.proxiedSh(
                s.id,
                "cd /tmp && git -c http.extraHeader=\"Authorization: Bearer $GIT_TOKEN\" clone -q "
                    + "\(git.upstream.baseURL)/repo.git && cat repo/README")
            #expect(clone.stdout == "hello from the loopback remote\n", "\(clone.stdout) \(clone.stderr)")
        }
    }

    @Test func theSecretValueAppearsNowhereAfterASessionUsedIt() async throws {
        let value = "leak-canary-\(UUID().uuidString)"
        let api = try await LoopbackUpstream.start(expectedHeaders: ["Authorization": "Bearer \(value)"])
        try await Self.with("gw-leak", trust: [api]) { net in
            try await net.network.vault.set(
                name: "CANARY", team: nil, value: value, hosts: ["127.0.0.1:\(api.port)"], allowHTTP: false)
            var spec = SessionSpec()
            spec.secrets = ["CANARY"]
            spec.network = PolicyRuleSet(default: nil, allow: ["127.0.0.1"])
            let s = try await net.sessions.create(spec)
            // Use it, keep a process alive with the session environment, and write files in the sandbox.
            let used = try await net.sessions.proxiedSh(
                s.id,
                "curl -sS --max-time 20 -H \"Authorization: Bearer $CANARY\" https://127.0.0.1:\(api.port)/check "
                    + "| tee /workspace/out.txt; env > /workspace/env.txt; (sleep 60 &) ; true")
            #expect(used.stdout == "authorized\n", "\(used.stderr)")
            let needle = Array(value.utf8)

            // Inside the sandbox: every process's environment and arguments, and every file it can read.
            let inside = try await net.sessions.proxiedSh(
                s.id, "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | base64 -w0", user: "root")
            let procBytes = Data(base64Encoded: inside.stdout) ?? Data()
            #expect(!procBytes.isEmpty)
            #expect(!Array(procBytes).contains(needle))
            // The sandbox's writable layer from the host: everything written inside.
            let upper = "\(net.stack.dataDirectory)/sessions/\(s.id.rawValue)/scratch/upper"
            #expect(Self.filesContaining(needle, under: upper).isEmpty)
            // The host's processes (the sandbox's included): environments and command lines.
            #expect(Self.processesContaining(needle).isEmpty)
            // Logs, the audit trail, API bodies, and the database files (SQLite + WAL) in plaintext.
            #expect(!net.logs.text.contains(value))
            #expect(net.logs.text.contains("CANARY"), "logs name the secret")
            let audit = try String(contentsOfFile: net.audit.path(for: s.id.rawValue), encoding: .utf8)
            #expect(audit.contains("CANARY") && !audit.contains(value))
            let bodies =
                try APICoding.encoder().encode(SessionBody(try await net.sessions.get(s.id)))
                + APICoding.encoder().encode(try await net.network.vault.list(team: nil))
            #expect(!Array(bodies).contains(needle))
            #expect(Self.filesContaining(needle, under: net.stack.dataDirectory).isEmpty)
        }
    }

    static func filesContaining(_ needle: [UInt8], under root: String) -> [String] {
        var hits: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size < 256 << 20 else { continue }
            if let data = FileManager.default.contents(atPath: path), Array(data).contains(needle) { hits.append(path) }
        }
        return hits
    }

    static func processesContaining(_ needle: [UInt8]) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
        var hits: [String] = []
        for pid in pids {
            for file in ["environ", "cmdline"] {
                if let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)"), Array(data).contains(needle)
                {
                    hits.append("/proc/\(pid)/\(file)")
                }
            }
        }
        return hits
    }
}

extension SessionService {
    /// The test upstreams listen on the host's 127.0.0.1, which the session's NO_PROXY (rightly) sends direct
    /// to the sandbox's own loopback; these clear NO_PROXY so the tools use the gateway for them.
    static let proxyEverything = ["NO_PROXY": "", "no_proxy": ""]

    func proxiedSh(_ id: SessionID, _ script: String, user: String? = nil) async throws -> ExecOutput {
        try await run(id, ["/bin/sh", "-c", script], env: Self.proxyEverything, user: user)
    }

    func proxiedRun(_ id: SessionID, _ cmd: [String]) async throws -> ExecOutput {
        try await run(id, cmd, env: Self.proxyEverything)
    }
}

/// Captures every log line (message and metadata) for the leak search.
final class CapturedLogs: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }
}

struct CapturingLogHandler: LogHandler {
    let label: String
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        logs.append("\(level) \(label): \(message) \(self.metadata.merging(metadata ?? [:]) { $1 })")
    }
}

enum AddressGuardProbe {
    /// A non-loopback IPv4 address of this host, to prove the sandbox cannot reach the host directly.
    static func publicHostAddress() -> String? {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return nil }
        defer { freeifaddrs(head) }
        var cursor = head
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard
                getnameinfo(
                    sa, socklen_t(MemoryLayout<sockaddr_in>.size), &buffer, socklen_t(buffer.count), nil, 0,
                    NI_NUMERICHOST) == 0
            else { continue }
            let text = String(cString: buffer)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }
}
