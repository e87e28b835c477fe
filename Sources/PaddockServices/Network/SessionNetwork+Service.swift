import ServiceLifecycle

/// The gateway runs on its own event loops; as a service of the server's group it is shut down in one place
/// with the rest: every session's listener closes and the requests already made reach the audit trail before
/// the server exits.
extension SessionNetwork: Service {
    public func run() async throws {
        // Nothing to do until shutdown: the gateway serves from its event loops. Cancelled instead of asked
        // to stop gracefully, it shuts down all the same.
        do { try await gracefulShutdown() } catch {}
        await gateway.shutdown()
    }
}
