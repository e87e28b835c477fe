import Foundation
import PaddockCore

/// Looks for secrets in the lines a unified diff adds: the values of vault secrets (by exact match) and the
/// shapes of common credentials. Findings name the secret or pattern and the file and line, never the value.
struct SecretScanner: Sendable {
    /// Vault secret values shorter than this are not looked for: they would match ordinary text.
    static let minimumValueLength = 6

    /// Common credential shapes, by the name findings report.
    static let patterns: [(kind: String, regex: String)] = [
        ("aws_access_key", #"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"#),
        ("github_token", #"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"#),
        ("slack_token", #"\bxox[abposr]-[A-Za-z0-9-]{10,}"#),
        ("private_key", #"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"#),
        ("api_key", #"\bsk-[A-Za-z0-9_-]{20,}"#),
    ]

    /// Name → value of every vault secret to look for.
    var values: [(name: String, value: String)]

    /// `text` with every vault value replaced by `[vault secret NAME]`.
    static func redact(_ text: String, values: [(name: String, value: String)]) -> String {
        var out = text
        for secret in values where secret.value.count >= minimumValueLength && out.contains(secret.value) {
            out = out.replacingOccurrences(of: secret.value, with: "[vault secret \(secret.name)]")
        }
        return out
    }

    /// Throws when a pattern does not compile: a scan missing a pattern must not pass a change as clean.
    func scan(patch: String) throws -> [SecretFinding] {
        let compiled = try Self.patterns.map { p in
            do { return (p.kind, try NSRegularExpression(pattern: p.regex)) } catch {
                throw PaddockError(.internal, "the secret scan's \(p.kind) pattern does not compile", underlying: error)
            }
        }
        let secrets = values.filter { $0.value.count >= Self.minimumValueLength }
        var findings: [SecretFinding] = []
        var file = ""
        var line = 0
        for raw in patch.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.hasPrefix("+++ ") {
                let name = raw.dropFirst(4)
                file = name.hasPrefix("b/") ? String(name.dropFirst(2)) : String(name)
                continue
            }
            if raw.hasPrefix("--- ") || raw.hasPrefix("diff --git ") { continue }
            if raw.hasPrefix("@@") {
                // @@ -a,b +c,d @@: the next added or context line is line c of the new file.
                if let plus = raw.split(separator: " ").first(where: { $0.hasPrefix("+") }),
                    let start = Int(plus.dropFirst().split(separator: ",").first ?? "")
                {
                    line = start
                }
                continue
            }
            if raw.hasPrefix("+") {
                let text = String(raw.dropFirst())
                for secret in secrets where text.contains(secret.value) {
                    findings.append(.init(kind: "vault", name: secret.name, file: file, line: line))
                }
                let range = NSRange(text.startIndex..., in: text)
                for (kind, regex) in compiled where regex.firstMatch(in: text, range: range) != nil {
                    findings.append(.init(kind: kind, name: nil, file: file, line: line))
                }
                line += 1
            } else if raw.hasPrefix(" ") {
                line += 1
            }
        }
        return findings
    }
}

extension SecretFinding {
    /// One readable line; never the value.
    var problem: String {
        let what = kind == "vault" ? "the value of vault secret \(name ?? "?")" : "something shaped like a \(kind)"
        return "\(file):\(line) adds \(what); remove it from the change (use the secret through its placeholder)"
    }
}
