import Foundation
import PaddockConfig
import PaddockCore
import PaddockSandbox

extension RunService {
    /// Where each agent finds the context in the session user's home — never in /workspace, so the user's
    /// files and the change stay untouched.
    enum ContextPaths {
        static let claudeSkills = SandboxLayout.home + "/.claude/skills"
        static let codexInstructions = SandboxLayout.home + "/.codex/AGENTS.md"
        static let codexSkills = SandboxLayout.home + "/.codex/skills"
    }

    /// Checks what the context needs from the session before a run is accepted: a remote MCP server's secret
    /// must be one the session holds (its placeholder is all the agent sends).
    nonisolated func checkContext(_ context: AgentContext, session: Session) throws {
        for (server, secret) in context.remoteSecrets where session.spec.env[secret] == nil {
            throw PaddockError.invalidArgument(
                "MCP server '\(server)' (agent.mcp_servers in the policy) sends secret \(secret), which the session "
                    + "does not hold; start the session with `--secret \(secret)` (store it with `paddock secrets set "
                    + "\(secret) --hosts HOST`), or remove the server's secret")
        }
    }

    /// Puts the context where `definition`'s agent reads it and says what its command line gets. Claude Code:
    /// the instructions as `--append-system-prompt`, skills in `~/.claude/skills`, servers as `--mcp-config`.
    /// Codex: the instructions in `~/.codex/AGENTS.md` (its user-level instructions, beside the repository's
    /// own AGENTS.md), skills in `~/.codex/skills`, servers as `mcp_servers` overrides. Other agents take no
    /// context (README, "Agents").
    func prepareLaunch(_ context: AgentContext, session: Session, definition: AgentDefinition) async throws
        -> AgentLaunch
    {
        var launch = AgentLaunch()
        // The gateway audits each tool call to the remote servers from the requests themselves.
        await sessions.network?.gateway.session(session.id)?.setMCPServers(context.gatewayMCPServers)
        guard !context.isEmpty else { return launch }
        switch definition.kind {
        case .claudeCode:
            if let text = try await instructionsText(context, session: session.id) {
                launch.arguments += ["--append-system-prompt", text]
            }
            try await copySkills(context.skills, to: ContextPaths.claudeSkills, session: session.id)
            if let config = context.claudeMCPConfig(placeholders: session.spec.env) {
                launch.arguments += ["--mcp-config", config]
                // Milliseconds a server may take to start: a busy sandbox is slow, and a run is worth the wait.
                launch.env["MCP_TIMEOUT"] = "60000"
            }
        case .codex:
            if let text = try await instructionsText(context, session: session.id) {
                try await writeCodexInstructions(text, session: session.id)
            }
            try await copySkills(context.skills, to: ContextPaths.codexSkills, session: session.id)
            launch.arguments += context.codexMCPOverrides
        case .command, .miniSweAgent:
            logger.info(
                "this agent takes no agent context; its runs go without the policy's instructions, skills and MCP servers",
                metadata: ["session.id": "\(session.id)", "run.agent": "\(definition.name)"])
        }
        return launch
    }

    /// The layers' instructions, each under its layer's heading; files are read from the session when the run
    /// starts, so an edit in the session is what the next run gets.
    func instructionsText(_ context: AgentContext, session: SessionID) async throws -> String? {
        var parts: [String] = []
        for item in context.instructions {
            let text: String
            switch item.source {
            case .text(let value): text = value
            case .file(let path):
                let absolute = AgentContext.absolute(path)
                let bytes: [UInt8]
                do {
                    bytes = try await readSmallFile(absolute, session: session, limit: AgentConfig.maxInstructionsBytes)
                } catch {
                    throw Self.contextError(
                        error,
                        "agent.instructions of the \(item.layer) policy names \(absolute), which cannot be read in the "
                            + "session; add the file to the repository or fix the path")
                }
                text = String(decoding: bytes, as: UTF8.self)
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { parts.append("### From the \(item.layer) policy\n\n\(trimmed)\n") }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "\n")
    }

    /// `~/.codex/AGENTS.md` with the instructions in Paddock's block: a file the template brought keeps its own
    /// text, and the block of an earlier run is replaced.
    func writeCodexInstructions(_ text: String, session: SessionID) async throws {
        let path = ContextPaths.codexInstructions
        var original: String?
        do {
            original = String(decoding: try await readSmallFile(path, session: session, limit: 1 << 20), as: UTF8.self)
        } catch let error as PaddockError where error.code == .notFound {
            original = nil
        }
        if let current = original, let begin = current.range(of: SessionService.instructionsBegin),
            let end = current.range(of: SessionService.instructionsEnd, range: begin.upperBound..<current.endIndex)
        {
            var kept = current
            let lineEnd = kept[end.upperBound...].first == "\n" ? kept.index(after: end.upperBound) : end.upperBound
            kept.removeSubrange(begin.lowerBound..<lineEnd)
            original = kept.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : kept
        }
        let content = SessionService.withInstructions(original, text)
        try await writeFile(path, Array(content.utf8), mode: 0o644, session: session)
    }

    /// Copies each skill directory (with its files, as the session user) into `target`/NAME.
    func copySkills(_ skills: [String], to target: String, session: SessionID) async throws {
        let files = SessionFiles(sessions: sessions)
        for skill in skills {
            let name = (skill as NSString).lastPathComponent
            let entries: [SandboxFileInfo]
            do {
                entries = try await files.list(session, path: skill, depth: 16, user: .user, by: .system)
            } catch {
                throw Self.contextError(
                    error,
                    "agent.skills names \(skill), which cannot be read in the session; add the directory (with its "
                        + "SKILL.md) to the repository or the template, or fix the path")
            }
            let prefix = skill.hasSuffix("/") ? skill : skill + "/"
            for entry in entries where entry.kind == .file && entry.path.hasPrefix(prefix) {
                let relative = String(entry.path.dropFirst(prefix.count))
                let bytes = try await readSmallFile(entry.path, session: session, limit: 4 << 20)
                try await writeFile(
                    "\(target)/\(name)/\(relative)", bytes, mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644,
                    session: session)
            }
        }
    }

    /// What went wrong putting the context in place, saying which part of the policy to fix, with the cause.
    static func contextError(_ error: any Error, _ message: String) -> PaddockError {
        let cause = (error as? PaddockError)?.message ?? "\(error)"
        return PaddockError(.invalidArgument, "\(message) (\(cause))", underlying: error)
    }

    private func readSmallFile(_ path: String, session: SessionID, limit: Int) async throws -> [UInt8] {
        let (info, content) = try await SessionFiles(sessions: sessions).read(
            session, path: path, user: .user, by: .system)
        guard info.size <= UInt64(limit) else {
            throw PaddockError.invalidArgument(
                "\(path) is \(info.size) bytes; agent context files are at most \(limit >> 10) KiB")
        }
        var bytes: [UInt8] = []
        for try await chunk in content { bytes += chunk }
        return bytes
    }

    private func writeFile(_ path: String, _ bytes: [UInt8], mode: UInt32, session: SessionID) async throws {
        _ = try await SessionFiles(sessions: sessions).write(
            session, path: path, mode: mode, user: .user, createParents: true,
            data: BackpressuredStream { await $0.send(bytes) }, by: .system)
    }
}
