import Foundation
import PaddockCore
import Yams

/// The runtime.yml v1 schema: which keys each section has and how each value is checked.
extension ConfigReader {
    static let topLevelKeys = [
        "version", "name", "template", "providers", "compute", "secrets", "guardrails", "rbac", "instructions",
        "checks", "automations", "previews", "agent", "review",
    ]

    mutating func runtimeConfig(_ root: Node) -> RuntimeConfig {
        var config = RuntimeConfig(file: file)
        guard
            let fields = mapping(
                root, "", allowed: Self.topLevelKeys, expected: "a mapping of keys such as version, name and guardrails"
            )
        else { return config }

        if let node = fields["version"] {
            if let text = scalar(node, "version", expected: "the number 1") {
                if let version = Int(text), version == RuntimeConfig.supportedVersion {
                    config.version = version
                } else {
                    report(
                        "version '\(text)' is not supported; this Paddock reads version \(RuntimeConfig.supportedVersion), "
                            + "so write 'version: \(RuntimeConfig.supportedVersion)'", at: node)
                }
            } else if Self.isNull(node) {
                report("version is empty; write 'version: 1'", at: node)
            }
        } else {
            report("'version' is missing; add 'version: 1' at the top of the file", at: root)
        }
        if let node = fields["name"], let name = scalar(node, "name", expected: "a short name such as monorepo-agent") {
            if name.isEmpty || name.count > 128 || name.contains(where: \.isNewline) {
                report("name must be 1 to 128 characters on one line", at: node)
            } else {
                config.name = name
            }
        }
        if let node = fields["template"] { config.template = template(node) }
        if let node = fields["providers"] { config.providers = providers(node) }
        if let node = fields["compute"] { config.compute = compute(node) }
        if let node = fields["secrets"] { config.secrets = secrets(node) }
        if let node = fields["guardrails"] { config.guardrails = guardrails(node) }
        if let node = fields["rbac"] { config.rbac = rbac(node) }
        if let node = fields["instructions"] {
            config.instructions = scalar(
                node, "instructions", expected: "text (use a block: 'instructions: |' and indented lines)")
        }
        if let node = fields["previews"] { config.previews = previews(node) }
        if let node = fields["agent"] { config.agent = agent(node) }
        if let node = fields["review"] { config.review = review(node) }
        if let node = fields["checks"] {
            config.checks = scalars(node, "checks", expected: "a shell command such as 'npm test'").compactMap {
                guard !$0.text.trimmingCharacters(in: .whitespaces).isEmpty else {
                    report("a check cannot be empty; write a shell command such as 'npm test'", at: $0.node)
                    return nil
                }
                return $0.text
            }
        }
        if let node = fields["automations"] { config.automations = automations(node) }
        checkSecretsReachable(config)
        return config
    }

    // MARK: template, providers, compute

    private mutating func template(_ node: Node) -> TemplateConfig? {
        // `template: host` is shorthand for `template: {base: host}`.
        if case .scalar = node, !Self.isNull(node) {
            guard let base = templateName(node, "template") else { return nil }
            return TemplateConfig(base: base)
        }
        guard
            let fields = mapping(
                node, "template", allowed: ["base", "install", "pool"],
                expected: "a mapping such as {base: host, install: [...], pool: {size: 2}}")
        else { return nil }
        var template = TemplateConfig()
        if let base = fields["base"] { template.base = templateName(base, "template.base") }
        if let install = fields["install"] {
            template.install = scalars(install, "template.install", expected: "a shell command").map(\.text)
        }
        if let pool = fields["pool"],
            let poolFields = mapping(pool, "template.pool", allowed: ["size"], expected: "a mapping such as {size: 2}"),
            let size = poolFields["size"]
        {
            template.poolSize = integer(size, "template.pool.size", range: 0...1000, example: "2")?.value
        }
        return template
    }

