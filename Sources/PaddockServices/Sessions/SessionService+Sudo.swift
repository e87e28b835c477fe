import PaddockCore

extension SessionService {
    /// Lets the session's processes run commands as the sandbox's root with a passwordless `sudo`, as in E2B's
    /// base template. That root is the root of the sandbox's user namespace: the same capabilities, seccomp
    /// profile, no_new_privs and guardrails as every process in it, and what `user: root` exec already gives a
    /// caller with `write`. Audited as `session.sudo`.
    public func enableSudo(_ id: SessionID, by caller: Caller) async throws {
        let (_, provider) = try await runningProvider(id, for: caller, needs: .write)
        try await provider.initClient(id).enableSudo()
        try await record(id, "session.sudo", ["enabled": .bool(true)], by: caller)
        logger.info("sudo enabled in the session's sandbox", metadata: ["session.id": "\(id)"])
    }
}
