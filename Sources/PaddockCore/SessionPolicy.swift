/// The policy a session runs under, stored with it: the runtime.yml texts it was built from (so it can be
/// rebuilt and audited) and the effective policy, layered, as readable lines and as data.
public struct SessionPolicy: Codable, Sendable, Equatable {
    /// One layer's file as it was given.
    public struct Source: Codable, Sendable, Equatable {
        /// `org`, `team`, `repository` or `session`.
        public var layer: String
        public var file: String
        public var text: String

        public init(layer: String, file: String, text: String) {
            self.layer = layer
            self.file = file
            self.text = text
        }
    }

    public var sources: [Source]
    /// Every rule and limit in force, one per line with its origin (`paddock session get`).
    public var summary: [String]
    /// What layering clamped or made ineffective.
    public var notes: [String]
    /// The effective policy as JSON (PaddockConfig's `EffectivePolicy`).
    public var effective: String
    /// Whether execs in the session go through the exec guard.
    public var guardsCommands: Bool

    public init(sources: [Source], summary: [String], notes: [String], effective: String, guardsCommands: Bool) {
        self.sources = sources
        self.summary = summary
        self.notes = notes
        self.effective = effective
        self.guardsCommands = guardsCommands
    }
}
