import Logging
import PaddockCore
import Synchronization
import Testing

@testable import PaddockGateway

/// The audit queue: events reach the sink in order, one writer per burst, and `flush()` waits for exactly the
/// events before it — woken by the writer, not by polling.
struct GatewayAuditQueueTests {
    /// Records events; while `held`, each write waits until `release()`.
    final class Sink: GatewayAuditSink {
        private let state = Mutex<
            (events: [GatewayAuditEvent], held: Bool, waiting: [CheckedContinuation<Void, Never>])
        >(
            ([], false, []))
        let failing: Bool

        init(held: Bool = false, failing: Bool = false) {
            self.failing = failing
            state.withLock { $0.held = held }
        }

        var paths: [String] { state.withLock { $0.events.compactMap(\.path) } }

        func record(_ event: GatewayAuditEvent) async throws {
            await withCheckedContinuation { continuation in
                let wait = state.withLock { state in
                    guard state.held else { return false }
                    state.waiting.append(continuation)
                    return true
                }
                if !wait { continuation.resume() }
            }
            state.withLock { $0.events.append(event) }
            if failing { throw PaddockError.unavailable("the disk is full") }
        }

        func release() {
            let waiting = state.withLock { state in
                state.held = false
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    static func event(_ n: Int) -> GatewayAuditEvent {
        GatewayAuditEvent(
            session: "s", method: "GET", host: "example.com", port: 80, path: "/\(n)", mode: "http", decision: "allow")
    }

    static var logger: Logger {
        var logger = Logger(label: "test.audit-queue")
        logger.logLevel = .critical
        return logger
    }

    @Test func flushReturnsOnlyOnceEveryEarlierEventReachedTheSink() async {
        let sink = Sink()
        // A gather far longer than the test: the flush must cut it short rather than wait it out.
        let queue = GatewayAuditQueue(sink: sink, logger: Self.logger, gather: .seconds(3600))
        for n in 0..<50 { queue.enqueue(Self.event(n)) }
        await queue.flush()
        #expect(sink.paths == (0..<50).map { "/\($0)" })
        #expect(queue.waitingFlushes == 0)
    }

    @Test func flushWithNothingQueuedReturnsAtOnce() async {
        let sink = Sink(held: true)
        let queue = GatewayAuditQueue(sink: sink, logger: Self.logger)
        // The sink would block any write; with nothing queued there is nothing to wait for.
        await queue.flush()
        #expect(queue.waitingFlushes == 0)
        #expect(sink.paths.isEmpty)
    }

    @Test func aFlushWaitsForTheWriterAndConcurrentFlushesEachGetTheirPrefix() async throws {
        let sink = Sink(held: true)
        let queue = GatewayAuditQueue(sink: sink, logger: Self.logger, gather: .zero)
        for n in 0..<3 { queue.enqueue(Self.event(n)) }
        let seen = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await queue.flush()
                    return sink.paths
                }
            }
            // Every flush is waiting on the held sink: none has returned.
            while queue.waitingFlushes < 8 { await Task.yield() }
            // Events after the flushes started are not what they wait for, but are written too.
            queue.enqueue(Self.event(3))
            sink.release()
            var seen: [[String]] = []
            for await paths in group { seen.append(paths) }
            return seen
        }
        #expect(seen.count == 8)
        for paths in seen {
            #expect(Array(paths.prefix(3)) == ["/0", "/1", "/2"])
        }
        await queue.flush()
        #expect(sink.paths == ["/0", "/1", "/2", "/3"])
        #expect(queue.waitingFlushes == 0)
    }

    @Test func aCancelledFlushReturnsAndLeavesNothingWaiting() async {
        let sink = Sink(held: true)
        let queue = GatewayAuditQueue(sink: sink, logger: Self.logger, gather: .zero)
        queue.enqueue(Self.event(0))
        let flushing = Task { await queue.flush() }
        while queue.waitingFlushes < 1 { await Task.yield() }
        flushing.cancel()
        await flushing.value
        #expect(queue.waitingFlushes == 0)
        #expect(sink.paths.isEmpty)
        // Cancelled before it waited at all: returns too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await queue.flush()
        }
        await early.value
        #expect(queue.waitingFlushes == 0)
        sink.release()
        await queue.flush()
        #expect(sink.paths == ["/0"])
    }

    @Test func aFailingSinkIsLoggedAndTheQueueGoesOn() async {
        let sink = Sink(failing: true)
        let queue = GatewayAuditQueue(sink: sink, logger: Self.logger, gather: .zero)
        queue.enqueue(Self.event(0))
        queue.enqueue(Self.event(1))
        await queue.flush()
        #expect(sink.paths == ["/0", "/1"])
    }

    @Test func everyRestrictedRangeParses() {
        #expect(AddressGuard.ranges.count == 20)
    }
}
