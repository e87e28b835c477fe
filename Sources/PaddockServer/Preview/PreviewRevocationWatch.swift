import NIOCore
import PaddockSandbox
import PaddockServices
import Synchronization

/// The shares a browser connection was let in by, watched once per connection rather than once per request: a
/// revoke closes the connection, and the app's side of the request in flight, at once (open WebSockets and
/// streaming answers included). A request under a share costs a look-up here instead of an actor call, a stream
/// and a task of its own.
final class PreviewRevocationWatch: Sendable {
    private struct State {
        var watchers: [String: Task<Void, Never>] = [:]
        var upstream: (any SandboxConnection)?
        var ended = false
    }
    private let state = Mutex(State())
    private let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    /// Watches `share` from now on; the first request under it registers with the service before it goes on, so
    /// a revoke after that point is never missed.
    func watch(_ share: String, previews: PreviewService) async {
        if state.withLock({ $0.ended || $0.watchers[share] != nil }) { return }
        let revoked = await previews.revocation(of: share)
        let task = Task { [self] in
            for await _ in revoked {}
            // Finished by the revoke, not by the connection ending: cut both sides.
            guard !Task.isCancelled else { return }
            await state.withLock { $0.upstream }?.close()
            channel.close(promise: nil)
        }
        let kept = state.withLock { state in
            guard !state.ended, state.watchers[share] == nil else { return false }
            state.watchers[share] = task
            return true
        }
        if !kept { task.cancel() }
    }

    /// The app's connection of the request in flight (nil between requests), which a revoke closes too.
    func serving(_ upstream: (any SandboxConnection)?) { state.withLock { $0.upstream = upstream } }

    /// The browser's connection ended: so do its watches.
    func end() {
        let tasks = state.withLock { state in
            state.ended = true
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        for task in tasks { task.cancel() }
    }
}
