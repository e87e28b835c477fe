import Foundation
import NIOCore
import NIOPosix

/// The floor of a proxy hop: a relay that passes bytes between a client and the app with no HTTP work at all, on
/// one event loop, in this process. `limit.preview_*` measure it next to the direct and preview numbers, so what
/// an extra loopback hop costs by itself on this host is told apart from what the preview proxy adds to it.
enum PreviewBenchRelay {
    /// Listens on loopback; each connection is relayed to `127.0.0.1:target`. Returns the server channel (close it
    /// to stop) and its port.
    static func start(target: Int) async throws -> (Channel, Int) {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { child in
                ClientBootstrap(group: child.eventLoop)
                    .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: "127.0.0.1", port: target)
                    .flatMapThrowing { upstream in
                        let (a, b) = RelayHandler.pair()
                        try child.pipeline.syncOperations.addHandler(a)
                        try upstream.pipeline.syncOperations.addHandler(b)
                        child.read()
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (server, server.localAddress?.port ?? 0)
    }

    /// One side of the relay: what it reads is written to the other side, flushed at the end of each read burst.
    final class RelayHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var peer: RelayHandler?
        private var context: ChannelHandlerContext?

        static func pair() -> (RelayHandler, RelayHandler) {
            let a = RelayHandler()
            let b = RelayHandler()
            a.peer = b
            b.peer = a
            return (a, b)
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) {
            self.context = nil
            peer = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer?.context?.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            peer?.context?.flush()
            context.read()
        }

        func channelActive(context: ChannelHandlerContext) { context.read() }

        func channelInactive(context: ChannelHandlerContext) {
            peer?.context?.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// socat relaying one connection on a loopback port to the app, for the floor of a relay in C
/// (`limit.preview_*.socat`); nil when the host has no socat (`apt-get install socat`).
enum SocatRelay {
    /// Without `fork`, the relay is socat itself, so ending it by its pid leaves no child behind.
    static func start(target: Int) async throws -> (relay: ListeningProcess, port: Int)? {
        let path = "/usr/bin/socat"
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        let port = try await PreviewBenchmark.freePort()
        // `-d -d` has it say when it listens.
        let relay = try await ListeningProcess.start(
            path,
            ["-d", "-d", "TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr,nodelay", "TCP:127.0.0.1:\(target),nodelay"],
            readyWhen: "listening on", on: .errors, what: "socat")
        return (relay, port)
    }
}
