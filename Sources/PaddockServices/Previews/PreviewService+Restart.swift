import Foundation
import PaddockCore
import PaddockSandbox

/// `previews: {restart: true}`: a share link (or a member) visiting a destroyed session's preview restarts it
/// from its newest snapshot — the destroy keeps one — and the preview is served by the new session from then on,
/// at the same address. A snapshot keeps files, not processes, so `previews: {start: …}` starts the app again.
extension PreviewService {
    /// Where a visit to a destroyed session's preview goes.
    public enum Restart: Sendable, Equatable {
        /// The session restarted in its place: the visit goes there.
        case replacement(SessionID)
        /// Being restarted: the visitor is shown a page that reloads itself.
        case starting
        /// Not restarted (the policy does not ask for it, or nothing to restart from): the reason.
        case ended(String?)
    }

    /// How long the app of a restarted session may take to listen before its visitors are told it is not running.
    static let restartListenDeadline: Duration = .seconds(120)
    /// How long a failed restart is reported before a visit tries again.
    static let failedRestartMemory: TimeInterval = 60

    /// The session serving `grant`'s preview now that its own ended, starting one when the policy says so.
    public func restart(for grant: PreviewGrant) async throws -> Restart {
        var id = grant.session
        // A replacement that ended in turn was replaced too, or is restarted from its own newest snapshot.
        var seen: Set<SessionID> = [id]
        while let next = try await store.previewReplacement(of: id), seen.insert(next).inserted { id = next }
        if id != grant.session, try await readiness(of: id) != .ended { return .replacement(id) }
        if restarts[id] != nil { return .starting }
        if let failed = failedRestarts[id], clock().timeIntervalSince(failed.at) < Self.failedRestartMemory {
            return .ended(failed.reason)
        }
        guard let ended = try await sessions.store.session(id), try ended.effectivePolicy()?.previews?.restart == true
        else { return .ended(nil) }
        let start = try ended.effectivePolicy()?.previews?.start
        let caller = Caller.previewVisitor(user: grant.viewer, share: grant.share)
        // Off the visitor's event loop (`ConnectionAffinity`): a restart mounts layers and starts a sandbox.
        restarts[id] = Task(executorPreference: globalConcurrentExecutor) {
            await self.restartSession(id, start: start, by: caller)
        }
        return .starting
    }

    private func restartSession(_ id: SessionID, start: String?, by caller: Caller) async {
        defer { restarts[id] = nil }
        var started: Session?
        do {
            let (replacement, snapshot) = try await SnapshotService(sessions: sessions).restart(id, by: caller)
            started = replacement
            // Processes kept by the snapshot (gVisor) run on; a files-only snapshot needs its app started.
            if let start, snapshot.keeps == .files { try await startApp(start, in: replacement.id, by: caller) }
            try await store.setPreviewReplacement(of: id, replacement.id, at: clock())
            try await sessions.record(
                id, "preview.restart",
                ["replacement": .string(replacement.id.rawValue), "snapshot": .string(snapshot.id)], by: caller)
            try await sessions.record(
                replacement.id, "preview.restart",
                ["replaces": .string(id.rawValue), "snapshot": .string(snapshot.id)],
                by: caller)
            failedRestarts[id] = nil
            logger.info(
                "preview restarted its session",
                metadata: ["session.id": "\(id)", "replacement.id": "\(replacement.id)"])
        } catch {
            let reason = (error as? PaddockError)?.message ?? "\(error)"
            failedRestarts[id] = (clock(), reason)
            logger.warning(
                "a preview could not restart its session", metadata: ["session.id": "\(id)", "error": "\(error)"])
            do {
                try await sessions.record(id, "preview.restart_failed", ["reason": .string(reason)], by: caller)
            } catch let auditError {
                logger.error(
                    "could not record a failed preview restart",
                    metadata: ["session.id": "\(id)", "error": "\(auditError)"])
            }
            // Half a restart is none: a replacement that is not recorded as serving the preview is removed, with
            // no snapshot of its own (it inherited `restart: true`, and its files are the snapshot's).
            if let started {
                do {
                    try await sessions.destroy(
                        started.id, reason: "its preview restart failed", keepingFilesForPreviews: false, by: .system)
                } catch {
                    logger.warning(
                        "could not remove the session of a failed preview restart",
                        metadata: ["session.id": "\(started.id)", "error": "\(error)"])
                }
            }
        }
    }

    /// Runs the policy's start command in the background (as the session user, in the working directory). It is
    /// not waited for: until the app listens, visits see the "Starting…" page (`isStarting`), each one a look. A
    /// command the shell cannot parse is refused before anything starts.
    private func startApp(_ command: String, in id: SessionID, by caller: Caller) async throws {
        let quoted = "'" + command.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let shell =
            "/bin/sh -n -c \(quoted) && (nohup /bin/sh -c \(quoted) >/tmp/paddock-preview-start.log 2>&1 </dev/null &)"
        let handle = try await sessions.exec(id, SessionCommand(["/bin/sh", "-c", shell]), by: caller)
        var errors: [UInt8] = []
        for try await event in handle.events {
            if case .stderr(let bytes) = event, errors.count < 4096 { errors += bytes }
            if case .exited(let exit) = event, exit.code != 0 {
                let said = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw PaddockError.unavailable(
                    "the preview's start command could not be started (exit \(exit.code))"
                        + (said.isEmpty ? "" : ": \(said)") + "; fix `previews: {start: …}` in the policy")
            }
        }
        startedApps[id] = clock()
    }

    /// Whether `id` is a restarted session whose app may still be starting: a visit that finds nothing listening
    /// is shown the "Starting…" page rather than "not running", for `restartListenDeadline` after the start.
    public func isStarting(_ id: SessionID) -> Bool {
        guard let started = startedApps[id] else { return false }
        let starting = clock().timeIntervalSince(started) < Double(Self.restartListenDeadline.components.seconds)
        if !starting { startedApps[id] = nil }
        return starting
    }
}
