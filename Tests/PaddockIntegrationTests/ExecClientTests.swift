import Foundation
import PaddockAPI
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Synchronization
import Testing

@testable import PaddockCLI

/// The CLI's exec client (the code behind `paddock exec` and `paddock run`) against a real `paddock server`,
/// many at once: every command's exit status arrives, however the server's events and the client's end of
/// input interleave.
@Suite(.needsSandboxes, .serialized)
struct ExecClientTests {
    /// Collects what the commands print, instead of this process's terminal.
    final class Output: Sendable {
        let bytes = Mutex<[UInt8: [UInt8]]>([:])
        func append(_ stream: UInt8, _ chunk: UnsafeRawBufferPointer) {
            bytes.withLock { $0[stream, default: []] += chunk }
        }
        func text(_ stream: UInt8) -> String { String(decoding: bytes.withLock { $0[stream] ?? [] }, as: UTF8.self) }
    }

    static func streams(input: [UInt8] = [], output: Output = Output()) -> ExecStreams {
        ExecStreams(
            input: {
                AsyncStream { continuation in
                    if !input.isEmpty { continuation.yield(input) }
                    // The end of input right away, as `paddock exec ID -- true < /dev/null` sends it: a
                    // close_stdin that races the command's exit.
                    continuation.yield([])
                    continuation.finish()
                }
            },
            output: { output.append($0, $1) }, notice: { _ in }, forwardsSignals: false)
    }

    static func client(_ server: CLITests.ServerProcess) throws -> APIClient {
        let token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8)
        return APIClient(
            baseURL: "http://127.0.0.1:\(server.port)", token: token.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// 20 clients at once, each running `true` many times in one session, stdin forwarded and closed at once:
    /// every run returns exit 0 (the server used to cancel the command when the close_stdin found it already
    /// finished, dropping the exit event on its way to the client).
    @Test func everyParallelExecReturnsItsExitStatus() async throws {
        try await CLITests.withServer { server in
            let created = try await CLITests.CLI.run(["session", "create", "--json"], server: server)
            #expect(created.status == 0, "\(created.stderr)")
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
            let client = try Self.client(server)
            // About 1 in 400 runs lost its exit before the fix: 2,400 runs miss it with a chance well under 1%.
            let (clients, runsEach) = (20, 120)
            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        var failures: [String] = []
                        for _ in 0..<runsEach {
                            do {
                                let code = try await ExecClient(client: client).run(
                                    session: session, body: ExecBody(cmd: ["true"]), forwardStdin: true,
                                    streams: Self.streams())
                                if code != 0 { failures.append("exit \(code)") }
                            } catch {
                                failures.append("\(error)")
                            }
                        }
                        return failures
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(failures.isEmpty, "\(failures.count) of \(clients * runsEach) execs failed: \(failures.prefix(5))")
            // The trail agrees: every run is recorded with its exit, none as cut off before it.
            let trail = try await client.raw(.GET, "/v1/sessions/\(session)/audit")
            let execs = try trail.split(separator: 0x0A).map { try AuditEvent.decode(canonical: Array($0)) }
                .filter { $0.kind == "exec" }
            #expect(execs.count == clients * runsEach)
            #expect(execs.allSatisfy { $0.fields["exit"] == .int(0) && $0.fields["ended"] == nil })
        }
    }

    /// Output and the exit status both arrive when stdin carries data the command reads, and when the command
    /// exits without reading it.
    @Test func outputAndExitArriveWithStdinForwarded() async throws {
        try await CLITests.withServer { server in
            let created = try await CLITests.CLI.run(["session", "create", "--json"], server: server)
            let session = try APICoding.decoder().decode(SessionBody.self, from: Data(created.stdout.utf8)).id
            let client = try Self.client(server)
            let output = Output()
            let code = try await ExecClient(client: client).run(
                session: session, body: ExecBody(cmd: ["tr", "a-z", "A-Z"]), forwardStdin: true,
                streams: Self.streams(input: Array("piped\n".utf8), output: output))
            #expect(code == 0 && output.text(1) == "PIPED\n")
            let ignored = Output()
            let exit3 = try await ExecClient(client: client).run(
                session: session, body: ExecBody(cmd: ["sh", "-c", "echo done; exit 3"]), forwardStdin: true,
                streams: Self.streams(input: Array("unread\n".utf8), output: ignored))
            #expect(exit3 == 3 && ignored.text(1) == "done\n")
        }
    }
}
