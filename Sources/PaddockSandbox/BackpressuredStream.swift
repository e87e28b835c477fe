import AsyncAlgorithms

/// A stream fed by a producer task that runs only as fast as its consumer reads: each `send` waits until
/// the element is taken. File transfers and command output flow through these, so a slow client slows the
/// sandbox down (paddock-init stops reading the process's pipes) instead of data piling up in the server —
/// or being dropped, as a bounded `AsyncThrowingStream` would.
///
/// When the last copy of the stream and its iterators are gone, the producer is cancelled, so a consumer
/// that walks away (a disconnected client) releases the connection behind it.
public struct BackpressuredStream<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Channel = AsyncThrowingChannel<Element, any Error>

    private let channel: Channel
    private let producer: Producer

    /// Starts `produce`, which sends elements into the channel. Returning finishes the stream; throwing
    /// fails it with that error.
    public init(_ produce: @escaping @Sendable (Channel) async throws -> Void) {
        let channel = Channel()
        self.channel = channel
        producer = Producer(
            Task {
                do {
                    try await produce(channel)
                    channel.finish()
                } catch {
                    channel.fail(error)
                }
            })
    }

    /// Stops the producer; the consumer sees the stream end.
    public func cancel() {
        producer.task.cancel()
        channel.finish()
    }

    /// Stops the producer and waits until it has returned (its connections are closed).
    public func cancelAndWait() async {
        cancel()
        _ = await producer.task.value
    }

    public func makeAsyncIterator() -> Iterator { Iterator(inner: channel.makeAsyncIterator(), producer: producer) }

    public struct Iterator: AsyncIteratorProtocol {
        var inner: Channel.Iterator
        let producer: Producer
        public mutating func next() async throws -> Element? { try await inner.next() }
    }

    /// Owns the producer task and cancels it once nothing refers to the stream any more.
    final class Producer: Sendable {
        let task: Task<Void, Never>
        init(_ task: Task<Void, Never>) { self.task = task }
        deinit { task.cancel() }
    }
}
