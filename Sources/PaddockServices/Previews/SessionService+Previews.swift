import Foundation
import PaddockCore
import PaddockSandbox

/// What the preview service needs of a session beyond `/v1`: it authorizes visitors itself (a share link's
/// holder has no permission on the session), so these take no caller and stay inside the module.
extension SessionService {
    /// A connection to `port` for a visitor `PreviewService` already let in. A paused session is resumed: a
    /// visit is the signal it is wanted again.
    /// The connection counts as an attached stream until it is closed: a session someone is looking at (a dev
    /// server's hot-reload WebSocket open in a tab) is not idle, and the reaper does not freeze it.
    func previewDial(_ id: SessionID, port: UInt16) async throws -> any SandboxConnection {
        let (_, provider) = try await runningProvider(id, for: .system, needs: .read)
        streamChanged(id, attached: true)
        do {
            let connection = try await provider.initClient(id).dial(port: port)
            return TrackedSandboxConnection(
                connection,
                detach: TrackedExecHandle.Detach { [weak self] attached in
                    await self?.streamChanged(id, attached: attached)
                })
        } catch {
            streamChanged(id, attached: false)
            throw error
        }
    }

    /// The TCP ports something listens on inside the running session, from its own `/proc/net/tcp{,6}`.
    func listeningPorts(_ id: SessionID) async throws -> [UInt16] {
        let (_, provider) = try await runningProvider(id, for: .system, needs: .read)
        let client = try await provider.initClient(id)
        var ports = Set<UInt16>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            var bytes: [UInt8] = []
            do {
                for try await chunk in try await client.readFile(path: table, user: .root) { bytes += chunk }
            } catch let error as PaddockError where error.code == .notFound {
                continue  // a kernel without IPv6 has no tcp6 table
            }
            ports.formUnion(Self.listening(inProcNetTCP: String(decoding: bytes, as: UTF8.self)))
        }
        // paddock-init's own egress relay listens in every sandbox; it is not the session's app.
        ports.remove(SandboxLayout.egressProxyPort)
        return ports.sorted()
    }

    /// Ports of the sockets in state LISTEN (`0A`) in a `/proc/net/tcp` table.
    static func listening(inProcNetTCP text: String) -> Set<UInt16> {
        var ports = Set<UInt16>()
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                let port = UInt16(fields[1][fields[1].index(after: colon)...], radix: 16)
            else { continue }
            ports.insert(port)
        }
        return ports
    }
}

/// A port connection that reports its close once (explicit, or when dropped).
final class TrackedSandboxConnection: SandboxConnection {
    private let inner: any SandboxConnection
    private let detach: TrackedExecHandle.Detach

    init(_ inner: any SandboxConnection, detach: TrackedExecHandle.Detach) {
        self.inner = inner
        self.detach = detach
    }

    var inbound: BackpressuredStream<[UInt8]> { inner.inbound }
    func write(_ bytes: [UInt8]) async throws { try await inner.write(bytes) }
    func finishWriting() async { await inner.finishWriting() }
    func close() async {
        await inner.close()
        await detach.run()
    }

    deinit {
        let detach = self.detach
        Task { await detach.run() }
    }
}
