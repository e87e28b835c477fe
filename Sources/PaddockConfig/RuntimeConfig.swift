import Foundation
import PaddockCore
import Yams

/// A validated runtime.yml (version 1): the environment, resources, secrets, guardrails and roles of the
/// sessions of one repository — or, with most sections left out, one layer of org or team policy.
///
/// Every section is optional except `version`. Every value is checked while loading, and every problem is
/// reported with its file, line and column and what to write instead (`ConfigError`).
public struct RuntimeConfig: Sendable, Equatable {
    /// The only schema version this build reads.
    public static let supportedVersion = 1
    /// Provider names `providers:` may list.
    public static let knownProviders = ["local", "gvisor"]

    /// The file the configuration was read from, as given (used in every origin and error).
    public var file: String
    public var version: Int
    public var name: String?
    public var template: TemplateConfig?
    /// Providers sessions may run on, in order of preference; nil allows any.
    public var providers: Sourced<[String]>?
    public var compute: ComputeConfig
    public var secrets: [SecretConfig]
    public var guardrails: Guardrails
    /// Team name → what the team may do with these sessions.
    public var rbac: [String: Set<Permission>]
    /// Standing instructions for the agent (written to CLAUDE.md / AGENTS.md in the sandbox).
    public var instructions: String?
    /// Shell commands that must pass before a session's changes are submitted.
    public var checks: [String]
    /// Triggers that start work on this project (`automations:`), by name.
    public var automations: [AutomationConfig] = []
    /// Preview share links (`previews: {max_audience: org, restart: true}`).
    public var previews = PreviewConfig()
    /// The context every agent run gets (`agent: {instructions, skills, mcp_servers}`).
    public var agent = AgentConfig()
    /// What a submitted change leaves out (`review: {exclude_generated: true, exclude: [...]}`).
    public var review = ReviewConfig()

    public init(
        file: String = "runtime.yml", version: Int = RuntimeConfig.supportedVersion, name: String? = nil,
        template: TemplateConfig? = nil, providers: Sourced<[String]>? = nil, compute: ComputeConfig = ComputeConfig(),
        secrets: [SecretConfig] = [], guardrails: Guardrails = Guardrails(), rbac: [String: Set<Permission>] = [:],
        instructions: String? = nil, checks: [String] = []
    ) {
        self.file = file
        self.version = version
        self.name = name
        self.template = template
        self.providers = providers
        self.compute = compute
        self.secrets = secrets
        self.guardrails = guardrails
        self.rbac = rbac
        self.instructions = instructions
        self.checks = checks
    }

    /// Parses and validates runtime.yml text.
    ///
    /// - Parameter file: the name used in error messages and rule origins.
    /// - Throws: `ConfigError` with every problem found, in file order.
    public static func parse(_ text: String, file: String = "runtime.yml") throws(ConfigError) -> RuntimeConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(yaml: error, file: file, text: text)
        }
        guard let root else {
            throw ConfigError(file: file, line: 1, column: 1, message: "the file is empty; start it with 'version: 1'")
        }
        var reader = ConfigReader(file: file)
        let config = reader.runtimeConfig(root)
        if let error = reader.error { throw error }
        return config
    }

    /// Reads, parses and validates a runtime.yml file. This is the boundary to the rest of Paddock, so problems
    /// come back as `PaddockError`: `invalidArgument` with every located problem (see `ConfigError`), or
    /// `notFound` when there is no file.
    public static func load(path: String) throws(PaddockError) -> RuntimeConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            guard FileManager.default.fileExists(atPath: path) else {
                throw .notFound("no policy file at \(path); create a runtime.yml or pass --policy FILE")
            }
            throw .invalidArgument("cannot read \(path) as UTF-8 text; save it as UTF-8")
        }
        do {
            return try parse(text, file: path)
        } catch {
            throw error.paddockError
        }
    }
}

extension ConfigError {
    /// A YAML syntax problem, located where libyaml found it.
    init(yaml error: any Error, file: String, text: String) {
        guard let error = error as? YamlError else {
            self.init(file: file, line: 1, column: 1, message: "cannot read the YAML: \(error)")
            return
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            self.init(
                file: file, line: mark.line, column: mark.column,
                message: "YAML syntax: \(problem)\(while_); check the indentation and quoting on this line")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            self.init(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "\(keys) appears more than once in the same mapping; keep one")
        case .reader(let problem, let offset, _, _):
            let (line, column) = Self.position(ofCharacter: offset ?? 0, in: text)
            self.init(
                file: file, line: line, column: column, message: "cannot read the text: \(problem); save it as UTF-8")
        default:
            self.init(file: file, line: 1, column: 1, message: "cannot read the YAML: \(error)")
        }
    }

    private static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for ch in text.prefix(offset) {
            if ch == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
