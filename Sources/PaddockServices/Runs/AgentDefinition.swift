import Foundation
import PaddockCore
import PaddockSandbox

/// An agent the server can start in a session: how to build its command line and read its output.
public struct AgentDefinition: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Claude Code's CLI in print mode with stream-json output; conversations continue across prompts.
        case claudeCode = "claude-code"
        /// Any CLI that takes the prompt as an argument; its stdout lines become text events.
        case command
        /// mini-swe-agent's `mini` CLI (OpenAI-compatible models through litellm); its trajectory is the record.
        case miniSweAgent = "mini-swe-agent"
        /// OpenAI's Codex CLI (`codex exec --json`); conversations continue with `codex exec resume`.
        case codex
    }

    public var name: String
    public var kind: Kind
    /// The program and its fixed arguments. For `command`, `{prompt}` and `{model}` are replaced in every
    /// argument (`{model}` by the empty string when no model is given).
    public var argv: [String]
    /// Variables the agent gets on top of the session's (e.g. `ANTHROPIC_BASE_URL`). Never secret values: a
    /// key is a vault secret given to the session with `--secret`, so only its placeholder is ever here.
    public var env: [String: String]
    /// A session variable the agent cannot work without (its API key's placeholder), checked before starting.
    public var requiredEnv: String?

    public init(name: String, kind: Kind, argv: [String], env: [String: String] = [:], requiredEnv: String? = nil) {
        self.name = name
        self.kind = kind
        self.argv = argv
        self.env = env
        self.requiredEnv = requiredEnv
    }

    /// Where `claude-code`'s binary is inside every sandbox (bind-mounted read-only from the host).
    public static let claudeSandboxPath = SandboxLayout.toolsDirectory + "/claude"

    /// Claude Code at its sandbox path, with telemetry, error reporting and updates off.
    public static func claudeCode(env: [String: String] = [:]) -> AgentDefinition {
        AgentDefinition(
            name: "claude-code", kind: .claudeCode, argv: [claudeSandboxPath],
            env: [
                "DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
                "DISABLE_ERROR_REPORTING": "1", "DISABLE_BUG_COMMAND": "1",
            ].merging(env) { $1 }, requiredEnv: "ANTHROPIC_API_KEY")
    }

    /// The command line for one prompt. `resume` is the agent's conversation id from the session's last run;
    /// `extra` are the options the session's agent context adds (`AgentLaunch`), before the prompt.
    func commandLine(prompt: String, model: String?, resume: String?, extra: [String] = []) -> [String] {
        switch kind {
        case .claudeCode:
            var args = argv + ["--print", "--output-format", "stream-json", "--verbose"]
            // The sandbox and Paddock's guardrails are the boundary: every tool command the agent runs is a
            // real exec inside the session, checked by the seccomp exec guard against the session's policy,
            // and its files and network are confined. Claude Code's own prompts would only block a
            // non-interactive run, so its permission checks are bypassed.
            args += ["--dangerously-skip-permissions"]
            if let model { args += ["--model", model] }
            if let resume { args += ["--resume", resume] }
            args += extra
            // `--` ends the options, so a prompt that starts with a dash is still the prompt.
            return args + ["--", prompt]
        case .command:
            return argv.map {
                $0.replacingOccurrences(of: "{prompt}", with: prompt).replacingOccurrences(
                    of: "{model}", with: model ?? "")
            }
        case .miniSweAgent: return miniSweAgentCommandLine(prompt: prompt, model: model)
        case .codex: return codexCommandLine(prompt: prompt, model: model, resume: resume, extra: extra)
        }
    }

    func makeParser() -> any AgentOutputParser {
        switch kind {
        case .claudeCode: ClaudeCodeParser()
        case .command: PlainTextParser()
        case .miniSweAgent: MiniSweAgentParser()
        case .codex: CodexParser()
        }
    }

    /// Parses `NAME=["prog","--flag","{prompt}"]` (JSON argv) or `NAME=prog --flag {prompt}` (split on spaces).
    public static func command(parsing text: String) throws(PaddockError) -> AgentDefinition {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw .invalidArgument("--agent-command takes NAME=ARGV, such as my-agent='[\"my-agent\",\"{prompt}\"]'")
        }
        let name = String(text[..<eq])
        let rest = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        var argv: [String]
        if rest.hasPrefix("[") {
            guard let parsed = try? JSONDecoder().decode([String].self, from: Data(rest.utf8)) else {
                throw .invalidArgument("the argv of agent '\(name)' is not a JSON array of strings: \(rest)")
            }
            argv = parsed
        } else {
            argv = rest.split(separator: " ").map(String.init)
        }
        guard !argv.isEmpty, argv.contains(where: { $0.contains("{prompt}") }) else {
            throw .invalidArgument("the argv of agent '\(name)' must contain {prompt} where the prompt goes")
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .invalidArgument("agent names are letters, digits, - and _; '\(name)' is not")
        }
        return AgentDefinition(name: name, kind: .command, argv: argv)
    }
}
