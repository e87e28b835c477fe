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
    private var observers: [Observer] = []

    /// Starts `produce`, which sends elements into the channel. Returning finishes the stream; throwing
    /// fails it with that error. `executorPreference` runs the producer there (a connection's event loop, so
    /// that its bytes reach a consumer on that loop without a thread hop).
    public init(
        executorPreference: (any TaskExecutor)? = nil, _ produce: @escaping @Sendable (Channel) async throws -> Void
    ) {
        let channel = Channel()
        self.channel = channel
        producer = Producer(
            Task(executorPreference: executorPreference) {
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

    /// The same stream, watched: `each` sees every element before the consumer does; then either `finished` runs
    /// (the stream ended; if it throws, the stream fails with that instead) or `failed` does (with the error the
    /// consumer is about to see). They run in the consumer's task, so a wrapper that only watches (an audit
    /// record, an idle count) costs a call per element, not a task and a hand-over. An error thrown by `each`
    /// fails the stream.
    public func observed(
        each: @escaping @Sendable (Element) async throws -> Void,
        finished: @escaping @Sendable () async throws -> Void,
        failed: @escaping @Sendable (any Error) async -> Void
    ) -> BackpressuredStream {
        var copy = self
        copy.observers.append(Observer(each: each, finished: finished, failed: failed))
        return copy
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(inner: channel.makeAsyncIterator(), producer: producer, observers: observers)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var inner: Channel.Iterator
        let producer: Producer
        let observers: [Observer]
        var ended = false

        public mutating func next() async throws -> Element? {
            if observers.isEmpty { return try await inner.next() }
            guard !ended else { return nil }
            do {
                guard let element = try await inner.next() else {
                    ended = true
                    for observer in observers { try await observer.finished() }
                    return nil
                }
                for observer in observers { try await observer.each(element) }
                return element
            } catch {
                if !ended {
                    ended = true
                    for observer in observers { await observer.failed(error) }
                }
                throw error
            }
        }
    }

    struct Observer: Sendable {
        let each: @Sendable (Element) async throws -> Void
        let finished: @Sendable () async throws -> Void
        let failed: @Sendable (any Error) async -> Void
    }

    /// Owns the producer task and cancels it once nothing refers to the stream any more.
    final class Producer: Sendable {
        let task: Task<Void, Never>
        init(_ task: Task<Void, Never>) { self.task = task }
        deinit { task.cancel() }
    }
}
