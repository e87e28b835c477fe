import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import PaddockCore
import PaddockLinux
import PaddockServer
import PaddockServices
import PaddockStore

/// `paddock.preview_request` against `direct.preview_request` (a small GET, keep-alive client), the same for a
/// WebSocket echo's round trip, and `paddock.preview_wake` (first byte of a request to a paused session). The
/// app is the same python3 server in both: in a sandbox, reached through the preview listener and paddock-init's
/// port relay, and on the host's loopback.
struct PreviewBenchmark {
    let iterations: Int
    let provider: LocalProvider

    func run() async throws -> [Benchmarks.Result] {
        var logger = Logger(label: "paddock.bench.preview")
        logger.logLevel = .error
        let store = try SQLiteStore.inMemory(logger: logger)
        let sessions = SessionService(store: store, providers: [provider.name: provider], logger: logger)
        let tokens = TokenService(store: store)
        let previews = try PreviewService(
            sessions: sessions, store: store, key: SymmetricKey(size: .bits256), address: PreviewAddress(),
            logger: logger)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let proxy = PreviewProxy(
            previews: previews, tokens: tokens,
            configuration: PreviewServerConfiguration(host: "127.0.0.1", port: 0), logger: logger,
            onServerRunning: { port in
                previews.setPort(port)
                portSink.yield(port)
            })
        let proxyTask = Task { try await proxy.run() }
        defer { proxyTask.cancel() }
        var bound = ports.makeAsyncIterator()
        guard let proxyPort = await bound.next() else {
            throw PaddockError.internal("the preview listener did not start")
        }

        let appPort: UInt16 = 8000
        let session = try await sessions.create(SessionSpec(), by: .system)
        do {
            try await PreviewBenchApp.start(in: session.id, port: appPort, sessions: sessions)
            let directPort = try await Self.freePort()
            let script = NSTemporaryDirectory() + "paddock-bench-preview-\(getpid()).py"
            try Data(PreviewBenchApp.script.utf8).write(to: URL(fileURLWithPath: script))
            defer {
                do { try FileManager.default.removeItem(atPath: script) } catch {
                    logger.error("could not remove the benchmark's app script", metadata: ["error": "\(error)"])
                }
            }
            // The app says when it listens.
            let host = try await ListeningProcess.start(
                "/usr/bin/python3", [script, String(directPort)], readyWhen: "listening", on: .output,
                what: "the benchmark's app on the host")
            defer { host.stop() }

            guard let principal = try await tokens.authenticate(try await tokens.issue(name: "bench")) else {
                throw PaddockError.internal("the benchmark token does not authenticate")
            }
            let grant = try await previews.redeem(
                exchange: try await previews.exchangeToken(
                    for: principal, session: session.id, port: appPort, shareSecret: nil),
                session: session.id, port: appPort)
            let cookie = "\(PreviewProxy.cookieName)=\(try previews.cookieValue(grant))"
            let previewHost = previews.address.host(session: session.id, port: appPort)
            let results = try await measure(
                previewHost: previewHost, proxyPort: proxyPort, directPort: directPort, cookie: cookie,
                sessions: sessions, session: session.id)
            try await sessions.destroy(session.id, by: .system)
            return results
        } catch {
            do { try await sessions.destroy(session.id, by: .system) } catch let cleanup {
                logger.error(
                    "could not destroy the benchmark's session",
                    metadata: ["session.id": "\(session.id)", "error": "\(cleanup)"])
            }
            throw error
        }
    }

