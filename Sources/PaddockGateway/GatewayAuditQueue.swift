import NIOConcurrencyHelpers

/// Hands the gateway's audit events to the sink in order, off the event loops, with one writer task per burst
/// of events rather than one task per request: on a small host, waking a thread for every request cost more
/// than the request's own TLS work.
final class GatewayAuditQueue: Sendable {
    private let sink: any GatewayAuditSink
    private let state = NIOLockedValueBox(State())
    /// How long the writer waits for more events of the same burst before it writes.
    private let gather: Duration

    private struct State {
        var events: [GatewayAuditEvent] = []
        var writing = false
    }

    init(sink: any GatewayAuditSink, gather: Duration = .milliseconds(5)) {
        self.sink = sink
        self.gather = gather
    }

    func enqueue(_ event: GatewayAuditEvent) {
        let startWriter = state.withLockedValue { state -> Bool in
            state.events.append(event)
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if startWriter { Task { await write() } }
    }

    /// Writes until the queue is empty; only one writer runs at a time, so events keep their order.
    private func write() async {
        try? await Task.sleep(for: gather)
        while true {
            let batch = state.withLockedValue { state -> [GatewayAuditEvent] in
                let batch = state.events
                state.events = []
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            for event in batch { await sink.record(event) }
        }
    }

    /// Returns once every event enqueued before the call has reached the sink.
    func flush() async {
        while state.withLockedValue({ $0.writing || !$0.events.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
