import Synchronization
import Tracing

/// The trace of the run going in each session, so what happens to the session outside the run's own task (the
/// gateway's requests, which the gateway reports after the fact) lands in the run's trace.
public final class RunTraces: Sendable {
    public static let shared = RunTraces()

    /// A run's trace: the context its spans are children of, and its id.
    public struct Entry: Sendable {
        public let context: InstrumentationContext
        public let run: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public func begin(session: String, run: String, context: InstrumentationContext) {
        entries.withLock { $0[session] = Entry(context: context, run: run) }
    }

    public func end(session: String) {
        _ = entries.withLock { $0.removeValue(forKey: session) }
    }

    /// The trace of the session's run, if one is going.
    public func entry(session: String) -> Entry? {
        entries.withLock { $0[session] }
    }
}
