import Foundation
import PaddockCore
import PaddockStore

/// An invite just made: its link holds the secret, shown once and stored only as a hash.
public struct CreatedInvite: Sendable, CustomStringConvertible {
    /// The link's secret. Secret.
    public let secret: String
    public let record: InviteRecord
    /// The web UI's page for it: `/invite/<secret>`.
    public var path: String { "/invite/" + secret }
    /// `path` under the server's public URL, when it has one.
    public let url: String?

    /// Names the invite, never its secret.
    public var description: String { "invite \(record.id) (\(record.role))" }
}

/// Invites: an admin makes a link that creates one account — with a role and teams chosen in advance — for
/// whoever opens it first, before it expires. Redeeming sets the newcomer's password and signs them in.
public struct InviteService: Sendable {
    let store: any AccountStore & AccessStore
    let trail: OrgTrail
    let hasher: PasswordHasher
    let sessions: BrowserSessions
    let attempts: SignInAttempts
    let defaultTTL: Duration
    let publicURL: String?
    let clock: @Sendable () -> Date

    /// The longest an invite may last.
    public static let maxTTL = Duration.seconds(30 * 86400)

    static func hash(_ secret: String) -> String { TokenService.hash(secret) }

    /// Makes an invite (owners and admins). `user` fixes the account's name; without it the invitee picks one
    /// (or it is taken from `email`). `ttl` defaults to the server's (72 hours).
    public func create(
        role: Role = .member, teams: [String] = [], user: String? = nil, email: String? = nil, ttl: Duration? = nil,
        by caller: Caller
    ) async throws -> CreatedInvite {
        try caller.authorizeOrg(.admin)
        guard role != .owner else {
            throw PaddockError.invalidArgument(
                "there is one owner (the holder of admin.token); invite an admin instead")
        }
        let teams = Array(Set(teams)).sorted()
        for team in teams {
            try UserAccount.validateName(team, kind: "team")
            guard try await store.team(team) != nil else {
                throw PaddockError.notFound("team '\(team)' does not exist; create it with `paddock teams add \(team)`")
            }
        }
        if let user {
            try UserAccount.validateName(user, kind: "user")
            guard try await store.user(user) == nil else {
                throw PaddockError(.alreadyExists, "a user named '\(user)' already exists; pick another name")
            }
        }
        if let email { try Self.validateEmail(email) }
        let ttl = ttl ?? defaultTTL
        guard ttl >= .seconds(60), ttl <= Self.maxTTL else {
            throw PaddockError.invalidArgument(
                "an invite lasts from 1m to \(DurationText.format(Self.maxTTL)); pass --ttl within that")
        }
        let now = clock()
        let secret = "pdi_" + BrowserSessions.randomHex(32)
        let record = InviteRecord(
            id: BrowserSessions.randomHex(8), user: user, email: email, role: role, teams: teams,
            createdBy: caller.user, createdAt: now, expiresAt: now.addingTimeInterval(ttl.seconds))
        try await store.insertInvite(record, secretHash: Self.hash(secret))
        // The invite's id, never its secret: the trail is read by admins, the link is for one person.
        try await trail.record(
            "invite.create",
            [
                "id": .string(record.id), "user": .optional(user), "email": .optional(email),
                "role": .string(role.rawValue), "teams": .strings(teams),
                "expires_at": .string(ISO8601DateFormatter().string(from: record.expiresAt)),
            ], by: caller)
        let created = CreatedInvite(secret: secret, record: record, url: nil)
        return CreatedInvite(
            secret: secret, record: record, url: publicURL.map { Self.trimmed($0) + created.path })
    }

    /// Every invite, used or not (owners and admins).
    public func list(by caller: Caller) async throws -> [InviteRecord] {
        try caller.authorizeOrg(.admin)
        return try await store.invites()
    }

    /// Makes an unused invite unusable (owners and admins).
    public func revoke(id: String, by caller: Caller) async throws -> InviteRecord {
        try caller.authorizeOrg(.admin)
        let record = try await store.revokeInvite(id: id, now: clock())
        try await trail.record("invite.revoke", ["id": .string(id)], by: caller)
        return record
    }

    /// The invite behind a link, if it can still be used: for the page that asks the newcomer for a password.
    public func lookup(secret: String) async throws -> InviteRecord {
        guard let invite = try await store.invite(secretHash: Self.hash(secret)) else { throw Self.unknown }
        if let reason = invite.refusal(at: clock()) { throw Self.refused(reason, invite) }
        return invite
    }

