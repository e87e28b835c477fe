import Foundation
import Hummingbird
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// The sandbox, port and user an in-sandbox request is for (`E2b-Sandbox-Id`, `E2b-Sandbox-Port`,
/// `Authorization: Basic base64("user:")`).
struct E2BSandboxTarget: Sendable {
    var session: Session
    var port: Int
    var user: SandboxUser
    /// Who the services act for: the API key's person, or the holder of the sandbox id on the open routes.
    var caller: Caller
    /// The client's connection, reset when the sandbox vanishes under a stream.
    var channel: (any Channel)?

    static func user(named name: String) throws -> SandboxUser {
        guard let user = SandboxUser(rawValue: name) else {
            throw ConnectError(.invalidArgument, "user '\(name)' does not exist in the sandbox; use 'user' or 'root'")
        }
        return user
    }

    /// The user named by Basic authorization; `user` when there is none.
    static func user(authorization: String?) throws -> SandboxUser {
        guard let authorization, authorization.lowercased().hasPrefix("basic ") else { return .user }
        let encoded = authorization.dropFirst("basic ".count).trimmingCharacters(in: .whitespaces)
        guard let decoded = ProtoBytes.decodeBase64(encoded) else {
            throw ConnectError(.invalidArgument, "the Authorization header is not valid base64")
        }
        let text = String(decoding: decoded, as: UTF8.self)
        let name = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        guard let name, !name.isEmpty else { return .user }
        return try user(named: name)
    }
}

/// Routes in-sandbox traffic — requests with an `E2b-Sandbox-Id` header — by port: 49983 to the envd
/// services, 49999 to the code interpreter, any other port to a server inside the sandbox. Everything
/// else goes on to the control-plane routes.
struct E2BSandboxTrafficMiddleware: RouterMiddleware {
    typealias Context = E2BRequestContext
    let sessions: SessionService
    let process: EnvdProcessService
    let filesystem: EnvdFilesystemService
    let files: EnvdFilesController
    let codeInterpreter: CodeInterpreterService
    let ports: SandboxPortProxy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let idText = request.header("e2b-sandbox-id") else { return try await next(request, context) }
        let portText = request.header("e2b-sandbox-port") ?? String(E2B.daemonPort)
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw ConnectError(.invalidArgument, "E2b-Sandbox-Port '\(portText)' is not a port number")
        }
        let session = try await liveSession(idText, request, context)
        let target = E2BSandboxTarget(
            session: session, port: port,
            user: try E2BSandboxTarget.user(authorization: request.headers[.authorization]),
            caller: context.principal.map(Caller.init) ?? .sandboxIDHolder, channel: context.channel)
        switch port {
        case E2B.daemonPort: return try await envd(request, target)
        case E2B.codeInterpreterPort: return try await codeInterpreter.handle(request, target: target)
        default: return try await ports.forward(request, target: target)
        }
    }

    /// A running session the caller may use; a paused one is resumed only when it was created with
    /// auto-resume. Only the code interpreter's context routes are open (see `E2BAuthMiddleware.isOpen`);
    /// everything else runs code or touches files, which needs `write` on the sandbox's team.
    private func liveSession(_ text: String, _ request: Request, _ context: Context) async throws -> Session {
        guard let id = SessionID(rawValue: text) else { throw E2BSandboxUnavailable(sandboxID: text) }
        let caller: Caller
        if let principal = context.principal {
            caller = Caller(principal)
        } else if E2BAuthMiddleware.isOpen(request) {
            caller = .sandboxIDHolder
        } else {
            throw PaddockError(.unauthenticated, "missing API key")
        }
        let session: Session
        do { session = try await sessions.get(id, for: caller, needs: .write) } catch let e as PaddockError
            where e.code == .notFound
        {
            throw E2BSandboxUnavailable(sandboxID: text)
        }
        if context.principal == nil && session.spec.e2bInsecure != true {
            throw PaddockError(
                .unauthenticated,
                "sandbox \(text) is secure: send its trafficAccessToken as E2B-Traffic-Access-Token (E2B's SDKs do), "
                    + "or create it with secure=False")
        }
        switch session.state {
        case .running: return session
        case .paused where session.spec.autoResume == true: return try await sessions.ensureRunning(id, by: caller)
        default: throw E2BSandboxUnavailable(sandboxID: text)
        }
    }

    private func envd(_ request: Request, _ target: E2BSandboxTarget) async throws -> Response {
        let path = request.uri.path
        switch (request.method, path) {
        case (.get, "/health"): return Response(status: .noContent)
        case (.get, "/files"): return try await files.download(request, target: target)
        case (.post, "/files"): return try await files.upload(request, target: target)
        default: break
        }
        let parts = path.split(separator: "/").map(String.init)
        guard request.method == .post, parts.count == 2 else {
            throw ConnectError(.notFound, "no envd route \(request.method) \(path)")
        }
        switch parts[0] {
        case "process.Process": return try await process.handle(method: parts[1], request: request, target: target)
        case "filesystem.Filesystem":
            return try await filesystem.handle(method: parts[1], request: request, target: target)
        default: throw ConnectError(.unimplemented, "service \(parts[0]) is not supported by this server")
        }
    }
}
