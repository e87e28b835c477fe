/// `previews:` — who a session's preview share links may reach, and whether a link outlives the session.
public struct PreviewConfig: Sendable, Equatable, Codable {
    /// The widest audience of a share link: `user`, `team`, `org` or `public`. Layers only narrow it.
    public var maxAudience: String?
    /// A visit within a share's lifetime restarts a destroyed session from its last snapshot.
    public var restart: Bool?
    /// The command that starts the app again in a restarted session (a snapshot keeps files, not processes):
    /// run in the background as the session user in /workspace, e.g. `python3 -m http.server 8000`.
    public var start: String?

    public static let audiences = ["user", "team", "org", "public"]

    public init(maxAudience: String? = nil, restart: Bool? = nil, start: String? = nil) {
        self.maxAudience = maxAudience
        self.restart = restart
        self.start = start
    }

    /// Layered: the narrower audience wins; `restart` holds only if no layer turns it off; the innermost `start`
    /// wins (the repository or session knows how its app starts).
    func narrowed(by other: PreviewConfig) -> PreviewConfig {
        var out = self
        if let theirs = other.maxAudience {
            let rank = { (a: String) in Self.audiences.firstIndex(of: a) ?? 0 }
            out.maxAudience = maxAudience.map { rank($0) <= rank(theirs) ? $0 : theirs } ?? theirs
        }
        if let theirs = other.restart { out.restart = (restart ?? true) && theirs }
        if let theirs = other.start { out.start = theirs }
        return out
    }
}