    private func measure(
        previewHost: String, proxyPort: Int, directPort: Int, cookie: String, sessions: SessionService,
        session: SessionID
    ) async throws -> [Benchmarks.Result] {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        let direct = "http://127.0.0.1:\(directPort)/"
        let proxied = "http://127.0.0.1:\(proxyPort)/"
        let previewHeaders = [("Host", "\(previewHost):\(proxyPort)"), ("Cookie", cookie)]
        _ = try await Benchmarks.get(client, proxied, headers: previewHeaders)
        let (relay, relayPort) = try await PreviewBenchRelay.start(target: directPort)
        defer { relay.close(promise: nil) }
        let relayed = "http://127.0.0.1:\(relayPort)/"
        // The same floor with socat, a relay in C that only reads and writes, when the host has it: one for the
        // client's one keep-alive connection, one for the WebSocket.
        let socat = try await SocatRelay.start(target: directPort)
        defer { socat?.relay.stop() }
        let socatURL = socat.map { "http://127.0.0.1:\($0.port)/" }

        let count = max(iterations * 10, 50)
        var http: [[Double]] = [[], [], [], []]
        for _ in 0..<count {
            if let socatURL {
                http[3].append(
                    try await Benchmarks.milliseconds { _ = try await Benchmarks.get(client, socatURL, headers: []) })
            }
            http[0].append(
                try await Benchmarks.milliseconds { _ = try await Benchmarks.get(client, direct, headers: []) })
            http[1].append(
                try await Benchmarks.milliseconds {
                    _ = try await Benchmarks.get(client, proxied, headers: previewHeaders)
                })
            http[2].append(
                try await Benchmarks.milliseconds { _ = try await Benchmarks.get(client, relayed, headers: []) })
        }
        var ws: [[Double]] = [[], [], [], []]
        if let socat = try await SocatRelay.start(target: directPort) {
            defer { socat.relay.stop() }
            try await BenchWebSocket.with(port: socat.port, host: "127.0.0.1:\(directPort)", cookie: nil) { relayed in
                for _ in 0..<count {
                    ws[3].append(try await Benchmarks.milliseconds { try await relayed.echo("ping") })
                }
            }
        }
        try await BenchWebSocket.with(port: directPort, host: "127.0.0.1:\(directPort)", cookie: nil) { direct in
            try await BenchWebSocket.with(port: proxyPort, host: "\(previewHost):\(proxyPort)", cookie: cookie) {
                preview in
                try await BenchWebSocket.with(port: relayPort, host: "127.0.0.1:\(directPort)", cookie: nil) {
                    relayed in
                    for _ in 0..<count {
                        ws[0].append(try await Benchmarks.milliseconds { try await direct.echo("ping") })
                        ws[1].append(try await Benchmarks.milliseconds { try await preview.echo("ping") })
                        ws[2].append(try await Benchmarks.milliseconds { try await relayed.echo("ping") })
                    }
                }
            }
        }
        var wake: [Double] = []
        for _ in 0..<max(iterations, 5) {
            _ = try await sessions.pause(session, by: .system)
            wake.append(
                try await Benchmarks.milliseconds {
                    _ = try await Benchmarks.get(client, proxied, headers: previewHeaders)
                })
        }
        let socatLines =
            socat == nil
            ? []
            : [
                Benchmarks.summarize(
                    "limit.preview_request.socat", unit: "ms", http[3],
                    note: "same GET through socat (a C relay that only reads and writes)"),
                Benchmarks.summarize(
                    "limit.preview_ws_rtt.socat", unit: "ms", ws[3], note: "same echo through socat"),
            ]
        return [
            Benchmarks.summarize(
                "direct.preview_request", unit: "ms", http[0], note: "small GET, keep-alive, loopback"),
            Benchmarks.summarize(
                "paddock.preview_request", unit: "ms", http[1], note: "same app in a sandbox, via the preview host"),
            Benchmarks.summarize(
                "limit.preview_request", unit: "ms", http[2],
                note: "same GET through a bare byte relay (one extra loopback hop, no HTTP work)"),
            Benchmarks.summarize("direct.preview_ws_rtt", unit: "ms", ws[0], note: "WebSocket echo round trip"),
            Benchmarks.summarize("paddock.preview_ws_rtt", unit: "ms", ws[1], note: "same, via the preview host"),
            Benchmarks.summarize(
                "limit.preview_ws_rtt", unit: "ms", ws[2], note: "same, through a bare byte relay (one extra hop)"),
            Benchmarks.summarize(
                "paddock.preview_wake", unit: "ms", wake, note: "a whole small GET to a paused session"),
        ] + socatLines
    }

    /// A port nothing listens on right now, for the host's copy of the app.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}

/// A WebSocket client that speaks just enough of RFC 6455 for an echo round trip.
struct BenchWebSocket {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var buffer: [UInt8] = []

    static func with(port: Int, host: String, cookie: String?, _ body: (inout BenchWebSocket) async throws -> Void)
        async throws
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var socket = BenchWebSocket(iterator: inbound.makeAsyncIterator(), outbound: outbound)
            var head =
                "GET /ws HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            if let cookie { head += "Cookie: \(cookie)\r\n" }
            try await outbound.write(ByteBuffer(string: head + "\r\n"))
            while PreviewBenchApp.headEnd(socket.buffer) == nil { try await socket.more() }
            let end = PreviewBenchApp.headEnd(socket.buffer) ?? 0
            guard String(decoding: socket.buffer[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
                throw PaddockError.internal("the WebSocket upgrade was refused")
            }
            socket.buffer.removeFirst(end)
            try await body(&socket)
        }
    }

    mutating func more() async throws {
        guard let next = try await iterator.next() else {
            throw PaddockError.unavailable("the WebSocket closed")
        }
        buffer += next.readableBytesView
    }

    mutating func echo(_ text: String) async throws {
        let payload = Array(text.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        let frame =
            [0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try await outbound.write(ByteBuffer(bytes: frame))
        while buffer.count < 2 || buffer.count < 2 + Int(buffer[1] & 0x7f) { try await more() }
        buffer.removeFirst(2 + Int(buffer[1] & 0x7f))
    }
}

extension PreviewBenchApp {
    /// The index after an HTTP head's blank line.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count
        where bytes[i] == 0x0a && bytes[i - 1] == 0x0d && bytes[i - 2] == 0x0a && bytes[i - 3] == 0x0d {
            return i + 1
        }
        return nil
    }
}
