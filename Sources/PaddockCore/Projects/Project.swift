import Foundation

/// What an engineer registers so that anyone else can start work by picking a name: the repository and its
/// default branch, the template and runtime.yml its sessions run under, the agent and model its runs use by
/// default, the instructions every run gets, the teams that may use it and the vault secrets its sessions get.
///
/// The editable part; `Project` is this plus who made it and when.
public struct ProjectSpec: Codable, Sendable, Equatable {
    /// The slug people pick (`web-app`): 1–63 lowercase letters, digits and dashes.
    public var name: String
    /// One paragraph for the people who pick the project.
    public var description: String?
    /// A git URL or an absolute path on the server's host, as `--repo` takes it.
    public var repository: String
    /// The branch sessions check out, and where approved changes merge.
    public var branch: String
    /// The template sessions start from (`host`, the built-in one, unless another is built).
    public var template: String
    /// A runtime.yml (its text): the session layer of every session of the project, under the org's and team's
    /// policy and the repository's own runtime.yml, which it can only tighten.
    public var policy: String?
    /// The agent runs use when a prompt names none (nil: the server's default).
    public var agent: String?
    /// The model runs use when a prompt names none (nil: the agent's default).
    public var model: String?
    /// Standing instructions for the agent, added to the repository's own CLAUDE.md and AGENTS.md in every
    /// session of the project (empty: none besides the repository's).
    public var instructions: String
    /// The teams whose people may see and use the project. Empty: only owners and admins.
    public var teams: [String]
    /// Vault secrets every session of the project gets as placeholders, by name (never values).
    public var secrets: [String]

    public static let defaultBranch = "main"
    /// The most instructions one project may carry: they are written into every session's instruction files.
    public static let maxInstructionsBytes = 64 << 10
    /// The largest policy a project may carry (the whole request must fit in the API's 1 MiB body limit).
    public static let maxPolicyBytes = 256 << 10
    public static let maxDescriptionBytes = 1024
    public static let maxTeams = 64
    public static let maxSecrets = 100

    public init(
        name: String, description: String? = nil, repository: String, branch: String = ProjectSpec.defaultBranch,
        template: String = SessionSpec.defaultTemplate, policy: String? = nil, agent: String? = nil,
        model: String? = nil, instructions: String = "", teams: [String] = [], secrets: [String] = []
    ) {
        self.name = name
        self.description = description
        self.repository = repository
        self.branch = branch
        self.template = template
        self.policy = policy
        self.agent = agent
        self.model = model
        self.instructions = instructions
        self.teams = teams
        self.secrets = secrets
    }