    /// Redeems an invite: creates the account (named by the invite, else `user`, else `email`'s local part)
    /// with the invite's role and teams and `password`, marks the invite used and signs the newcomer in. A
    /// used, revoked, expired or unknown invite is refused and recorded as `signin.failed`.
    public func redeem(secret: String, user chosen: String?, password: String, address: String?, userAgent: String?)
        async throws -> IssuedBrowserSession
    {
        let keys: [SignInThrottle.Key] = [.address(address ?? "unknown")]
        let now = clock()
        if case .refused(let until, _) = attempts.withLock({ $0.check(keys, now: now) }) {
            throw SignInService.tooMany(until: until, now: now)
        }
        let hash = Self.hash(secret)
        guard let invite = try await store.invite(secretHash: hash) else {
            attempts.withLock { $0.recordFailure(keys, now: now) }
            try await recordFailure(reason: "invite_unknown", invite: nil, address: address)
            throw Self.unknown
        }
        if let reason = invite.refusal(at: now) {
            try await recordFailure(reason: "invite_\(reason)", invite: invite, address: address)
            throw Self.refused(reason, invite)
        }
        let name = try Self.name(for: invite, chosen: chosen)
        try PasswordHasher.checkStrength(password)
        let account = UserAccount(name: name, role: invite.role, createdAt: now)
        let credential = try await hasher.credential(user: name, password: password, now: now)
        let redeemed = try await store.redeemInvite(secretHash: hash, account: account, password: credential, now: now)
        return try await sessions.signIn(
            account: account, method: "invite", kind: "invite.redeem", address: address, userAgent: userAgent,
            fields: [
                "id": .string(redeemed.id), "user": .string(name), "role": .string(redeemed.role.rawValue),
                "teams": .strings(redeemed.teams), "created_by": .string(redeemed.createdBy),
            ])
    }

    private func recordFailure(reason: String, invite: InviteRecord?, address: String?) async throws {
        try await trail.record(
            "signin.failed",
            [
                "reason": .string(reason), "method": .string("invite"), "invite": .optional(invite?.id),
                "address": .optional(address),
            ], actor: OrgTrail.anonymousSignIn)
    }

    static let unknown = PaddockError.notFound(
        "this invite link is not valid (check it was copied whole); ask an admin for a new one")

    static func refused(_ reason: String, _ invite: InviteRecord) -> PaddockError {
        switch reason {
        case "used":
            return .conflict(
                "this invite was already used\(invite.usedBy.map { " (by '\($0)')" } ?? ""); sign in instead, or ask "
                    + "an admin for a new one")
        case "revoked": return .conflict("this invite was revoked; ask an admin for a new one")
        default:
            return .conflict(
                "this invite expired at \(ISO8601DateFormatter().string(from: invite.expiresAt)); ask an admin for a "
                    + "new one")
        }
    }

    /// The new account's name: the invite's, else the one chosen, else the email's local part made valid.
    static func name(for invite: InviteRecord, chosen: String?) throws -> String {
        let chosen = chosen?.trimmingCharacters(in: .whitespaces).lowercased()
        if let fixed = invite.user {
            if let chosen, !chosen.isEmpty, chosen != fixed {
                throw PaddockError.invalidArgument("this invite is for the user '\(fixed)'; leave the name as it is")
            }
            return fixed
        }
        if let chosen, !chosen.isEmpty {
            try UserAccount.validateName(chosen, kind: "user")
            return chosen
        }
        if let local = invite.email?.split(separator: "@").first {
            let name = UserName.derive(from: String(local))
            if let name { return name }
        }
        throw PaddockError.invalidArgument(
            "choose a user name: 1 to 64 lowercase letters, digits, '-', '_' or '.'")
    }

    static func validateEmail(_ email: String) throws(PaddockError) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), email.utf8.count <= 254,
            !email.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
        else {
            throw .invalidArgument("'\(email)' is not an email address; give one like ada@example.com, or omit it")
        }
    }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// Making valid user names out of what outside sources offer (an email's local part, an identity provider's
/// preferred name).
enum UserName {
    /// Lowercased, other characters turned into `-`, cut to 64; nil if nothing usable is left.
    static func derive(from text: String) -> String? {
        var name = String(
            text.lowercased().unicodeScalars.map { c -> Character in
                let ok =
                    (c.value >= 0x61 && c.value <= 0x7a) || (c.value >= 0x30 && c.value <= 0x39)
                    || "-_.".unicodeScalars.contains(c)
                return ok ? Character(c) : "-"
            })
        while let first = name.first, !(first.isLetter || first.isNumber) { name.removeFirst() }
        name = String(name.prefix(64))
        do {
            try UserAccount.validateName(name, kind: "user")
            return name
        } catch {
            return nil
        }
    }
}
