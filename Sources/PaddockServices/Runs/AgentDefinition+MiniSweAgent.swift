import PaddockSandbox

extension AgentDefinition {
    /// Where mini-swe-agent's Python packages (a venv's `site-packages`) are inside every sandbox, bind-mounted
    /// read-only from the host. The sandbox's own Python of the same version runs them.
    public static let miniSweAgentSandboxPath = SandboxLayout.toolsDirectory + "/mini-swe-agent"

    /// mini-swe-agent run by `python` (the sandbox's Python whose version the packages were installed for,
    /// e.g. `/usr/bin/python3.11`) from its packages at their sandbox path, with first-run setup, the cost
    /// limit and litellm's download of its price list off. The model is an OpenAI-compatible one such as
    /// `openai/gpt-4.1`, reached at `OPENAI_BASE_URL` (give it with `--agent-env`); the key is the session's
    /// `OPENAI_API_KEY` placeholder.
    public static func miniSweAgent(python: String = "/usr/bin/python3", env: [String: String] = [:])
        -> AgentDefinition
    {
        AgentDefinition(
            name: "mini-swe-agent", kind: .miniSweAgent, argv: [python, "-m", "minisweagent.run.mini"],
            env: [
                "PYTHONPATH": miniSweAgentSandboxPath, "PYTHONDONTWRITEBYTECODE": "1", "MSWEA_CONFIGURED": "true",
                "MSWEA_SILENT_STARTUP": "1",
                "MSWEA_GLOBAL_CONFIG_DIR": "/tmp/.paddock-mini-swe-agent", "MSWEA_COST_TRACKING": "ignore_errors",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
                "PADDOCK_REAPER": miniSweAgentReaper,
            ].merging(env) { $1 }, requiredEnv: "OPENAI_API_KEY")
    }

    /// The trajectory's first line on stdout; the rest of the line is the trajectory file as compact JSON.
    static let miniSweAgentTrajectoryMarker = "PADDOCK-MINI-SWE-AGENT-TRAJECTORY "

    /// `mini` with no confirmations, no cost limit (Paddock's own limits apply) and its trajectory written to
    /// a file; its console output goes to stderr and, once it exits, the trajectory comes on stdout as one line
    /// after `miniSweAgentTrajectoryMarker`, which `MiniSweAgentParser` reads.
    ///
    /// mini-swe-agent starts every command in a session of its own, out of reach of the signals that stop the
    /// agent's process group; when the run is stopped, the wrapper kills every process that carries this
    /// run's `PADDOCK_RUN` variable (which its commands inherit) before it exits.
    func miniSweAgentCommandLine(prompt: String, model: String?) -> [String] {
        var mini = argv + ["--yolo", "--exit-immediately", "--cost-limit", "0", "--task=\(prompt)"]
        if let model { mini.append("--model=\(model)") }
        let script = """
            python="$1"
            trajectory="/tmp/.paddock-mini-swe-agent-$PADDOCK_RUN.traj.json"
            rm -f "$trajectory"
            trap '"$python" -c "$PADDOCK_REAPER" "PADDOCK_RUN=$PADDOCK_RUN"; exit 143' TERM INT HUP
            "$@" --output "$trajectory" </dev/null >&2 &
            wait $!
            status=$?
            if [ -f "$trajectory" ]; then
              "$python" -c 'import json, sys; print(sys.argv[2] + json.dumps(json.load(open(sys.argv[1]))))' \\
                "$trajectory" '\(Self.miniSweAgentTrajectoryMarker)'
            fi
            exit $status
            """
        return ["/bin/sh", "-c", script, "mini-swe-agent"] + mini
    }

    /// Kills the processes (and their process groups) whose environment holds `sys.argv[1]`, except those of
    /// its own group: the agent's, which Paddock stops itself.
    static let miniSweAgentReaper = """
        import os, signal, sys
        mark = bytes(1) + sys.argv[1].encode() + bytes(1)
        own = os.getpgrp()
        for pid in [int(d) for d in os.listdir('/proc') if d.isdigit()]:
            try:
                if os.getpgid(pid) != own and mark in bytes(1) + open('/proc/%d/environ' % pid, 'rb').read():
                    os.kill(pid, signal.SIGKILL)
                    os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        """
}
