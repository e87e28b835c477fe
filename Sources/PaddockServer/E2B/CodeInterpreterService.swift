import AsyncAlgorithms
import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// The code interpreter's HTTP API (port 49999): `POST /execute` streams NDJSON results of running code
/// in a context; `/contexts` creates, lists, restarts and removes contexts. Each context is a Python
/// kernel process (`PythonKernelScript`) in the sandbox, started at first use.
struct CodeInterpreterService {
    let sessions: SessionService
    let kernels: PythonKernels

    struct ExecuteRequest: Decodable {
        var code: String
        var context_id: String?
        var language: String?
        var env_vars: [String: String]?
    }

    struct ContextRequest: Decodable {
        var language: String?
        var cwd: String?
    }

    struct ContextBody: Codable, Sendable {
        var id: String
        var language: String
        var cwd: String
    }

    func handle(_ request: Request, target: E2BSandboxTarget) async throws -> Response {
        let path = request.uri.path
        let parts = path.split(separator: "/").map(String.init)
        switch (request.method, parts.count, parts.first) {
        case (.get, 1, "health"): return Response(status: .ok)
        case (.post, 1, "execute"): return try await execute(request, target)
        case (.get, 1, "contexts"):
            return E2BErrorMiddleware.json(.ok, await kernels.contexts(of: target.session.id))
        case (.post, 1, "contexts"):
            let body = try await Self.decode(ContextRequest.self, request)
            try Self.checkLanguage(body.language)
            let context = ContextBody(
                id: UUID().uuidString.lowercased(), language: "python",
                cwd: body.cwd.map { E2BPaths.resolve($0, user: target.user) } ?? target.user.home)
            await kernels.addContext(context, session: target.session.id)
            return E2BErrorMiddleware.json(.ok, context)
        case (.delete, 2, "contexts"):
            try await kernels.removeContext(parts[1], session: target.session.id)
            return Response(status: .noContent)
        case (.post, 3, "contexts") where parts[2] == "restart":
            try await kernels.restartContext(parts[1], session: target.session.id)
            return Response(status: .noContent)
        default:
            throw PaddockError.notFound("no code interpreter route \(request.method) \(path)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: ConnectStream.maxRequestBytes)
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        do { return try JSONDecoder().decode(T.self, from: data) } catch let error as DecodingError {
            throw PaddockError.invalidArgument("the request body is not valid: \(ProtoJSON.describe(error))")
        }
    }

    static func checkLanguage(_ language: String?) throws {
        guard let language, !language.isEmpty else { return }
        guard ["python", "python3"].contains(language.lowercased()) else {
            throw PaddockError.invalidArgument(
                "language '\(language)' is not supported by this server's code interpreter; use python")
        }
    }

    private func execute(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let body = try await Self.decode(ExecuteRequest.self, request)
        try Self.checkLanguage(body.language)
        let kernel = try await kernels.kernel(
            session: target.session.id, context: body.context_id ?? PythonKernels.defaultContext,
            user: target.user, sessions: sessions, by: target.caller)
        try await sessions.recordCodeExecution(
            target.session.id, context: body.context_id ?? PythonKernels.defaultContext, code: body.code,
            by: target.caller)
        var line = try JSONEncoder().encode(["code": body.code])
        if let env = body.env_vars {
            struct WithEnv: Encodable {
                var code: String
                var env_vars: [String: String]
            }
            line = try JSONEncoder().encode(WithEnv(code: body.code, env_vars: env))
        }
        let requestLine = Array(line) + [0x0A]
        let output = AsyncThrowingChannel<[UInt8], any Error>()
        let gone = Flag()
        // The execution runs on its own: a client that leaves interrupts it, and the kernel is drained to
        // the end of that execution before the next one starts.
        Task {
            do {
                try await kernel.execute(requestLine) { line in
                    guard !gone.isSet else { return false }
                    await output.send(line + [0x0A])
                    return !gone.isSet
                }
                output.finish()
            } catch {
                output.fail(error)
            }
        }
        let responseBody = ResponseBody { writer in
            do {
                for try await line in output { try await writer.write(ByteBuffer(bytes: line)) }
            } catch let error as PaddockError {
                gone.set()
                output.finish()
                let line = try? JSONSerialization.data(withJSONObject: [
                    "type": "error", "name": "KernelError", "value": error.message, "traceback": "",
                ])
                if let line { try? await writer.write(ByteBuffer(bytes: Array(line) + [0x0A])) }
            } catch {
                gone.set()
                output.finish()
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: responseBody)
    }
}
