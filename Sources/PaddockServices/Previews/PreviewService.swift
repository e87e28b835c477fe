import Crypto
import Foundation
import Logging
import PaddockCore
import PaddockSandbox
import PaddockStore
import Synchronization

/// A share link just made: the URL carries its secret (shown once, stored only as a hash).
public struct IssuedPreviewShare: Sendable, CustomStringConvertible {
    public let share: PreviewShare
    /// The link to send. Secret.
    public let url: String
    public var description: String { share.description }
}

/// A port of a session and its private URL.
public struct PreviewLink: Sendable, Equatable {
    public var port: UInt16
    public var url: String
    /// Whether something listens on the port right now.
    public var listening: Bool
}

/// Previews: a session's ports served at their own host names (`PreviewAddress`), to its team (private) and to
/// whoever a share link names. Authorizes and audits every share, revoke and first visit; the proxy in
/// PaddockServer only moves bytes for the grants this service hands out.
///
/// Access is a signed `PreviewGrant` in a host-only cookie of the preview host, made once per browser: from a
/// share link's secret (public links at once, others after the visitor signed in to the UI), or from the UI
/// for a signed-in member (a one-use, one-minute exchange token). The link's secret and the exchange token
/// leave the URL before the app sees a request.
public actor PreviewService {
    /// Where previews are served; its port is set once the listener is bound (`--preview-listen` with port 0).
    public nonisolated var address: PreviewAddress { addressState.withLock { $0 } }
    private nonisolated let addressState: Mutex<PreviewAddress>
    let sessions: SessionService
    let store: any PreviewStore & AccountStore & AccessStore
    /// The signing key's bytes (`SymmetricKey` is not `Sendable`; one is made from these where needed).
    nonisolated let keyBytes: [UInt8]
    nonisolated var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    let clock: @Sendable () -> Date
    let logger: Logger
    /// The widest audience a share may have unless a policy says otherwise; `public` links must be allowed.
    public var maxAudience: PreviewAudience = .org
    /// Exchange tokens already used (nonce → expiry), so a leaked one cannot be replayed.
    private var usedExchanges: [String: Date] = [:]
    /// Open connections of each share, told when it is revoked.
    private var watchers: [String: [UUID: AsyncStream<Void>.Continuation]] = [:]
    /// Viewers whose first visit (by bearer token) is already in the trail.
    private var seenTokenVisits: Set<String> = []
    /// Shares as last read or revoked here, so a share's cookie is re-checked on every request without a
    /// SQLite read. Revoking goes through this actor and marks the entry before the store write, so a revoke
    /// ends access at once; a read fills only a missing entry, so it never brings a revoked share back.
    private var knownShares: [String: PreviewShare] = [:]
    /// Counts share revocations, so a connection's cached admission (`PreviewAdmission`) is checked again after one.
    nonisolated let revocations = Atomic<UInt64>(0)
    /// Restarts of destroyed sessions under way (`previews: {restart: true}`), by the session they replace.
    var restarts: [SessionID: Task<Void, Never>] = [:]
    /// Restarted sessions whose start command ran, and when (`isStarting`).
    var startedApps: [SessionID: Date] = [:]
    /// Restarts that failed lately, so every visit in the next minute is told why instead of trying again.
    var failedRestarts: [SessionID: (at: Date, reason: String)] = [:]
    /// Cookies whose signature was checked already (a browser sends the same one with every request).
    private nonisolated let verifiedCookies = VerifiedGrants()
    /// Credentials behind grants found still good, and when (`stillAdmits`).
    nonisolated let checkedCredentials = CheckedCredentials()
    private nonisolated let viewerSignature: ViewerSignature
    /// The public key apps check `X-Paddock-Viewer` with (base64url Ed25519); every command in a session gets it
    /// as `PADDOCK_PREVIEW_VIEWER_KEY`.
    public nonisolated var viewerPublicKey: String { viewerSignature.publicKey }
    public static let viewerKeyEnvironmentName = "PADDOCK_PREVIEW_VIEWER_KEY"

    /// How long a member's own access lasts in one browser before it goes through the UI again.
    public static let memberGrantLifetime: TimeInterval = 8 * 3600
    public static let exchangeLifetime: TimeInterval = 60
    public static let defaultShareTTL: TimeInterval = 24 * 3600
    public static let maxShareTTL: TimeInterval = 30 * 86400

    public init(
        sessions: SessionService, store: any PreviewStore & AccountStore & AccessStore, key: SymmetricKey,
        address: PreviewAddress,
        logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        viewerSignature = try ViewerSignature(previewKey: key)
        self.sessions = sessions
        self.store = store
        keyBytes = key.withUnsafeBytes { Array($0) }
        addressState = Mutex(address)
        self.logger = logger
        self.clock = clock
    }

    /// The port URLs name, once the listener knows it.
    public nonisolated func setPort(_ port: Int) {
        addressState.withLock { $0 = PreviewAddress(scheme: $0.scheme, domain: $0.domain, port: port) }
    }

    public func setMaxAudience(_ audience: PreviewAudience) { maxAudience = audience }

    /// The server's signing key from `path` (32 random bytes, mode 0600), made on first start: grants and
    /// share cookies outlive a restart.
    public static func loadKey(at path: String) throws -> SymmetricKey {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw PaddockError.internal("\(path) is not a preview key (32 bytes); remove it to make a new one")
            }
            return SymmetricKey(data: data)
        }
        let key = SymmetricKey(size: .bits256)
        try key.withUnsafeBytes { try AtomicFile.write(Array($0), to: path, mode: 0o600) }
        return key
    }

    // MARK: Owners

    /// The private URL of `port`, or of every port something listens on in the session.
    public func links(_ id: SessionID, port: UInt16?, by caller: Caller) async throws -> [PreviewLink] {
        let session = try await sessions.get(id, for: caller, needs: .read)
        guard session.state.holdsResources else {
            throw PaddockError.conflict("session \(id) is \(session.state.rawValue); it serves no previews")
        }
        let listening = try await sessions.listeningPorts(id)
        let ports = port.map { [$0] } ?? listening
        return ports.map {
            PreviewLink(port: $0, url: address.url(session: id, port: $0), listening: listening.contains($0))
        }
    }

    /// Makes a share link to `port`, for `audience`, valid for `ttl` seconds.
    public func share(
        _ id: SessionID, port: UInt16, ttl: TimeInterval?, audience: PreviewAudience, by caller: Caller
    ) async throws -> IssuedPreviewShare {
        let session = try await sessions.get(id, for: caller, needs: .write)
        guard port > 0 else { throw PaddockError.invalidArgument("port 0 cannot be shared; name the app's port") }
        let ttl = ttl ?? Self.defaultShareTTL
        guard ttl >= 60, ttl <= Self.maxShareTTL else {
            throw PaddockError.invalidArgument("a share lasts from 1m to 30d; pass --ttl within that")
        }
        // The session's policy (runtime.yml `previews: {max_audience: …}`, layered) decides where it says so;
        // otherwise the server's cap. A policy that cannot be read allows nothing wider than a user.
        let cap: PreviewAudience
        let capSource: String
        if let text = try session.effectivePolicy()?.previews?.maxAudience {
            cap = text == "user" ? .user("") : try PreviewAudience(parsing: text)
            capSource = "the session's policy"
        } else {
            cap = maxAudience
            capSource = "this server (--preview-max-audience)"
        }
        guard audience.breadth <= cap.breadth else {
            let shown = cap.breadth == 0 ? "user" : cap.description
            throw PaddockError.permissionDenied(
                "\(capSource) lets shares reach at most '\(shown)'; share with a narrower audience, or ask an admin "
                    + "for a policy with `previews: {max_audience: \(audience.breadth == 0 ? "user" : "\(audience)")}`")
        }
        if case .team = audience, session.team == nil {
            throw PaddockError.invalidArgument("session \(id) belongs to no team; share with org or user:NAME")
        }
        let now = clock()
        let share = PreviewShare(
            id: PreviewShare.newID(), session: id, port: port, audience: audience, createdBy: caller.user,
            createdAt: now, expiresAt: now.addingTimeInterval(ttl))
        let secret = "pvs_" + BrowserSessions.randomHex(24)
        try await store.insertPreviewShare(share, secretHash: TokenService.hash(secret))
        try await sessions.record(
            id, "preview.share",
            [
                "share": .string(share.id), "port": .int(Int64(port)), "audience": .string(audience.description),
                "expires_at": .string(ISO8601DateFormatter().string(from: share.expiresAt)),
            ], by: caller)
        return IssuedPreviewShare(
            share: share, url: address.url(session: id, port: port, path: "/?\(Self.shareParameter)=\(secret)"))
    }

    /// The query parameter of a share link; removed before the request goes on.
    public static let shareParameter = "paddock_share"

    /// Shares of a session (or of every session the caller may see), newest first.
    public func shares(session id: SessionID?, by caller: Caller) async throws -> [PreviewShare] {
        if let id { _ = try await sessions.get(id, for: caller, needs: .read) }
        var visible: [PreviewShare] = []
        var teams: [SessionID: Bool] = [:]
        for share in try await store.previewShares(session: id) {
            if teams[share.session] == nil {
                let session = try await sessions.store.session(share.session)
                teams[share.session] = session.map { s in caller.principal?.canSee(team: s.team) ?? true } ?? false
            }
            if teams[share.session] == true { visible.append(share) }
        }
        return visible
    }

    /// Ends a share at once: new visits are refused and its open connections are closed.
    /// With `session`, only a share of that session is revoked.
    public func revoke(_ shareID: String, session: SessionID? = nil, by caller: Caller) async throws -> PreviewShare {
        guard var share = try await store.previewShare(id: shareID), session == nil || share.session == session else {
            throw Self.missingShare(shareID)
        }
        do { _ = try await sessions.get(share.session, for: caller, needs: .write) } catch let e as PaddockError
            where e.code == .notFound
        { throw Self.missingShare(shareID) }
        let now = clock()
        var revoked = share
        revoked.revokedAt = revoked.revokedAt ?? now
        knownShares[shareID] = revoked
        revocations.add(1, ordering: .releasing)
        if try await store.revokePreviewShare(id: shareID, at: now) {
            share.revokedAt = now
            try await sessions.record(
                share.session, "preview.revoke", ["share": .string(shareID), "port": .int(Int64(share.port))],
                by: caller)
        }
        for watcher in (watchers.removeValue(forKey: shareID) ?? [:]).values { watcher.finish() }
        return share
    }

    static func missingShare(_ id: String) -> PaddockError {
        .notFound("preview share \(id) does not exist; `paddock preview list` shows them")
    }

    // MARK: Visitors

    /// What a share link's secret opens.
    public enum ShareOpening: Sendable, Equatable {
        /// A public link: the grant for the visitor's cookie.
        case granted(PreviewGrant)
        /// The audience is people signed in: the visitor goes through the UI first.
        case signInNeeded
        /// Unknown, expired, revoked, or for another host.
        case refused(String)
    }

    /// Opens a share link visited at `session`'s `port` without a signed-in identity.
    public func open(shareSecret: String, session: SessionID, port: UInt16) async throws -> ShareOpening {
        let share: PreviewShare
        switch try await liveShare(secret: shareSecret, session: session, port: port) {
        case .failure(let refusal): return .refused(refusal.message)
        case .success(let found): share = found
        }
        guard share.audience == .public else { return .signInNeeded }
        let grant = PreviewGrant(
            session: session, port: port, viewer: "anonymous", share: share.id, expiresAt: share.expiresAt)
        try await sessions.record(
            session, "preview.visit",
            ["share": .string(share.id), "port": .int(Int64(port)), "viewer": .string("anonymous")],
            by: .previewVisitor(user: "anonymous", share: share.id))
        return .granted(grant)
    }

    private func liveShare(secret: String, session: SessionID, port: UInt16) async throws -> Result<
        PreviewShare, PaddockError
    > {
        guard secret.hasPrefix("pvs_"), secret.utf8.count == 52,
            let share = try await store.previewShare(secretHash: TokenService.hash(secret)),
            share.session == session, share.port == port
        else { return .failure(.notFound("this preview link is not valid; ask whoever sent it for a new one")) }
        guard share.isLive(at: clock()) else {
            return .failure(
                .permissionDenied(
                    "this preview link was \(share.revokedAt == nil ? "valid until \(share.expiresAt)" : "revoked"); "
                        + "ask whoever sent it for a new one"))
        }
        return .success(share)
    }

    /// For the UI, where the visitor is signed in: a one-use, one-minute token that the preview host exchanges
    /// for its cookie. With a share link's secret, the person must be in its audience; without, they need
    /// `read` on the session's team.
    public func exchangeToken(
        for principal: Principal, session id: SessionID, port: UInt16, shareSecret: String?
    ) async throws -> String {
        let caller = Caller(principal)
        let session = try await sessions.get(id)
        var grantShare: String?
        var expires = clock().addingTimeInterval(Self.memberGrantLifetime)
        if let shareSecret {
            let share = try await liveShare(secret: shareSecret, session: id, port: port).get()
            guard Self.audience(share.audience, admits: principal, team: session.team) else {
                throw PaddockError.permissionDenied(
                    "this preview link is for \(share.audience); you are signed in as '\(principal.user)'")
            }
            grantShare = share.id
            expires = share.expiresAt
        } else {
            try caller.authorize(.read, team: session.team, hidden: SessionService.missing(id))
        }
        let grant = PreviewGrant(
            session: id, port: port, viewer: principal.user, share: grantShare, expiresAt: expires,
            nonce: BrowserSessions.randomHex(16), issuedAt: clock(), credential: principal.tokenID)
        return try grant.token(.exchange, key: key)
    }

    /// The URL of the preview host that takes an exchange token and goes on to `next`.
    public nonisolated func exchangeURL(session: SessionID, port: UInt16, token: String, next: String) -> String {
        let query = [("t", token), ("next", next)].map { "\($0)=\(Self.percentEncode($1))" }.joined(separator: "&")
        return address.url(session: session, port: port, path: "\(Self.exchangePath)?\(query)")
    }

    public static let exchangePath = "/__paddock/exchange"

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// Redeems an exchange token at the preview host it was made for: the grant for the cookie (expiring when
    /// the member's access or the share does). One use; the first visit of the viewer goes into the trail.
    public func redeem(exchange token: String, session: SessionID, port: UInt16) async throws -> PreviewGrant {
        let now = clock()
        usedExchanges = usedExchanges.filter { $0.value > now }
        guard var grant = PreviewGrant.verify(token, .exchange, key: key), grant.session == session,
            grant.port == port, let nonce = grant.nonce, let issued = grant.issued
        else { throw PaddockError.permissionDenied("this sign-in link is not valid here; open the preview again") }
        let issuedAt = Date(timeIntervalSince1970: TimeInterval(issued))
        guard now < issuedAt.addingTimeInterval(Self.exchangeLifetime), now < grant.expiresAt else {
            throw PaddockError.permissionDenied("this sign-in link expired; open the preview again")
        }
        guard usedExchanges[nonce] == nil else {
            throw PaddockError.permissionDenied("this sign-in link was used already; open the preview again")
        }
        usedExchanges[nonce] = issuedAt.addingTimeInterval(Self.exchangeLifetime)
        if let share = grant.share {
            guard try await isLive(share: share, at: now) else {
                throw PaddockError.permissionDenied("this preview link was revoked or expired")
            }
        }
        grant.nonce = nil
        grant.issued = nil
        var fields: [String: AuditValue] = ["port": .int(Int64(port)), "viewer": .string(grant.viewer)]
        if let share = grant.share { fields["share"] = .string(share) }
        try await sessions.record(
            session, "preview.visit", fields, by: .previewVisitor(user: grant.viewer, share: grant.share))
        return grant
    }

    /// The cookie value that carries `grant`.
    public nonisolated func cookieValue(_ grant: PreviewGrant) throws -> String { try grant.token(.cookie, key: key) }

    /// The grant a preview cookie carries for this host, if it is ours, unexpired and its share still live.
    /// Nonisolated: a member's own cookie is checked without waiting for the actor.
    public nonisolated func admit(cookie: String, session: SessionID, port: UInt16) async throws -> PreviewGrant? {
        guard let grant = verifiedCookies.grant(cookie, key: key), grant.session == session,
            grant.port == port, clock() < grant.expiresAt
        else { return nil }
        if let share = grant.share {
            guard try await isLive(share: share, at: clock()) else { return nil }
        }
        if let credential = grant.credential {
            guard try await stillAdmits(credential, grant) else { return nil }
        }
        return grant
    }

    /// Whether a share still opens its preview (neither revoked nor expired), from `knownShares` when it can.
    func isLive(share id: String, at now: Date) async throws -> Bool {
        if let known = knownShares[id] { return known.isLive(at: now) }
        guard let found = try await store.previewShare(id: id) else { return false }
        if knownShares[id] == nil { knownShares[id] = found }
        return knownShares[id]?.isLive(at: now) ?? false
    }

    /// A visitor with a bearer token (API clients, scripts): needs `read` on the session's team.
    public func admit(principal: Principal, session id: SessionID, port: UInt16) async throws -> PreviewGrant {
        let caller = Caller(principal)
        _ = try await sessions.get(id, for: caller, needs: .read)
        let key = "\(principal.tokenID) \(id) \(port)"
        if !seenTokenVisits.contains(key) {
            try await sessions.record(
                id, "preview.visit", ["port": .int(Int64(port)), "viewer": .string(principal.user)], by: caller)
            seenTokenVisits.insert(key)
        }
        return PreviewGrant(
            session: id, port: port, viewer: principal.user, share: nil,
            expiresAt: clock().addingTimeInterval(Self.memberGrantLifetime))
    }

    /// Where a visit to a session stands before it is forwarded.
    public enum Readiness: Sendable, Equatable {
        case running
        case paused
        /// Destroyed or failed: the preview has ended.
        case ended
        case missing
    }

    /// From the sessions' state cache; SQLite only for a session this server has not seen yet.
    public nonisolated func readiness(of id: SessionID) async throws -> Readiness {
        let state: SessionState
        if let known = sessions.states.state(of: id) {
            state = known
        } else {
            guard let session = try await sessions.store.session(id) else { return .missing }
            sessions.states.read(id, session.state)
            state = session.state
        }
        switch state {
        case .running, .creating: return .running
        case .paused: return .paused
        case .destroyed, .failed, .destroying: return .ended
        }
    }

    /// Connects an admitted visitor to the port, resuming a paused session first. `notFound` when nothing
    /// listens on the port.
    public func connect(_ grant: PreviewGrant) async throws -> any SandboxConnection {
        try await sessions.previewDial(grant.session, port: grant.port)
    }

    /// Ports listening in the session (for the page that says the app is not running).
    public func listeningPorts(_ id: SessionID) async -> [UInt16] {
        do { return try await sessions.listeningPorts(id) } catch {
            logger.warning("could not list listening ports", metadata: ["session.id": "\(id)", "error": "\(error)"])
            return []
        }
    }

    /// Finishes when `share` is revoked; the proxy closes the connection then.
    public func revocation(of share: String) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let id = UUID()
        watchers[share, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unwatch(share, id) }
        }
        return stream
    }

    private func unwatch(_ share: String, _ id: UUID) {
        watchers[share]?[id] = nil
        if watchers[share]?.isEmpty == true { watchers[share] = nil }
    }

    /// `X-Paddock-Viewer`: who is looking, signed (see `ViewerSignature`).
    public nonisolated func viewerHeader(_ grant: PreviewGrant, at now: Date) throws -> String {
        try viewerSignature.header(
            session: grant.session.rawValue, port: grant.port, viewer: grant.viewer, share: grant.share,
            at: Int64(now.timeIntervalSince1970))
    }
}
