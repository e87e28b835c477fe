import PaddockCore
import Yams

/// One entry of `automations:` — a trigger defined next to the code, for the project whose runtime.yml it is.
/// The spec's `project` is left empty here: the project the file belongs to fills it in.
public struct AutomationConfig: Sendable, Equatable {
    public var spec: AutomationSpec
    /// Where the entry's name was written.
    public var origin: RuleOrigin?

    public init(spec: AutomationSpec, origin: RuleOrigin? = nil) {
        self.spec = spec
        self.origin = origin
    }
}

/// The `automations:` section: name → settings.
extension ConfigReader {
    static let automationKeys = [
        "source", "prompt", "run_as", "team", "agent", "filter", "rate_limit", "report_to", "schedule", "time_zone",
        "idempotency_key", "max_failures",
    ]

    mutating func automations(_ node: Node) -> [AutomationConfig] {
        guard
            let entries = mapping(
                node, "automations", allowed: nil,
                expected: "a mapping of automation names to their settings, such as {nightly: {source: schedule, …}}")
        else { return [] }
        var out: [AutomationConfig] = []
        for (name, keyNode, value) in entries.pairs {
            let path = "automations.\(name)"
            do { try InputLimits.checkName(name, field: "an automation's name") } catch {
                report("\(path): \(error.message)", at: keyNode)
                continue
            }
            guard
                let fields = mapping(
                    value, path, allowed: Self.automationKeys,
                    expected: "a mapping such as {source: webhook, prompt: 'Fix {{payload.title}}', run_as: alice}")
            else { continue }
            let before = errors.count
            func required(_ key: String, _ example: String) -> Node? {
                guard let node = fields[key] else {
                    report("\(path) needs '\(key)' (\(example))", at: keyNode)
                    return nil
                }
                return node
            }
            let source = required("source", "webhook or schedule").flatMap {
                parsed($0, "\(path).source", expected: "webhook, schedule, slack or github") {
                    (text: String) throws(PaddockError) in try AutomationSource(parsing: text)
                }?.value
            }
            let prompt = required("prompt", "the prompt, with {{json.path}} placeholders").flatMap {
                parsed($0, "\(path).prompt", expected: "text") { (text: String) throws(PaddockError) in
                    _ = try PromptTemplate(text)
                    return text
                }?.value
            }
            let runAs = required("run_as", "the user the work runs as").flatMap {
                parsed($0, "\(path).run_as", expected: "a user name") { (text: String) throws(PaddockError) in
                    try UserAccount.validateName(text, kind: "run_as user")
                    return text
                }?.value
            }
            var spec = AutomationSpec(
                name: name, source: source ?? .webhook, project: "", prompt: prompt ?? "", runAs: runAs ?? "")
            spec.team = fields["team"].flatMap {
                parsed($0, "\(path).team", expected: "a team name") { (text: String) throws(PaddockError) in
                    try UserAccount.validateName(text, kind: "team")
                    return text
                }?.value
            }
            spec.agent = fields["agent"].flatMap { scalar($0, "\(path).agent", expected: "an agent name") }
            if let node = fields["filter"] {
                for (text, item) in scalars(node, "\(path).filter", expected: "a rule such as payload.kind=alert") {
                    do { spec.filter.append(try AutomationFilter(parsing: text)) } catch {
                        report("\(path).filter: \(error.message)", at: item)
                    }
                }
            }
            if let node = fields["rate_limit"],
                let limit = parsed(
                    node, "\(path).rate_limit", expected: "COUNT/WINDOW such as 10/1h",
                    {
                        (text: String) throws(PaddockError) in try RateLimit(parsing: text)
                    })
            {
                spec.rateLimit = limit.value
            }
            spec.reportTo = fields["report_to"].flatMap { scalar($0, "\(path).report_to", expected: "an http(s) URL") }
            if let node = fields["schedule"] {
                spec.schedule =
                    parsed(node, "\(path).schedule", expected: "a cron expression such as '0 6 * * 1'") {
                        (text: String) throws(PaddockError) in
                        _ = try CronExpression(text)
                        return text
                    }?.value
            }
            if let node = fields["time_zone"] {
                spec.timeZone =
                    parsed(node, "\(path).time_zone", expected: "an IANA time zone such as Europe/Berlin") {
                        (text: String) throws(PaddockError) in
                        _ = try AutomationSpec.timeZone(text)
                        return text
                    }?.value
            }
            spec.idempotencyKey = fields["idempotency_key"].flatMap {
                parsed($0, "\(path).idempotency_key", expected: "header:NAME or json:PATH") {
                    (text: String) throws(PaddockError) in
                    _ = try IdempotencyKeySource(text)
                    return text
                }?.value
            }
            if let node = fields["max_failures"],
                let n = integer(node, "\(path).max_failures", range: 1...1000, example: "5")
            {
                spec.maxConsecutiveFailures = n.value
            }
            // What needs the whole entry (a schedule only on schedule automations, a URL that is a URL): checked
            // once each field read on its own, with a placeholder project since the file's project fills it in.
            if errors.count == before {
                var whole = spec
                whole.project = "placeholder"
                do { try whole.validate() } catch { report("\(path): \(error.message)", at: keyNode) }
            }
            out.append(AutomationConfig(spec: spec, origin: origin(of: keyNode)))
        }
        return out
    }
}
