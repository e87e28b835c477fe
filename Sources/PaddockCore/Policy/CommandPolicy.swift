/// The command guardrail, compiled: decides `allow`, `ask` or `deny` for a program about to start.
///
/// Built from one rule set, or from several layers (org → team → repository → session). Within a layer the
/// strictest matching rule wins (`deny` > `ask` > `allow`) and the layer's `default` decides when nothing
/// matches. Across layers the strictest layer wins, so a lower layer can add restrictions but never lift one: its
/// `allow` cannot re-allow what a higher layer denies, asks about, or denies by default. When no layer has an
/// opinion, `fallback` decides.
///
/// Rules are indexed by program name and path once, so a decision looks at the few rules that can match
/// instead of all of them. Pure: no I/O, no Foundation, safe to share between threads.
///
/// Pipeline patterns (`curl * | sh`) only match a shell started with `-c SCRIPT` (`bash -c 'curl x | sh'`),
/// when one pipeline of the script has commands matching the stages in order (other commands may sit between
/// them). The whole shell is then decided by that rule. A pipeline that is never written as one script — a
/// script file, `eval`, a variable, two separate execs — is out of reach of a per-exec check; deny the programs
/// themselves (`sh` reading a pipe, or `curl`) when that matters.
public struct CommandPolicy: Sendable {
    private struct Compiled: Sendable {
        let rule: PolicyRule
        let pattern: CommandPattern
    }

    /// A class so a decision walks the layers without copying (and retaining) each field of each layer.
    private final class Layer: Sendable {
        let defaultAction: PolicyAction?
        let defaultOrigin: RuleOrigin?
        /// Sorted strictest first, then in the order written, so the first match in any index list is that list's
        /// best, and a lower position always means a better match.
        let rules: [Compiled]
        /// The argument words of each rule's first stage, by rule position: what is left to check once the index
        /// has matched the program.
        let arguments: [[CommandPattern.Argument]]
        let byName: [String: [Int]]
        let byPath: [String: [Int]]
        /// Rules whose program word is a glob or `*`: checked for every decision.
        let wildcard: [Int]
        let pipelines: [Int]

        init(_ set: PolicyRuleSet, rules: [Compiled]) {
            defaultAction = set.defaultAction
            defaultOrigin = set.defaultOrigin
            self.rules = rules
            arguments = rules.map { $0.pattern.stages.first?.arguments ?? [] }
            var byName: [String: [Int]] = [:]
            var byPath: [String: [Int]] = [:]
            var wildcard: [Int] = []
            var pipelines: [Int] = []
            for (index, rule) in rules.enumerated() {
                guard !rule.pattern.isPipeline, let stage = rule.pattern.stages.first else {
                    pipelines.append(index)
                    continue
                }
                switch stage.program {
                case .name(let name): byName[name, default: []].append(index)
                case .path(let path): byPath[path, default: []].append(index)
                case .nameGlob, .pathGlob, .any: wildcard.append(index)
                }
            }
            self.byName = byName
            self.byPath = byPath
            self.wildcard = wildcard
            self.pipelines = pipelines
        }
    }

    private let layers: [Layer]
    /// What is decided when no layer has a matching rule or a default.
    public let fallback: PolicyAction
    private let hasPipelines: Bool

    /// One layer.
    public init(_ rules: PolicyRuleSet, fallback: PolicyAction = .allow) throws(PaddockError) {
        try self.init(layers: [rules], fallback: fallback)
    }

    /// Several layers, highest (org) first.
    public init(layers: [PolicyRuleSet], fallback: PolicyAction = .allow) throws(PaddockError) {
        var compiled: [Layer] = []
        for set in layers {
            let rules = try set.compiledRules { (text) throws(PaddockError) in try CommandPattern(parsing: text) }
                .map { Compiled(rule: $0.rule, pattern: $0.pattern) }
            compiled.append(Layer(set, rules: rules))
        }
        self.layers = compiled
        self.fallback = fallback
        hasPipelines = compiled.contains { !$0.pipelines.isEmpty }
    }

    /// Decides for a command line typed by a person or a test: `["git", "push", "origin", "main"]`. An `argv[0]`
    /// with a slash is taken as the executable's path too.
    public func decide(_ argv: [String]) -> PolicyDecision {
        decide(CommandInvocation(commandLine: argv))
    }

