import Foundation
import PaddockCore
import Yams

/// `agent:` of runtime.yml: instructions, skills and MCP servers, each checked with its line and column.
extension ConfigReader {
    mutating func agent(_ node: Node) -> AgentConfig {
        var config = AgentConfig()
        guard
            let fields = mapping(
                node, "agent", allowed: ["instructions", "skills", "mcp_servers"],
                expected: "a mapping such as {instructions: {file: docs/agents.md}, skills: [...], mcp_servers: {...}}")
        else { return config }
        if let value = fields["instructions"] { config.instructions = agentInstructions(value) }
        if let value = fields["skills"] {
            for (text, item) in scalars(value, "agent.skills", expected: "a directory such as .claude/skills/review") {
                guard let path = sandboxPath(text, item, "agent.skills", example: ".claude/skills/review") else {
                    continue
                }
                let name = (path as NSString).lastPathComponent
                if config.skills.contains(where: { ($0.value as NSString).lastPathComponent == name }) {
                    report(
                        "agent.skills lists two directories named '\(name)'; a skill is known by its directory's name, "
                            + "so rename one", at: item)
                    continue
                }
                config.skills.append(Sourced(path, origin: origin(of: item)))
            }
        }
        if let value = fields["mcp_servers"] { config.mcpServers = mcpServers(value) }
        return config
    }

    /// `instructions: text` or `instructions: {file: docs/agents.md}`.
    private mutating func agentInstructions(_ node: Node) -> AgentConfig.Instructions? {
        if case .mapping = node {
            guard
                let fields = mapping(
                    node, "agent.instructions", allowed: ["file"], expected: "text, or {file: docs/agents.md}"),
                let file = fields["file"],
                let text = scalar(
                    file, "agent.instructions.file", expected: "a file of the repository such as AGENTS.md")
            else {
                report("agent.instructions needs 'file: PATH' (a file of the repository) or text", at: node)
                return nil
            }
            return sandboxPath(text, file, "agent.instructions.file", example: "docs/agents.md").map { .file($0) }
        }
        guard
            let text = scalar(
                node, "agent.instructions", expected: "text (use a block: 'instructions: |') or {file: PATH}"),
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { return nil }
        guard text.utf8.count <= AgentConfig.maxInstructionsBytes else {
            report(
                "agent.instructions is \(text.utf8.count) bytes; keep it under \(AgentConfig.maxInstructionsBytes >> 10) "
                    + "KiB, or put it in a file of the repository and write {file: PATH}", at: node)
            return nil
        }
        return .text(text)
    }

