import Logging
import NIOConcurrencyHelpers

/// Hands the gateway's audit events to the sink in order, off the event loops, with one writer task per burst
/// of events rather than one task per request: on a small host, waking a thread for every request cost more
/// than the request's own TLS work.
///
/// The first event of a burst starts a writer that gathers for `gather`, then writes until the queue is empty.
/// `flush()` waits for the writer to report that the events before it reached the sink (and cuts a gather short
/// instead of waiting it out); nothing polls.
final class GatewayAuditQueue: Sendable {
    private let sink: any GatewayAuditSink
    private let logger: Logger
    /// How long a writer waits for more events of the same burst before it writes.
    private let gather: Duration
    private let state = NIOLockedValueBox(State())

    private struct State {
        var events: [GatewayAuditEvent] = []
        var writer = Writer.idle
        /// Counts every burst's writer, so a gather that was cut short does not start a second writer later.
        var generation = 0
        /// Events enqueued so far, and how many of them the sink has taken.
        var enqueued = 0
        var written = 0
        var flushes: [Int: Flush] = [:]
        var nextFlush = 0
    }

    private enum Writer {
        case idle
        /// A writer was started for burst `generation` and is waiting for the rest of it.
        case gathering(generation: Int)
        case writing
    }

    /// A `flush()` waiting for the events enqueued before it (`through` of them) to reach the sink.
    private struct Flush {
        let through: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    init(sink: any GatewayAuditSink, logger: Logger, gather: Duration = .milliseconds(5)) {
        self.sink = sink
        self.logger = logger
        self.gather = gather
    }

    func enqueue(_ event: GatewayAuditEvent) {
        let generation = state.withLockedValue { state -> Int? in
            state.events.append(event)
            state.enqueued += 1
            guard case .idle = state.writer else { return nil }
            state.generation += 1
            state.writer = .gathering(generation: state.generation)
            return state.generation
        }
        guard let generation else { return }
        let gather = gather
        Task {
            // The gather is a batching delay, not a wait for a condition: a flush cuts it short through
            // `beginWriting`. Only cancellation could end the sleep early, and then the batch is written at once.
            if gather > .zero {
                do { try await Task.sleep(for: gather) } catch {}
            }
            // A flush may have cut the gather short and started the writing already.
            guard self.beginWriting(generation) else { return }
            await self.write()
        }
    }

    /// Takes the writer's part for burst `generation` if it is still gathering.
    private func beginWriting(_ generation: Int) -> Bool {
        state.withLockedValue { state in
            guard case .gathering(let gathering) = state.writer, gathering == generation else { return false }
            state.writer = .writing
            return true
        }
    }

    /// Writes until the queue is empty; only one writer runs at a time, so events keep their order. A sink that
    /// fails is logged: the request has happened, and the gateway goes on serving.
    private func write() async {
        while true {
            let batch = state.withLockedValue { state -> [GatewayAuditEvent] in
                let batch = state.events
                state.events = []
                if batch.isEmpty { state.writer = .idle }
                return batch
            }
            guard !batch.isEmpty else { return }
            for event in batch {
                do { try await sink.record(event) } catch {
                    logger.error(
                        "a gateway request could not be written to the audit sink",
                        metadata: [
                            "session.id": "\(event.session)", "request.method": "\(event.method)",
                            "request.host": "\(event.host):\(event.port)", "request.decision": "\(event.decision)",
                            "error": "\(error)",
                        ])
                }
            }
            let done = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.written += batch.count
                let written = state.written
                let done = state.flushes.filter { $0.value.through <= written }
                for id in done.keys { state.flushes[id] = nil }
                return done.values.map(\.continuation)
            }
            for continuation in done { continuation.resume() }
        }
    }

    /// Returns once every event enqueued before the call has reached the sink, at once when there is none.
    /// A cancelled flush returns without waiting.
    func flush() async {
        let start = state.withLockedValue { state -> (id: Int, through: Int, cut: Int?)? in
            guard state.written < state.enqueued else { return nil }
            state.nextFlush += 1
            var cut: Int?
            if case .gathering(let generation) = state.writer {
                // Someone is waiting: the burst is written now rather than when its gather ends.
                state.writer = .writing
                cut = generation
            }
            return (state.nextFlush, state.enqueued, cut)
        }
        guard let start else { return }
        if start.cut != nil { Task { await self.write() } }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLockedValue { state -> Bool in
                    if state.written >= start.through || Task.isCancelled { return true }
                    state.flushes[start.id] = Flush(through: start.through, continuation: continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let flush = state.withLockedValue { $0.flushes.removeValue(forKey: start.id) }
            flush?.continuation.resume()
        }
    }

    /// Flushes waiting now (tests check that a cancelled one is not left behind).
    var waitingFlushes: Int { state.withLockedValue { $0.flushes.count } }
}
