import PaddockCore
import PaddockHost
import PaddockServices

/// A small web app for preview tests, run with the sandbox's python3: `GET` answers the request it saw as JSON
/// (path and headers) and sets a cookie with a `Domain`; `/sse` streams three chunked events; `POST` answers the
/// size and SHA-256 of its body; a WebSocket upgrade on any path echoes frames back (python3's standard library
/// has no WebSocket server, so the handshake and frames are done here).
public enum PreviewAppFixture {
    public static let script = PreviewBenchApp.script

    public static func start(in id: SessionID, port: UInt16, sessions: SessionService) async throws {
        try await PreviewBenchApp.start(in: id, port: port, sessions: sessions)
    }
}
