import PaddockCore
import Testing

@testable import PaddockSandbox

/// Watching a stream in the consumer's task: what the observers see, and when.
struct BackpressuredStreamTests {
    actor Log {
        var lines: [String] = []
        func add(_ line: String) { lines.append(line) }
    }

    static func watched(_ stream: BackpressuredStream<Int>, _ log: Log, _ name: String) -> BackpressuredStream<Int> {
        stream.observed(
            each: { await log.add("\(name) \($0)") }, finished: { await log.add("\(name) finished") },
            failed: { _ in await log.add("\(name) failed") })
    }

    @Test func observersSeeEveryElementBeforeTheConsumerAndTheEndOnce() async throws {
        let log = Log()
        let stream = Self.watched(Self.watched(BackpressuredStream { await $0.send(1) }, log, "inner"), log, "outer")
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == 1)
        #expect(await log.lines == ["inner 1", "outer 1"])
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
        #expect(await log.lines == ["inner 1", "outer 1", "inner finished", "outer finished"])
    }

    @Test func aFailureReachesTheObserversAndTheConsumer() async throws {
        let log = Log()
        let stream = Self.watched(
            BackpressuredStream { _ in throw PaddockError.unavailable("gone") }, log, "watcher")
        await #expect(throws: PaddockError.self) { for try await _ in stream {} }
        #expect(await log.lines == ["watcher failed"])
    }

    @Test func anObserverThatThrowsFailsTheStream() async throws {
        let log = Log()
        let refusing = BackpressuredStream { await $0.send(1) }.observed(
            each: { _ in throw PaddockError.internal("audit write failed") }, finished: {}, failed: { _ in })
        let stream = Self.watched(refusing, log, "outer")
        await #expect(throws: PaddockError.self) { for try await _ in stream {} }
        #expect(await log.lines == ["outer failed"])
    }
}
