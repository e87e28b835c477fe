import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import PaddockCore
import PaddockGateway

/// Runs a Hummingbird router on 127.0.0.1 at an ephemeral port, over TLS with a leaf of `authority` when
/// `tlsNames` is given: the loopback servers the benchmarks and tests stand up in place of real APIs.
public enum LoopbackServer {
    /// Starts serving; returns the bound port and the task running the server (cancel it to stop). `authority`
    /// issues the leaf for `tlsNames`; plain HTTP needs neither.
    public static func start(
        router: Router<BasicRequestContext>, authority: CertificateAuthority? = nil, tlsNames: [String]? = nil,
        label: String, logLevel: Logger.Level = .error
    ) async throws -> (port: Int, task: Task<Void, any Error>) {
        var serverTLS: TLSConfiguration?
        if let tlsNames {
            guard let authority else {
                throw PaddockError.internal("the loopback server \(label) needs a certificate authority for TLS")
            }
            let leaf = try authority.leaf(forNames: tlsNames)
            serverTLS = TLSConfiguration.makeServerConfiguration(
                certificateChain: leaf.chain.map { .certificate($0) }, privateKey: .privateKey(leaf.key))
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "paddock.\(label)")
        logger.logLevel = logLevel
        let app = Application(
            router: router,
            server: try serverTLS.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: label),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService() }
        var port = 0
        for await p in portStream {
            port = p
            break
        }
        guard port > 0 else {
            task.cancel()
            throw PaddockError.internal("the loopback server \(label) did not start")
        }
        return (port, task)
    }
}