    /// The same project written the one way it is stored: blank optional text is nil, line ends are `\n`,
    /// instructions are trimmed, teams and secrets are sorted without repeats.
    public func normalized() -> ProjectSpec {
        func blankIsNil(_ text: String?) -> String? {
            guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        var spec = self
        spec.name = name.trimmingCharacters(in: .whitespaces)
        spec.description = blankIsNil(description)
        spec.repository = repository.trimmingCharacters(in: .whitespaces)
        spec.branch = branch.trimmingCharacters(in: .whitespaces)
        let template = template.trimmingCharacters(in: .whitespaces)
        spec.template = template.isEmpty ? SessionSpec.defaultTemplate : template
        // The policy keeps its own text (errors and rule origins point at its lines); only a blank one goes.
        spec.policy = blankIsNil(policy) == nil ? nil : policy?.replacingOccurrences(of: "\r\n", with: "\n")
        spec.agent = blankIsNil(agent)
        spec.model = blankIsNil(model)
        spec.instructions = instructions.replacingOccurrences(of: "\r\n", with: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        spec.teams = Array(Set(teams.map { $0.trimmingCharacters(in: .whitespaces) })).sorted()
        spec.secrets = Array(Set(secrets.map { $0.trimmingCharacters(in: .whitespaces) })).sorted()
        return spec
    }

    /// Checks everything that needs no server state. Whether the template, teams, secrets and agent exist and
    /// whether the policy reads is the service's to check.
    public func validate() throws(PaddockError) {
        try Self.validate(name: name)
        if let description {
            guard description.utf8.count <= Self.maxDescriptionBytes else {
                throw .invalidArgument(
                    "the description is \(description.utf8.count) bytes; keep it to \(Self.maxDescriptionBytes) (one "
                        + "paragraph) and put the rest in the instructions")
            }
            try Self.checkText(description, field: "the description", allowingTabs: false)
        }
        try SessionRepository(url: repository, branch: branch).validate()
        try Self.checkNoCredentials(repository)
        try TemplateSpec.validate(name: template)
        if let policy {
            guard policy.utf8.count <= Self.maxPolicyBytes else {
                throw .invalidArgument(
                    "the policy is \(policy.utf8.count) bytes; a project's runtime.yml may be at most "
                        + "\(Self.maxPolicyBytes >> 10) KiB — keep the guardrails and move prose into the instructions")
            }
        }
        if let agent {
            guard (1...64).contains(agent.utf8.count),
                agent.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else {
                throw .invalidArgument(
                    "agent '\(InputLimits.printable(agent))' is not an agent name; use the name the server knows it "
                        + "by (letters, digits, - and _), such as claude-code")
            }
        }
        if let model {
            guard (1...200).contains(model.utf8.count), !model.hasPrefix("-"),
                !model.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
            else {
                throw .invalidArgument(
                    "'\(InputLimits.printable(model))' is not a model name; give one such as claude-sonnet-4-5, or "
                        + "leave it out for the agent's default")
            }
        }
        guard instructions.utf8.count <= Self.maxInstructionsBytes else {
            throw .invalidArgument(
                "the instructions are \(instructions.utf8.count) bytes; at most \(Self.maxInstructionsBytes >> 10) KiB "
                    + "go into every session — shorten them, or keep the long parts in the repository's own CLAUDE.md "
                    + "or AGENTS.md")
        }
        try Self.checkText(instructions, field: "the instructions", allowingTabs: true)
        guard teams.count <= Self.maxTeams else {
            throw .invalidArgument("the project names \(teams.count) teams; at most \(Self.maxTeams) are allowed")
        }
        for team in teams { try UserAccount.validateName(team, kind: "team") }
        guard secrets.count <= Self.maxSecrets else {
            throw .invalidArgument("the project names \(secrets.count) secrets; at most \(Self.maxSecrets) are allowed")
        }
        for secret in secrets {
            guard !secret.isEmpty, secret.utf8.count <= 128, secret.first?.isNumber == false,
                secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw .invalidArgument(
                    "secret name '\(InputLimits.printable(secret))' is not valid; name a vault secret the way it was "
                        + "stored, like STRIPE_API_KEY (`paddock secrets list` shows them)")
            }
        }
    }

    /// A project name: a slug that fits in a URL path, a DNS label and a branch name unchanged.
    public static func validate(name: String) throws(PaddockError) {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        guard (1...63).contains(bytes.count), allowed, bytes.first != 0x2D, bytes.last != 0x2D else {
            throw .invalidArgument(
                "project name '\(InputLimits.printable(name))' is not valid; use 1 to 63 lowercase letters, digits "
                    + "and '-', starting and ending with a letter or digit, like web-app")
        }
    }

    /// Everyone who may use the project sees its URL, so it must not carry a password or token: an `https://`
    /// URL with any user part (tokens often go there), or any URL with a password. `git@host:path` and
    /// `ssh://git@host/path` name a user only, and the server's own SSH key or credential helper does the rest.
    static func checkNoCredentials(_ url: String) throws(PaddockError) {
        guard let scheme = url.range(of: "://") else { return }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return }
        let user = authority[..<at]
        let http = url.lowercased().hasPrefix("http")
        guard user.contains(":") || (http && !user.isEmpty) else { return }
        throw .invalidArgument(
            "the repository URL carries a credential, which everyone who may use the project would see; give it "
                + "without one — the server clones with its own git credentials (an SSH key or credential helper on "
                + "its host)")
    }

    /// Text written into files and YAML: newlines (and, where allowed, tabs) but no other control characters.
    static func checkText(_ text: String, field: String, allowingTabs: Bool) throws(PaddockError) {
        let bad = text.unicodeScalars.first {
            let control = $0.value < 0x20 || (0x7F...0x9F).contains($0.value)
            return control && $0 != "\n" && !(allowingTabs && $0 == "\t")
        }
        if let bad {
            throw .invalidArgument(
                "there is a control character (U+\(String(bad.value, radix: 16, uppercase: true))) in \(field); "
                    + "remove it (text, newlines\(allowingTabs ? " and tabs" : "") only)")
        }
    }
}

