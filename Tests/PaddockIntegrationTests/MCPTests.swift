import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

/// Paddock's `/mcp` door driven by the official MCP Python SDK client (from the repository's `.venv`) against a
/// real `paddock server`: the tools make and use a real sandbox, as the token's owner, audited; the session
/// outlives the MCP connection.
@Suite(.needsSandboxes, .serialized)
struct MCPTests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    static func requirePython() throws -> String {
        let python = repository + "/.venv/bin/python"
        try #require(
            FileManager.default.fileExists(atPath: repository + "/.venv/lib/python3.11/site-packages/mcp/__init__.py"),
            "the MCP Python SDK is not in .venv; run scripts/install-python.sh")
        return python
    }

    /// Runs a program to its end without blocking a cooperative thread: output to files, the exit awaited
    /// through the termination handler.
    static func run(_ program: String, _ arguments: [String]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { continuation.resume(throwing: error) }
        }
        return (status, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    @Test func thePythonSDKCreatesASessionRunsACommandAndReadsItsTrail() async throws {
        let python = try Self.requirePython()
        let script = Self.repository + "/Tests/PaddockIntegrationTests/Fixtures/mcp_client.py"
        try await CLITests.withServer { server in
            let token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let result = try await Self.run(python, [script, "http://127.0.0.1:\(server.port)", token])
            #expect(result.status == 0, "\(result.stderr.suffix(3000))")
            let seen = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
            #expect(seen["unauthenticated"] as? Int == 401)
            let metadata = seen["metadata"] as? [String: Any]
            #expect((metadata?["resource"] as? String)?.hasSuffix("/mcp") == true, "\(metadata ?? [:])")
            #expect(metadata?["bearer_methods_supported"] as? [String] == ["header"])
            #expect(seen["server"] as? String == "paddock")
            let tools = seen["tools"] as? [String] ?? []
            for tool in [
                "create_session", "exec", "read_file", "write_file", "list_files", "snapshot", "fork", "diff",
                "submit", "share_preview", "destroy_session",
            ] {
                #expect(tools.contains(tool), "\(tools)")
            }
            #expect((seen["created"] as? String)?.contains("TTL 600s") == true, "\(seen["created"] ?? "")")
            let exec = seen["exec"] as? String ?? ""
            #expect(exec.hasPrefix("exit code 3\n") && exec.contains("out") && exec.contains("err"), "\(exec)")
            #expect((seen["progress"] as? String)?.contains("out") == true, "\(seen["progress"] ?? "")")
            #expect(seen["read"] as? String == "hello\n")
            #expect((seen["list"] as? String)?.contains("/workspace/notes/a.txt") == true)
            let refused = seen["refused"] as? [Any]
            #expect(refused?.first as? Bool == true, "\(refused ?? [])")
            let sid = try #require(seen["session"] as? String)
            #expect((seen["resources"] as? [String])?.contains("paddock://sessions/\(sid)/audit") == true)
            // The trail names the token's owner as the actor of what the MCP client did.
            let audit = seen["audit"] as? String ?? ""
            #expect(
                audit.contains("\"exec\"") && audit.contains("\"file.write\"")
                    && audit.contains("\"\(UserAccount.ownerName)\""),
                "\(audit.prefix(2000))")

            // The client has disconnected (and closed its MCP session): the sandbox is still there.
            let list = try await CLITests.CLI.run(["session", "list"], server: server)
            #expect(list.stdout.contains(sid), "\(list.stdout)")
        }
    }
}
