import NIOCore
import NIOHTTP1

/// The gateway's side of an upstream HTTP connection: hands responses to the front handler, reads only while
/// the sandbox's connection can take more.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private weak var front: ProxyFrontHandler?
    /// The front's state machine's name for this connection.
    let id: ProxyFrontStateMachine.UpstreamID
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var failure: (any Error)?

    init(front: ProxyFrontHandler, id: ProxyFrontStateMachine.UpstreamID) {
        self.front = front
        self.id = id
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { front?.upstreamRead(id, unwrapInboundIn(data)) }
    func channelReadComplete(context: ChannelHandlerContext) { front?.upstreamReadComplete() }
    func channelInactive(context: ChannelHandlerContext) { front?.upstreamClosed(id, error: failure) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { front?.upstreamBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if front?.isWritable ?? true {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func frontBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
}