/// A registered project: its spec, who registered and last changed it, and a revision that every change
/// increases (so two admins editing at once cannot overwrite each other unknowingly).
public struct Project: Codable, Sendable, Equatable, Identifiable {
    public var name: String
    public var description: String?
    public var repository: String
    public var branch: String
    public var template: String
    public var policy: String?
    public var agent: String?
    public var model: String?
    public var instructions: String
    public var teams: [String]
    public var secrets: [String]
    /// 1 when added; one more with every change.
    public var revision: Int
    public var createdBy: String
    public var createdAt: Date
    public var updatedBy: String
    public var updatedAt: Date

    public var id: String { name }

    /// A new project made from `spec` by `user` at `date`.
    public init(_ spec: ProjectSpec, by user: String, at date: Date) {
        name = spec.name
        description = spec.description
        repository = spec.repository
        branch = spec.branch
        template = spec.template
        policy = spec.policy
        agent = spec.agent
        model = spec.model
        instructions = spec.instructions
        teams = spec.teams
        secrets = spec.secrets
        revision = 1
        createdBy = user
        createdAt = date
        updatedBy = user
        updatedAt = date
    }

    /// The editable part.
    public var spec: ProjectSpec {
        ProjectSpec(
            name: name, description: description, repository: repository, branch: branch, template: template,
            policy: policy, agent: agent, model: model, instructions: instructions, teams: teams, secrets: secrets)
    }

    /// The project with `spec` in place of its editable part, changed by `user` at `date` (one revision on).
    public func replacing(_ spec: ProjectSpec, by user: String, at date: Date) -> Project {
        var next = Project(spec, by: user, at: date)
        next.revision = revision + 1
        next.createdBy = createdBy
        next.createdAt = createdAt
        return next
    }

    /// Whether the caller may know the project exists: owners, admins and Paddock itself see every project;
    /// anyone else only those open to a team they are in (and that grants them something). The others answer
    /// "not found", like sessions of other teams.
    public func isVisible(to caller: Caller) -> Bool {
        guard let principal = caller.principal else { return true }
        return principal.role.spansAllTeams || teams.contains { principal.canSee(team: $0) }
    }
}

/// A change to a project: nil leaves a field as it is. An empty string clears the description, policy, agent,
/// model and instructions (and puts the template back to `host`); an empty list closes the project to every
/// team (admins only) or removes every secret.
public struct ProjectUpdate: Codable, Sendable, Equatable {
    public var description: String?
    public var repository: String?
    public var branch: String?
    public var template: String?
    public var policy: String?
    public var agent: String?
    public var model: String?
    public var instructions: String?
    public var teams: [String]?
    public var secrets: [String]?

    public init(
        description: String? = nil, repository: String? = nil, branch: String? = nil, template: String? = nil,
        policy: String? = nil, agent: String? = nil, model: String? = nil, instructions: String? = nil,
        teams: [String]? = nil, secrets: [String]? = nil
    ) {
        self.description = description
        self.repository = repository
        self.branch = branch
        self.template = template
        self.policy = policy
        self.agent = agent
        self.model = model
        self.instructions = instructions
        self.teams = teams
        self.secrets = secrets
    }

    /// `spec` with this change applied, normalized (blank text clears).
    public func applied(to spec: ProjectSpec) -> ProjectSpec {
        var next = spec
        if let description { next.description = description }
        if let repository { next.repository = repository }
        if let branch { next.branch = branch }
        if let template { next.template = template }
        if let policy { next.policy = policy }
        if let agent { next.agent = agent }
        if let model { next.model = model }
        if let instructions { next.instructions = instructions }
        if let teams { next.teams = teams }
        if let secrets { next.secrets = secrets }
        return next.normalized()
    }
}

extension ProjectSpec {
    /// The names of the fields that differ from `other`, in a fixed order (for the audit trail and messages).
    public func changedFields(from other: ProjectSpec) -> [String] {
        var out: [String] = []
        if description != other.description { out.append("description") }
        if repository != other.repository { out.append("repository") }
        if branch != other.branch { out.append("branch") }
        if template != other.template { out.append("template") }
        if policy != other.policy { out.append("policy") }
        if agent != other.agent { out.append("agent") }
        if model != other.model { out.append("model") }
        if instructions != other.instructions { out.append("instructions") }
        if teams != other.teams { out.append("teams") }
        if secrets != other.secrets { out.append("secrets") }
        return out
    }
}