    private mutating func templateName(_ node: Node, _ path: String) -> String? {
        guard let name = scalar(node, path, expected: "a template name such as host") else { return nil }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:/".contains($0) }) else {
            report(
                "\(path) '\(name)' is not a template name; use letters, digits and - _ . : /, such as host", at: node)
            return nil
        }
        return name
    }

    private mutating func providers(_ node: Node) -> Sourced<[String]>? {
        var names: [String] = []
        for (text, item) in scalars(node, "providers", expected: "a provider name") {
            guard RuntimeConfig.knownProviders.contains(text) else {
                var message = "unknown provider '\(text)'"
                if let suggestion = Spelling.suggestion(for: text, among: RuntimeConfig.knownProviders) {
                    message += "; did you mean '\(suggestion)'?"
                }
                report(message + " Providers: \(RuntimeConfig.knownProviders.joined(separator: ", "))", at: item)
                continue
            }
            if !names.contains(text) { names.append(text) }
        }
        if names.isEmpty, !Self.isNull(node), case .sequence(let items) = node, items.isEmpty {
            report("providers is an empty list; list at least one (local, gvisor) or remove the key", at: node)
        }
        return names.isEmpty ? nil : Sourced(names, origin: origin(of: node))
    }

    private mutating func compute(_ node: Node) -> ComputeConfig {
        var compute = ComputeConfig()
        guard
            let fields = mapping(
                node, "compute", allowed: ["cpu", "memory", "disk", "pids", "timeout", "idle"],
                expected: "a mapping such as {cpu: 2, memory: 2GiB}")
        else { return compute }
        if let node = fields["cpu"], let text = scalar(node, "compute.cpu", expected: "a number of cores such as 2") {
            if let cores = Double(text), cores.isFinite, cores >= ResourceLimits.minCPUs,
                cores <= ResourceLimits.maxCPUs
            {
                compute.cpu = Sourced(cores, origin: origin(of: node))
            } else {
                report(
                    "compute.cpu must be a number of cores from \(ResourceLimits.minCPUs) to "
                        + "\(Int(ResourceLimits.maxCPUs)), such as 2 or 0.5; found '\(text)'", at: node)
            }
        }
        if let node = fields["memory"] {
            compute.memory = size(node, "compute.memory", minimum: .mebibytes(16), example: "2GiB")
        }
        if let node = fields["disk"] {
            compute.disk = size(node, "compute.disk", minimum: .mebibytes(1), example: "4GiB")
        }
        if let node = fields["pids"] {
            compute.pids = integer(node, "compute.pids", range: ResourceLimits.pidRange, example: "512")
        }
        if let node = fields["timeout"] { compute.timeout = duration(node, "compute.timeout", example: "30m") }
        if let node = fields["idle"] { compute.idle = duration(node, "compute.idle", example: "10m") }
        return compute
    }

    private mutating func size(_ node: Node, _ path: String, minimum: ByteSize, example: String) -> Sourced<ByteSize>? {
        guard let size = parsed(node, path, expected: "a size such as \(example)", ByteSize.init(parsing:)) else {
            return nil
        }
        guard size.value >= minimum else {
            report("\(path) \(size.value) is too small; use at least \(minimum), such as \(example)", at: node)
            return nil
        }
        guard size.value <= ResourceLimits.maxBytes else {
            report(
                "\(path) \(size.value) is more than the maximum of \(ResourceLimits.maxBytes), such as \(example)",
                at: node)
            return nil
        }
        return size
    }

    private mutating func duration(_ node: Node, _ path: String, example: String) -> Sourced<Duration>? {
        guard let duration = parsed(node, path, expected: "a duration such as \(example)", DurationText.parse) else {
            return nil
        }
        guard duration.value > .zero else {
            report("\(path) must be longer than zero, such as \(example); remove it for no limit", at: node)
            return nil
        }
        return duration
    }

    // MARK: secrets

    private mutating func secrets(_ node: Node) -> [SecretConfig] {
        guard
            let fields = mapping(
                node, "secrets", allowed: nil,
                expected: "a mapping of names such as STRIPE_API_KEY: {hosts: [api.stripe.com]}")
        else { return [] }
        var secrets: [SecretConfig] = []
        for (name, keyNode, value) in fields.pairs {
            let path = "secrets.\(name)"
            guard Self.isEnvironmentName(name) else {
                let fixed = String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
                report(
                    "secret name '\(name)' is not an environment variable name; use letters, digits and _, not "
                        + "starting with a digit, such as '\(fixed.first?.isNumber == true ? "_" + fixed : fixed)'",
                    at: keyNode)
                continue
            }
            // `NAME: [host, …]` is shorthand for `NAME: {hosts: [host, …]}`.
            let hostsNode: Node?
            if case .mapping = value {
                hostsNode =
                    mapping(value, path, allowed: ["hosts"], expected: "a mapping such as {hosts: [api.example.com]}")?[
                        "hosts"]
            } else {
                hostsNode = value
            }
            let items = hostsNode.map { scalars($0, "\(path).hosts", expected: "a host such as api.example.com") } ?? []
            if items.isEmpty {
                report(
                    "secret \(name) lists no hosts; add the hosts it may be sent to, as in "
                        + "'\(name): {hosts: [api.example.com]}'", at: keyNode)
            }
            let hosts = items.compactMap { secretHost($0.text, $0.node, secret: name) }
            secrets.append(SecretConfig(name: name, hosts: hosts, origin: origin(of: keyNode)))
        }
        return secrets
    }

    private mutating func secretHost(_ text: String, _ node: Node, secret: String) -> Sourced<String>? {
        let pattern: HostPattern
        do {
            pattern = try HostPattern(parsing: text)
        } catch {
            report("secrets.\(secret).hosts: \(error.message)", at: node)
            return nil
        }
        switch pattern.host {
        case .any:
            report(
                "secret \(secret) may not be sent to every host ('\(text)'); name the hosts that need it, "
                    + "such as api.example.com", at: node)
            return nil
        case .network:
            report(
                "secret \(secret) is sent by host name, and '\(text)' is an address; write the host name the "
                    + "program connects to", at: node)
            return nil
        case .name, .subdomains:
            return Sourced(text, origin: origin(of: node))
        }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
        }
    }

    /// A secret is useless, and its placeholder a trap, if the network policy of the same file refuses the host it
    /// is for. Only exact host names are checked (for `*.example.com` the policy may rightly allow just some), and
    /// only a refusal this file writes — a rule or its `default` — is an error: a file without a network section
    /// may rely on an org or team layer to allow the host, which `PolicyLayers` checks and notes.
    private mutating func checkSecretsReachable(_ config: RuntimeConfig) {
        guard !config.secrets.isEmpty, let network = try? NetworkPolicy(config.guardrails.network) else { return }
        for secret in config.secrets {
            for host in secret.hosts {
                guard let pattern = try? HostPattern(parsing: host.value), case .name(let name) = pattern.host else {
                    continue
                }
                let port = pattern.port ?? 443
                let decision = network.decide(host: name, port: port)
                guard decision.action == .deny else { continue }
                let why: String
                switch decision.reason {
                case .rule(let rule):
                    why =
                        "guardrails.network denies it with '\(rule.pattern)'"
                        + (rule.origin?.line.map { " (line \($0))" } ?? "")
                case .layerDefault:
                    why = "guardrails.network denies it by default"
                case .fallback:
                    continue
                }
                let fix =
                    decision.rule == nil
                    ? "add '\(pattern.port == nil ? name : host.value)' to guardrails.network.allow"
                    : "remove that rule or the secret's host"
                report(
                    "secret \(secret.name) is for \(name) on port \(port), but \(why); \(fix)", at: host.origin)
            }
        }
    }

    // MARK: guardrails

    private mutating func guardrails(_ node: Node) -> Guardrails {
        var guardrails = Guardrails()
        guard
            let fields = mapping(
                node, "guardrails", allowed: ["commands", "files", "network", "changes"],
                expected: "a mapping with commands, files, network and changes")
        else { return guardrails }
        if let node = fields["commands"] {
            guardrails.commands = ruleSet(node, "guardrails.commands", kind: .command)
        }
        if let node = fields["files"] { guardrails.files = files(node) }
        if let node = fields["network"] {
            guardrails.network = ruleSet(node, "guardrails.network", kind: .host)
        }
        if let node = fields["changes"] { guardrails.changes = changes(node) }
        return guardrails
    }

    enum PatternKind {
        case command
        case host

        var example: String {
            switch self {
            case .command: "a command pattern such as npm or \"git push*\""
            case .host: "a host pattern such as api.example.com, *.example.com:443 or 10.0.0.0/8"
            }
        }

        /// The canonical form, so the same rule written differently is found twice; or the parse error.
        func canonical(_ text: String) throws(PaddockError) -> String {
            switch self {
            case .command: try CommandPattern(parsing: text).canonical
            case .host: try HostPattern(parsing: text).canonical
            }
        }
    }

    private mutating func ruleSet(_ node: Node, _ path: String, kind: PatternKind) -> PolicyRuleSet {
        var set = PolicyRuleSet()
        guard
            let fields = mapping(
                node, path, allowed: ["default", "allow", "ask", "deny"],
                expected: "a mapping with default, allow, ask and deny")
        else { return set }
        var seen: [String: (action: PolicyAction, node: Node)] = [:]
        for (key, _, value) in fields.pairs {
            let keyPath = "\(path).\(key)"
            guard let action = PolicyAction(rawValue: key) else {
                guard let text = scalar(value, keyPath, expected: "allow, ask or deny") else { continue }
                guard let action = PolicyAction(rawValue: text) else {
                    var message = "\(keyPath) must be allow, ask or deny; found '\(text)'"
                    if let suggestion = Spelling.suggestion(for: text, among: PolicyAction.allCases.map(\.rawValue)) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    report(message, at: value)
                    continue
                }
                set.defaultAction = action
                set.defaultOrigin = origin(of: value)
                continue
            }
            for (text, item) in scalars(value, keyPath, expected: kind.example) {
                let canonical: String
                do {
                    canonical = try kind.canonical(text)
                } catch {
                    report("\(keyPath): \(error.message)", at: item)
                    continue
                }
                if let earlier = seen[canonical] {
                    if earlier.action != action {
                        let at = earlier.node.mark.map { " (line \($0.line), column \($0.column))" } ?? ""
                        let stricter = max(earlier.action, action)
                        report(
                            "'\(text)' is in both \(earlier.action)\(at) and \(action) in \(path); keep it in one list "
                                + "(the strictest wins, so only \(stricter) would apply)", at: item)
                    }
                    continue
                }
                seen[canonical] = (action, item)
                set.rules.append(PolicyRule(action, text, origin: origin(of: item)))
            }
        }
        return set
    }

    private mutating func files(_ node: Node) -> [FileRule] {
        guard
            let fields = mapping(
                node, "guardrails.files", allowed: ["read_only", "hidden"],
                expected: "a mapping with read_only and hidden lists")
        else { return [] }
        var rules: [FileRule] = []
        var seen: [String: (access: FileAccess, node: Node)] = [:]
        for (key, _, value) in fields.pairs {
            let access: FileAccess = key == "hidden" ? .hidden : .readOnly
            let keyPath = "guardrails.files.\(key)"
            for (text, item) in scalars(value, keyPath, expected: "a path such as .git/hooks or ~/.ssh") {
                let resolved: String
                do {
                    resolved = try FileRule.resolve(text)
                } catch {
                    report("\(keyPath): \(error.message)", at: item)
                    continue
                }
                if let earlier = seen[resolved] {
                    if earlier.access != access {
                        let at = earlier.node.mark.map { " (line \($0.line), column \($0.column))" } ?? ""
                        report(
                            "'\(text)' is both \(earlier.access)\(at) and \(access); keep it in hidden only "
                                + "(hidden already makes it unwritable)", at: item)
                    }
                    continue
                }
                seen[resolved] = (access, item)
                rules.append(FileRule(access, text, origin: origin(of: item)))
            }
        }
        return rules
    }

    private mutating func changes(_ node: Node) -> ChangePolicy {
        var changes = ChangePolicy()
        guard
            let fields = mapping(
                node, "guardrails.changes", allowed: ["max_lines", "protected_branches"],
                expected: "a mapping such as {max_lines: 500, protected_branches: [main]}")
        else { return changes }
        if let node = fields["max_lines"] {
            changes.maxLines = integer(node, "guardrails.changes.max_lines", range: 1...100_000_000, example: "500")
        }
        if let node = fields["protected_branches"] {
            for (text, item) in scalars(
                node, "guardrails.changes.protected_branches",
                expected: "a branch name or glob such as main or release/*")
            {
                if let problem = Self.branchProblem(text) {
                    report("guardrails.changes.protected_branches: '\(text)' \(problem)", at: item)
                    continue
                }
                changes.protectedBranches.append(Sourced(text, origin: origin(of: item)))
            }
        }
        return changes
    }

    /// What is wrong with a branch name or glob, following `git check-ref-format` (`*` and `?` allowed).
    static func branchProblem(_ name: String) -> String? {
        if name.hasPrefix("refs/") { return "is a full ref; write the branch name, such as main" }
        if name.isEmpty || name.hasPrefix("-") || name.hasPrefix("/") || name.hasSuffix("/") || name.hasSuffix(".")
            || name.hasSuffix(".lock") || name.contains("..") || name.contains("//") || name.contains("@{")
            || name.contains(where: { $0.isWhitespace || "~^:\\[".contains($0) || ($0.asciiValue ?? 32) < 32 })
        {
            return "is not a valid branch name; write one such as main or release/*"
        }
        return nil
    }

    // MARK: rbac

    private mutating func rbac(_ node: Node) -> [String: Set<Permission>] {
        guard
            let fields = mapping(
                node, "rbac", allowed: nil,
                expected: "a mapping of team names to permissions, such as engineering: [read, write]")
        else { return [:] }
        let names = Permission.allCases.map(\.rawValue)
        var rbac: [String: Set<Permission>] = [:]
        for (team, keyNode, value) in fields.pairs {
            guard let first = team.first, first.isLetter || first.isNumber,
                team.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else {
                report(
                    "team name '\(team)' is not valid; use letters, digits, - _ and ., such as engineering", at: keyNode
                )
                continue
            }
            var permissions = Set<Permission>()
            for (text, item) in scalars(
                value, "rbac.\(team)", expected: "a permission (\(names.joined(separator: ", ")))")
            {
                guard let permission = Permission(rawValue: text) else {
                    var message = "unknown permission '\(text)' for team \(team)"
                    if let suggestion = Spelling.suggestion(for: text, among: names) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    report(message + " Permissions: \(names.joined(separator: ", "))", at: item)
                    continue
                }
                permissions.insert(permission)
            }
            rbac[team] = permissions
        }
        return rbac
    }

    /// `previews: {max_audience: org, restart: true, start: "npm run dev -- --port 3000"}`.
    mutating func previews(_ node: Node) -> PreviewConfig {
        var config = PreviewConfig()
        guard
            let fields = mapping(
                node, "previews", allowed: ["max_audience", "restart", "start"],
                expected: "a mapping such as {max_audience: org, restart: true}")
        else { return config }
        if let value = fields["max_audience"],
            let text = scalar(value, "previews.max_audience", expected: "one of user, team, org or public")
        {
            if PreviewConfig.audiences.contains(text) {
                config.maxAudience = text
            } else {
                report("previews.max_audience '\(text)' is not one of user, team, org or public", at: value)
            }
        }
        if let value = fields["restart"], let text = scalar(value, "previews.restart", expected: "true or false") {
            switch text {
            case "true": config.restart = true
            case "false": config.restart = false
            default: report("previews.restart is true or false, not '\(text)'", at: value)
            }
        }
        if let value = fields["start"], let text = scalar(value, "previews.start", expected: "a shell command") {
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                report("previews.start is empty; name the command that starts the app, or leave it out", at: value)
            } else {
                config.start = text
            }
        }
        return config
    }
}
