import Foundation
import PaddockCore

/// A browser connection's last admitted cookie: its next requests carry the same cookie, and while nothing about
/// access changed (the store's access epoch, the count of share revocations) and the grant has not expired, the
/// answer is the same, so they skip the signature, share and credential checks. Any change — a revoke, a sign-out,
/// a removed member — sends the next request through every check again, so a revoke still ends access at once;
/// credentials are looked at again at least every `credentialRecheck` as well.
public struct PreviewAdmission: Sendable {
    let cookie: String
    let session: SessionID
    let port: UInt16
    let grant: PreviewGrant
    let accessEpoch: UInt64
    let revocations: UInt64
    let checkedAt: Date
}

extension PreviewService {
    /// `admit(cookie:session:port:)`, answered from `cached` when it still holds; refreshes `cached`.
    public nonisolated func admit(
        cookie: String, session: SessionID, port: UInt16, cached: inout PreviewAdmission?
    ) async throws -> PreviewGrant? {
        let now = clock()
        let accessEpoch = store.accessEpoch
        let revocations = revocations.load(ordering: .acquiring)
        if let known = cached, known.cookie == cookie, known.session == session, known.port == port,
            known.accessEpoch == accessEpoch, known.revocations == revocations, now < known.grant.expiresAt,
            now.timeIntervalSince(known.checkedAt) < Self.credentialRecheck
        {
            return known.grant
        }
        cached = nil
        // The epochs were read before the checks: a change made while they run makes the next request check again.
        guard let grant = try await admit(cookie: cookie, session: session, port: port) else { return nil }
        cached = PreviewAdmission(
            cookie: cookie, session: session, port: port, grant: grant, accessEpoch: accessEpoch,
            revocations: revocations, checkedAt: now)
        return grant
    }
}
