import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// The sandbox's promise: nothing of the host is visible or reachable from inside, and nothing inside has
/// privileges. Every test runs real commands in a real sandbox, under runc and under gVisor (the escape
/// battery: a gVisor case passes without running where no runsc contains limits; see `LimitsTests.available`).
@Suite(.needsSandboxes, .serialized)
struct IsolationTests {
    @Test(arguments: LimitsTests.providers) func commandsRunAsAnUnprivilegedUserWithNoCapabilities(provider: String)
        async throws
    {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-user") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: provider))
            let r = try await stack.sessions.sh(
                s.id, "id -u; id -g; grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "1000")
            #expect(lines.dropFirst().first == "1000")
            // gVisor's /proc shows no CapAmb and NoNewPrivs lines; the sets it shows must be empty all the same.
            let shown =
                provider == "gvisor" ? ["CapEff", "CapPrm", "CapBnd"] : ["CapEff", "CapPrm", "CapBnd", "CapAmb"]
            for cap in shown {
                #expect(lines.contains("\(cap):\t0000000000000000"), "\(cap) must be empty: \(r.stdout)")
            }
            if provider != "gvisor" { #expect(lines.contains("NoNewPrivs:\t1")) }
            // gVisor's kernel is the filter: runsc does not load the OCI seccomp profile into it.
            if provider != "gvisor" { #expect(lines.contains("Seccomp:\t2")) }
        }
    }

    @Test(arguments: LimitsTests.providers) func hostProcessesAreInvisible(provider: String) async throws {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-proc") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: provider))
            // The test process itself must not be visible; inside, only init and this command exist.
            let r = try await stack.sessions.sh(
                s.id,
                "ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; kill -0 \(getpid()) 2>&1 || echo nokill")
            let pids = r.stdout.split(separator: "\n").first?.split(separator: " ").compactMap { Int($0) } ?? []
            #expect(pids.first == 1)
            #expect(pids.count <= 6, "only the sandbox's own processes: \(pids)")
            #expect(r.stdout.contains("nokill") || r.stderr.contains("No such process"))
        }
    }

    @Test(arguments: LimitsTests.providers) func hostFilesAreInvisible(provider: String) async throws {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-files") { stack in
            let marker = "/tmp/paddock-host-marker-\(getpid())"
            FileManager.default.createFile(atPath: marker, contents: Data("host secret".utf8))
            defer { try? FileManager.default.removeItem(atPath: marker) }
            let s = try await stack.sessions.create(SessionSpec(provider: provider))
            let r = try await stack.sessions.sh(
                s.id,
                "for p in /work /root/.bashrc \(marker) \(stack.dataDirectory) /dev/kvm /proc/kcore /etc/shadow /var/run/docker.sock /home/user; do if [ -e $p ] && cat $p >/dev/null 2>&1; then echo \"visible $p\"; fi; done; ls /home"
            )
            #expect(!r.stdout.contains("visible /work"))
            #expect(!r.stdout.contains("visible /root"))
            #expect(!r.stdout.contains("visible \(marker)"))
            #expect(!r.stdout.contains("visible \(stack.dataDirectory)"))
            #expect(!r.stdout.contains("visible /dev/kvm"))
            #expect(!r.stdout.contains("visible /proc/kcore"))
            #expect(!r.stdout.contains("visible /etc/shadow"))
            #expect(r.stdout.hasSuffix("user\n"), "only the sandbox user's home: \(r.stdout)")
            // The userland is there (the host template), read-only.
            let tools = try await stack.sessions.sh(
                s.id, "command -v git python3 sh >/dev/null && echo tools; touch /usr/x 2>&1; touch /etc/x 2>&1")
            #expect(tools.stdout.contains("tools"))
            // gVisor checks permissions before the read-only mount: the write fails either way.
            #expect(tools.stdout.contains(provider == "gvisor" ? "cannot touch '/usr/x'" : "Read-only file system"))
            #expect(tools.stdout.contains("Permission denied"))
        }
    }

    @Test(arguments: LimitsTests.providers) func networkIsLoopbackOnlyAndTheHostIsUnreachable(provider: String)
        async throws
    {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-net") { stack in
            // A listener on the host's loopback: the sandbox has its own loopback and must not reach it.
            let listener = try TCPListener()
            defer { listener.close() }
            let s = try await stack.sessions.create(SessionSpec(provider: provider))
            let r = try await stack.sessions.sh(
                s.id,
                """
                ls /sys/class/net | tr '\\n' ' '; echo
                python3 - <<'PY'
                import socket
                for host in ["127.0.0.1", "10.0.2.2", "1.1.1.1"]:
                    s = socket.socket(); s.settimeout(1)
                    try:
                        s.connect((host, \(listener.port))); print("reached", host)
                    except Exception as e:
                        print("blocked", host, type(e).__name__)
                PY
                """)
            // gVisor has no /sys/class/net; `sessionsRunOnTheGVisorKernel` finds only lo in /proc/net/dev.
            if provider != "gvisor" { #expect(r.stdout.split(separator: "\n").first == "lo ") }
            #expect(!r.stdout.contains("reached"), "\(r.stdout)")
            #expect(r.stdout.contains("blocked 127.0.0.1"))
            #expect(listener.acceptedAny == false)
        }
    }

    @Test(arguments: LimitsTests.providers) func privilegedOperationsAreRefused(provider: String) async throws {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-priv") { stack in
            let s = try await stack.sessions.create(SessionSpec(provider: provider))
            let r = try await stack.sessions.sh(
                s.id,
                "unshare -U true 2>&1 | tail -1; mount -t tmpfs x /tmp 2>&1 | tail -1; python3 -c 'import ctypes; print(\"bpf\", ctypes.CDLL(None).syscall(321, 0, 0, 0))'"
            )
            if provider == "gvisor" {
                // A user namespace inside gVisor's kernel is allowed and grants nothing on the host; mount fails.
                #expect(r.stdout.contains("failed mount") || r.stdout.contains("not permitted"), "\(r.stdout)")
            } else {
                #expect(r.stdout.contains("Operation not permitted"))
            }
            #expect(r.stdout.contains("bpf -1"))
            // Even sandbox root (user namespace only) cannot mount or see host files.
            let root = try await stack.sessions.sh(s.id, "id -u; mount -t tmpfs x /mnt 2>&1", user: "root")
            #expect(root.stdout.hasPrefix("0\n"))
            #expect(root.stdout.contains("denied") || root.stdout.contains("not permitted"))
        }
    }

    @Test(arguments: LimitsTests.providers) func sandboxesCannotSeeEachOther(provider: String) async throws {
        guard await LimitsTests.available(provider) else { return }
        try await withTestStack("iso-peer") { stack in
            let a = try await stack.sessions.create(SessionSpec(provider: provider))
            let b = try await stack.sessions.create(SessionSpec(provider: provider))
            _ = try await stack.sessions.sh(a.id, "echo from-a > /workspace/a.txt; sleep 30 &")
            let r = try await stack.sessions.sh(b.id, "cat /workspace/a.txt 2>&1; ps -eo comm | grep -c sleep")
            #expect(r.stdout.contains("No such file"))
            #expect(r.stdout.hasSuffix("0\n"))
        }
    }
}

/// A TCP listener on 127.0.0.1 that records whether anything connected.
final class TCPListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(sock, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
        }
        _ = fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK)
        fd = sock
        port = UInt16(bigEndian: addr.sin_port)
    }

    var acceptedAny: Bool {
        let c = accept(fd, nil, nil)
        if c >= 0 { Glibc.close(c) }
        return c >= 0
    }

    func close() { Glibc.close(fd) }
}
