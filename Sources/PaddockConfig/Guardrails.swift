import PaddockCore

/// `guardrails:` of one runtime.yml — commands, files, network and changes — as validated data with the
/// location of every rule. Layering (`PolicyLayers`) combines several of these into an `EffectivePolicy`.
public struct Guardrails: Sendable, Equatable, Codable {
    public var commands: PolicyRuleSet
    public var files: [FileRule]
    public var network: PolicyRuleSet
    public var changes: ChangePolicy

    public init(
        commands: PolicyRuleSet = PolicyRuleSet(), files: [FileRule] = [], network: PolicyRuleSet = PolicyRuleSet(),
        changes: ChangePolicy = ChangePolicy()
    ) {
        self.commands = commands
        self.files = files
        self.network = network
        self.changes = changes
    }
}
