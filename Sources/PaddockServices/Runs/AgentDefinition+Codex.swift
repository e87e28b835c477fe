import PaddockSandbox

extension AgentDefinition {
    /// Where the `codex` binary (OpenAI's Codex CLI, a static executable) is inside every sandbox,
    /// bind-mounted read-only from the host.
    public static let codexSandboxPath = SandboxLayout.toolsDirectory + "/codex"

    /// The model API Codex talks to unless `OPENAI_BASE_URL` is given in its variables (`--agent-env`).
    public static let openAIBaseURL = "https://api.openai.com/v1"

    /// The Codex CLI at its sandbox path. Its model provider is configured on the command line (so nothing
    /// in the user's `~/.codex` decides where the key goes): OpenAI's Responses API at `OPENAI_BASE_URL`, or
    /// OpenAI's own, with the session's `OPENAI_API_KEY` placeholder as the bearer the gateway swaps.
    public static func codex(env: [String: String] = [:]) -> AgentDefinition {
        AgentDefinition(
            name: "codex", kind: .codex, argv: [codexSandboxPath],
            env: ["NO_COLOR": "1"].merging(env) { $1 },
            requiredEnv: "OPENAI_API_KEY")
    }

    /// The line the wrapper adds after Codex exits when the prompt named no model: the model Codex chose.
    static let codexModelLine = "paddock.model"

    /// `codex exec --json` for one prompt, or `codex exec resume ID` to continue the session's conversation,
    /// run by a small `sh` wrapper: Codex reads stdin when it is not a terminal, so the wrapper gives it none;
    /// and when the prompt named no model, it reads the model Codex used from the turn's record in
    /// `~/.codex/sessions` (shell builtins only: no command of its own reaches the exec guard) and prints it as
    /// one more JSON line for `CodexParser`.
    func codexCommandLine(prompt: String, model: String?, resume: String?, extra: [String] = []) -> [String] {
        let baseURL = env["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.openAIBaseURL
        var args = argv + ["exec"]
        if let resume { args += ["resume", resume] }
        args += ["--json", "--skip-git-repo-check"]
        // The sandbox and Paddock's guardrails are the boundary: every command Codex runs is a real exec in the
        // session, checked by the exec guard against the session's policy, its files and network confined.
        // Codex's own sandbox (Landlock/seccomp, which an unprivileged container may not offer) and its
        // approval prompts (which would only stall a non-interactive run) are off.
        args += ["--dangerously-bypass-approvals-and-sandbox"]
        let provider = "model_providers.paddock"
        args += [
            "-c", "model_provider=\"paddock\"",
            "-c", "\(provider).name=\"OpenAI through Paddock\"",
            "-c", "\(provider).base_url=\(Self.tomlString(baseURL))",
            "-c", "\(provider).env_key=\"OPENAI_API_KEY\"",
            "-c", "\(provider).wire_api=\"responses\"",
            // No telemetry: the session's network is for the work.
            "-c", "analytics.enabled=false",
            "-c", "check_for_update_on_startup=false",
        ]
        if let model { args += ["--model", model] }
        args += extra
        // `--` ends the options, so a prompt that starts with a dash is still the prompt.
        args += ["--", prompt]
        let findModel =
            model != nil
            ? ""
            : """
            rollout=
            for f in "$HOME"/.codex/sessions/*/*/*/rollout-*"${PADDOCK_CODEX_THREAD}".jsonl; do rollout=$f; done
            model=
            if [ -f "$rollout" ]; then
              while IFS= read -r line; do
                case $line in
                  *'"type":"turn_context"'*'"model":"'*) model=${line#*'"model":"'}; model=${model%%'"'*} ;;
                esac
              done < "$rollout"
            fi
            case $model in
              ''|*[!A-Za-z0-9._:/-]*) ;;
              *) printf '{"type":"\(Self.codexModelLine)","model":"%s"}\\n' "$model" ;;
            esac
            """
        let script = """
            PADDOCK_CODEX_THREAD='\(resume.map { Self.shellSafe($0) } ?? "")'
            "$@" </dev/null
            status=$?
            \(findModel)
            exit $status
            """
        return ["/bin/sh", "-c", script, "codex"] + args
    }

    /// A conversation id as a shell word's content inside single quotes (Codex's are UUIDs).
    static func shellSafe(_ text: String) -> String {
        String(text.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    /// A TOML basic string: quoted, with backslashes and quotes escaped.
    static func tomlString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
