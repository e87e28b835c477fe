import PaddockCore

extension OrgTrail {
    /// Records an event whose actor is not a `Caller`: a person signing in (named with the browser session they
    /// get) or an anonymous attempt that failed.
    func record(_ kind: String, _ fields: [String: AuditValue], actor: AuditActor) async throws {
        try await audit?.record(session: .organization, kind: kind, actor: actor, fields: fields)
    }

    /// Who a failed sign-in is attributed to: nobody was authenticated, so not the user it named.
    static let anonymousSignIn = AuditActor(user: "anonymous (sign-in)", token: nil)
}
