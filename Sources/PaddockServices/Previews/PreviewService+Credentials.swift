import Foundation
import PaddockCore
import Synchronization

/// A member's preview cookie lasts hours, but their access can end sooner: they sign out, their token is
/// revoked, they leave the team, they are removed. The grant names the credential it was made from, and each
/// request checks it again — from memory while nothing about access changed (the store's `accessEpoch`) and
/// the last look is recent, from the store otherwise.
extension PreviewService {
    /// How long a look at a credential is relied on while nothing about access changes: a browser session can
    /// also end by its lifetime running out, which changes nothing in the store.
    static let credentialRecheck: TimeInterval = 30

    /// Whether the credential behind `grant` still lets its holder see the preview.
    nonisolated func stillAdmits(_ credential: String, _ grant: PreviewGrant) async throws -> Bool {
        let epoch = store.accessEpoch
        let now = clock()
        let key = "\(credential) \(grant.session) \(grant.share ?? "-")"
        if checkedCredentials.recent(key, epoch: epoch, now: now, within: Self.credentialRecheck) { return true }
        let principal: Principal?
        if credential.hasPrefix(BrowserSessions.tokenPrefix) {
            let id = String(credential.dropFirst(BrowserSessions.tokenPrefix.count))
            principal = try await store.browserSession(id: id, now: now).map(BrowserSessions.principal(of:))
        } else {
            principal = try await store.principal(tokenID: credential, now: now)
        }
        guard let principal, let session = try await sessions.store.session(grant.session) else { return false }
        let admitted: Bool
        if let shareID = grant.share {
            guard let share = try await store.previewShare(id: shareID) else { return false }
            admitted = Self.audience(share.audience, admits: principal, team: session.team)
        } else {
            admitted =
                principal.canSee(team: session.team) && principal.permissions(onTeam: session.team).contains(.read)
        }
        if admitted { checkedCredentials.remember(key, epoch: epoch, at: now) }
        return admitted
    }

    /// Whether a share link for `audience` lets `principal` in to a session of `team`.
    static func audience(_ audience: PreviewAudience, admits principal: Principal, team: String?) -> Bool {
        switch audience {
        case .public, .org: true
        case .team: principal.canSee(team: team)
        case .user(let name): principal.user == name
        }
    }
}

/// Credentials found good, with the access epoch and time of the look.
final class CheckedCredentials: Sendable {
    private let checks = Mutex<[String: (epoch: UInt64, at: Date)]>([:])
    /// A bound on memory: past it the table starts over (each credential is then looked at once more).
    static let capacity = 4096

    func recent(_ key: String, epoch: UInt64, now: Date, within seconds: TimeInterval) -> Bool {
        guard let check = checks.withLock({ $0[key] }) else { return false }
        return check.epoch == epoch && now.timeIntervalSince(check.at) < seconds
    }

    func remember(_ key: String, epoch: UInt64, at now: Date) {
        checks.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[key] = (epoch, now)
        }
    }
}
