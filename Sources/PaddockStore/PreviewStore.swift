import Foundation
import PaddockCore

/// Durable preview share links. Only a hash of each link's secret is kept: the database alone opens nothing.
public protocol PreviewStore: Sendable {
    func insertPreviewShare(_ share: PreviewShare, secretHash: String) async throws
    /// The share with this id.
    func previewShare(id: String) async throws -> PreviewShare?
    /// The share whose link secret hashes to `secretHash`.
    func previewShare(secretHash: String) async throws -> PreviewShare?
    /// Shares of one session (or of all sessions with nil), newest first, revoked and expired ones included.
    func previewShares(session: SessionID?) async throws -> [PreviewShare]
    /// Marks a share revoked at `at`; false when it was already revoked or does not exist.
    func revokePreviewShare(id: String, at: Date) async throws -> Bool
    /// The session a visit restarted in place of the destroyed `session` (`previews: {restart: true}`), if any.
    func previewReplacement(of session: SessionID) async throws -> SessionID?
    /// Records that `replacement` now serves the previews of the destroyed `session` (the newest one wins).
    func setPreviewReplacement(of session: SessionID, _ replacement: SessionID, at: Date) async throws
}
