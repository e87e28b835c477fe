import Foundation
import PaddockConfig
import PaddockCore

/// What a policy decides for one command line or one connection, and why, in words a person reads: what
/// `paddock policy explain` prints, for the rules the server's sessions actually run under.
public struct PolicyExplanation: Sendable, Equatable {
    public enum Subject: Sendable, Equatable {
        case command(String)
        case host(String)
    }

    public var subject: Subject
    public var action: PolicyAction
    /// The pattern of the rule that decided; nil when a default did.
    public var rule: String?
    /// Where that rule or default is written (`team runtime.yml:4:12`); nil for the built-in default.
    public var origin: String?
    /// The whole answer as a sentence.
    public var sentence: String
}

extension GuardrailService {
    /// Explains what sessions under `policy` (over the server's org and team layers) would do with `line`, a
    /// command as a person types it; every command in the line is decided and the strictest answer is given.
    public func explain(command line: String, under policy: PolicyText?) throws -> PolicyExplanation {
        let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !line.isEmpty, line.utf8.count <= 4096 else {
            throw PaddockError.invalidArgument("type one command line (up to 4 KiB), such as: git push origin main")
        }
        let commands = try effectivePolicy(policy)?.commandPolicy() ?? CommandPolicy(layers: [])
        guard let decided = commands.decide(typed: line) else {
            throw PaddockError.invalidArgument("there is no command in that line; type one such as: npm test")
        }
        let what = decided.argv.joined(separator: " ")
        let verb =
            switch decided.decision.action {
            case .allow: "runs without asking"
            case .ask: "waits for a person to approve it"
            case .deny: "is refused"
            }
        return Self.explanation(.command(line), decided.decision, "“\(what)” \(verb)")
    }

    /// Explains whether sessions under `policy` may connect to `target`, a host with an optional `:port`.
    public func explain(host target: String, under policy: PolicyText?) throws -> PolicyExplanation {
        let target = target.trimmingCharacters(in: .whitespaces)
        var host = target
        var port: UInt16?
        if let colon = target.lastIndex(of: ":"), let number = UInt16(target[target.index(after: colon)...]) {
            host = String(target[..<colon])
            port = number
        }
        guard !host.isEmpty, host.utf8.count <= 253,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._*[]:".contains($0)) })
        else {
            throw PaddockError.invalidArgument("type a host name with an optional port, such as api.github.com:443")
        }
        let network = try effectivePolicy(policy)?.networkPolicy() ?? NetworkPolicy(layers: [])
        let decision = network.decide(host: host.lowercased(), port: port)
        let verb =
            switch decision.action {
            case .allow: "is allowed"
            case .ask: "waits for a person to approve it"
            case .deny: "is refused"
            }
        return Self.explanation(.host(target), decision, "A connection to \(target) \(verb)")
    }

    static func explanation(_ subject: PolicyExplanation.Subject, _ decision: PolicyDecision, _ opening: String)
        -> PolicyExplanation
    {
        let because: String
        switch decision.reason {
        case .rule(let rule):
            because = "the rule '\(rule.pattern)'" + (rule.origin.map { " in \($0)" } ?? "") + " says \(rule.action)"
        case .layerDefault(let origin):
            because =
                "no rule names it, and the default" + (origin.map { " set in \($0)" } ?? "") + " is \(decision.action)"
        case .fallback:
            because = "no rule names it and no layer sets a default, so Paddock's own default applies"
        }
        return PolicyExplanation(
            subject: subject, action: decision.action, rule: decision.rule?.pattern,
            origin: decision.origin?.description, sentence: "\(opening): \(because).")
    }
}