    /// Decides for a program about to start.
    public func decide(_ invocation: CommandInvocation) -> PolicyDecision {
        let names = invocation.programNames
        let paths =
            invocation.executablePaths.isEmpty ? [] : invocation.executablePaths.filter { $0.hasPrefix("/") }
        let arguments = invocation.argv.dropFirst()
        var scriptPipelines: [[ScriptCommand]]?
        if hasPipelines, names.contains(where: ShellScript.shells.contains),
            let script = ShellScript.commandString(invocation.argv)
        {
            scriptPipelines = ShellScript.pipelines(script).map { $0.map(ScriptCommand.init) }
        }

        var best: PolicyDecision?
        for layer in layers {
            let opinion = decide(
                in: layer, names: names, paths: paths, arguments: arguments, scriptPipelines: scriptPipelines)
            guard let opinion else { continue }
            guard let current = best else {
                best = opinion
                continue
            }
            if opinion.overrides(current) { best = opinion }
        }
        return best ?? PolicyDecision(fallback, .fallback)
    }

    private func decide(
        in layer: Layer, names: [String], paths: [String], arguments: ArraySlice<String>,
        scriptPipelines: [[ScriptCommand]]?
    ) -> PolicyDecision? {
        var best = Int.max
        func firstMatch(in list: [Int], _ matches: (Int) -> Bool) {
            for index in list {
                guard index < best else { return }
                if matches(index) {
                    best = index
                    return
                }
            }
        }
        for name in names {
            if let list = layer.byName[name] {
                // The name already matched through the index; only the arguments remain.
                firstMatch(in: list) { CommandPattern.matchesArguments(layer.arguments[$0], arguments) }
            }
        }
        for path in paths {
            if let list = layer.byPath[path] {
                firstMatch(in: list) { CommandPattern.matchesArguments(layer.arguments[$0], arguments) }
            }
        }
        firstMatch(in: layer.wildcard) {
            CommandPattern.matches(layer.rules[$0].pattern.stages[0], names: names, paths: paths, arguments: arguments)
        }
        if let scriptPipelines {
            firstMatch(in: layer.pipelines) { Self.matches(layer.rules[$0].pattern, anyOf: scriptPipelines) }
        }
        if best < layer.rules.count {
            let rule = layer.rules[best].rule
            return PolicyDecision(rule.action, .rule(rule))
        }
        return layer.defaultAction.map { PolicyDecision($0, .layerDefault(layer.defaultOrigin)) }
    }

    /// One command of a `sh -c` script, prepared once per decision for every pipeline rule to look at.
    private struct ScriptCommand {
        let names: [String]
        let paths: [String]
        let arguments: ArraySlice<String>
        /// The same command without `sudo`, `env`, `exec`… in front, when it had any.
        let unwrapped: (names: [String], paths: [String], arguments: ArraySlice<String>)?

        init(_ argv: [String]) {
            let invocation = CommandInvocation(commandLine: argv)
            names = invocation.programNames
            paths = invocation.executablePaths
            arguments = argv.dropFirst()
            unwrapped = ShellScript.unwrapped(argv).map { inner in
                let invocation = CommandInvocation(commandLine: inner)
                return (invocation.programNames, invocation.executablePaths, inner.dropFirst())
            }
        }

        func matches(_ stage: CommandPattern.Stage) -> Bool {
            if CommandPattern.matches(stage, names: names, paths: paths, arguments: arguments) { return true }
            guard let unwrapped else { return false }
            return CommandPattern.matches(
                stage, names: unwrapped.names, paths: unwrapped.paths, arguments: unwrapped.arguments)
        }
    }

    /// Whether one pipeline of the script has commands matching the pattern's stages, in order.
    private static func matches(_ pattern: CommandPattern, anyOf pipelines: [[ScriptCommand]]) -> Bool {
        pipelines.contains { pipeline in
            var stage = 0
            for command in pipeline where stage < pattern.stages.count {
                if command.matches(pattern.stages[stage]) { stage += 1 }
            }
            return stage == pattern.stages.count
        }
    }
}