    /// A path inside the sandbox: relative to /workspace (no `..`) or absolute.
    private mutating func sandboxPath(_ text: String, _ node: Node, _ path: String, example: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: true)
        guard !text.isEmpty, !parts.isEmpty, !parts.contains(".."), !text.contains("\0"),
            !text.contains(where: \.isNewline)
        else {
            report("\(path) '\(text)' is not a path; write one inside the repository such as \(example)", at: node)
            return nil
        }
        var cleaned = parts.filter { $0 != "." }.joined(separator: "/")
        if text.hasPrefix("/") { cleaned = "/" + cleaned }
        return cleaned
    }

    private mutating func mcpServers(_ node: Node) -> [MCPServerConfig] {
        guard
            let fields = mapping(
                node, "agent.mcp_servers", allowed: nil,
                expected: "a mapping of names such as notes: {command: [python3, notes.py]}")
        else { return [] }
        var servers: [MCPServerConfig] = []
        for (name, keyNode, value) in fields.pairs {
            let path = "agent.mcp_servers.\(name)"
            guard MCPServerConfig.isValidName(name) else {
                report(
                    "MCP server name '\(name)' is not valid; use up to 64 letters, digits, - and _ (agents build "
                        + "tool names from it)", at: keyNode)
                continue
            }
            guard
                let server = mapping(
                    value, path, allowed: ["command", "env", "url", "secret"],
                    expected: "a mapping with command (a program in the template) or url (a remote server)")
            else { continue }
            let command = server["command"].map {
                scalars($0, "\(path).command", expected: "a program or argument such as python3").map(\.text)
            }
            let url = server["url"].flatMap { scalar($0, "\(path).url", expected: "an https:// URL") }
            switch (command, url) {
            case (let command?, nil):
                guard let program = command.first, !program.isEmpty else {
                    report("\(path).command is empty; write the program and its arguments", at: value)
                    continue
                }
                if let secret = server["secret"] {
                    report(
                        "\(path).secret is for remote servers; a stdio server gets a session secret's placeholder "
                            + "in env, as in env: {TOKEN: ...}", at: secret)
                }
                var env: [String: String] = [:]
                if let envNode = server["env"],
                    let pairs = mapping(
                        envNode, "\(path).env", allowed: nil, expected: "a mapping such as {DEBUG: '1'}")
                {
                    for (key, keyNode, value) in pairs.pairs {
                        guard Self.isEnvironmentName(key) else {
                            report("'\(key)' in \(path).env is not an environment variable name", at: keyNode)
                            continue
                        }
                        env[key] = scalar(value, "\(path).env.\(key)", expected: "text") ?? ""
                    }
                }
                servers.append(
                    MCPServerConfig(
                        name: name, transport: .stdio(command: command, env: env), origin: origin(of: keyNode)))
            case (nil, let url?):
                guard let parsed = URL(string: url), parsed.scheme == "https", let host = parsed.host, !host.isEmpty
                else {
                    report(
                        "\(path).url '\(url)' is not an https:// URL; remote MCP servers are reached over HTTPS through "
                            + "the session's gateway", at: server["url"] ?? value)
                    continue
                }
                if let envNode = server["env"] {
                    report(
                        "\(path).env is for stdio servers; a remote server gets its credential from 'secret'",
                        at: envNode)
                }
                var secret: String?
                if let node = server["secret"], let text = scalar(node, "\(path).secret", expected: "a secret name") {
                    if Self.isEnvironmentName(text) {
                        secret = text
                    } else {
                        report("\(path).secret '\(text)' is not a secret name such as LINEAR_API_KEY", at: node)
                    }
                }
                servers.append(
                    MCPServerConfig(
                        name: name, transport: .remote(url: url, secret: secret), origin: origin(of: keyNode)))
            case (.some, .some):
                report("\(path) has both command and url; a server is one or the other", at: keyNode)
            case (nil, nil):
                report(
                    "\(path) needs command (a program in the template, as [python3, server.py]) or url "
                        + "(https://…)", at: keyNode)
            }
        }
        return servers
    }
}

extension ConfigReader {
    /// `review: {exclude_generated: true, exclude: ["*.log"]}`.
    mutating func review(_ node: Node) -> ReviewConfig {
        var config = ReviewConfig()
        guard
            let fields = mapping(
                node, "review", allowed: ["exclude_generated", "exclude"],
                expected: "a mapping such as {exclude_generated: true, exclude: ['*.log']}")
        else { return config }
        if let value = fields["exclude_generated"],
            let text = scalar(value, "review.exclude_generated", expected: "true or false")
        {
            switch text {
            case "true": config.excludeGenerated = true
            case "false": config.excludeGenerated = false
            default: report("review.exclude_generated is true or false, not '\(text)'", at: value)
            }
        }
        if let value = fields["exclude"] {
            for (text, item) in scalars(value, "review.exclude", expected: "a pattern such as '*.log' or tmp/") {
                guard !text.isEmpty, !text.contains(".."), !text.contains(where: \.isNewline) else {
                    report("review.exclude '\(text)' is not a pattern; write one such as '*.log' or tmp/", at: item)
                    continue
                }
                config.exclude.append(text)
            }
        }
        return config
    }
}
