import Foundation
import PaddockCore
import Synchronization

/// Live copies of the events a session's trail takes, for pages that follow a session as it happens. Only what
/// was stored is published, after it is durable; a follower that wants the past reads the trail first
/// (subscribing before reading, and skipping the sequence numbers it already has).
final class AuditFeed: Sendable {
    /// By session; under nil, those that follow every session.
    private let followers = Mutex<[SessionID?: [UUID: AsyncStream<AuditEvent>.Continuation]]>([:])

    /// One session's events, or (nil) every session's.
    func follow(session: SessionID?) -> AsyncStream<AuditEvent> {
        // A slow page loses the oldest undelivered events rather than holding the server's memory; it can
        // reload, and the trail itself is complete.
        let (stream, continuation) = AsyncStream.makeStream(
            of: AuditEvent.self, bufferingPolicy: .bufferingNewest(1000))
        let id = UUID()
        followers.withLock { $0[session, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.followers.withLock { followers in
                followers[session]?[id] = nil
                if followers[session]?.isEmpty == true { followers[session] = nil }
            }
        }
        return stream
    }

    func publish(_ event: AuditEvent) {
        let continuations = followers.withLock { followers in
            Array((followers[event.session] ?? [:]).values) + Array((followers[nil] ?? [:]).values)
        }
        for continuation in continuations { continuation.yield(event) }
    }
}
