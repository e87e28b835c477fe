import Foundation
import PaddockCore
import PaddockObservability
import PaddockSandbox
import Tracing

extension RunService {
    /// Runs the agent to its end and keeps the record current on the way. Never throws: whatever goes wrong
    /// ends the run `failed` with the reason.
    func execute(_ id: String, launch: RunLaunch, definition: AgentDefinition) async {
        guard var run = live[id]?.run, let caller = live[id]?.caller else { return }
        let session = run.session
        let before = await workspaceFiles(session)
        // The agent context goes into place before the agent starts; a context that cannot be put in place
        // fails the run with what to fix, rather than running the agent without what the policy promises.
        let context: AgentLaunch
        do {
            context = try await prepareLaunch(
                launch.context, session: try await sessions.get(session), definition: definition)
        } catch {
            let e = PaddockError.wrap(error, "the agent context could not be put into the session")
            run.errors.append(e.message)
            await finish(&run, status: .failed, reason: e.message, exitCode: nil, files: [])
            return
        }
        let argv = definition.commandLine(
            prompt: launch.prompt, model: launch.model, resume: launch.resume, extra: context.arguments)
        var env = definition.env.merging(context.env) { $1 }
        env["PADDOCK_RUN"] = id
        // Started before the agent is: its first tool command (and an approval it asks for) can come at once.
        run.startedAt = clock()
        let handle: any ExecHandle
        do {
            // Tagged so the session's timeline tells the agent's own process from the commands it runs.
            handle = try await sessions.exec(session, SessionCommand(argv, env: env, tag: "run:\(id)"), by: caller)
        } catch {
            let e = PaddockError.wrap(error, "the agent could not be started")
            run.errors.append(e.message)
            await finish(&run, status: .failed, reason: e.message, exitCode: nil, files: [])
            return
        }
        guard attach(id, handle: handle) else {
            await handle.cancel()
            let stop = stopRequest(id)
            await finish(&run, status: stop?.status ?? .cancelled, reason: stop?.reason, exitCode: nil, files: [])
            return
        }
        run.status = .running
        await update(run)
        await emit(id, RunEvent(run: id, at: clock(), kind: "status", status: .running))
        await audit(run, "run.start", ["prompt_chars": .int(Int64(run.prompt.count))], by: caller)

        let watcher = Task { await self.watch(id) }
        var parser = definition.makeParser()
        // An agent's event line can carry a whole file it read; one longer than this is cut (and fails to parse).
        var lines = LineSplitter(maxLineLength: 16 << 20)
        var stderrTail: [UInt8] = []
        var exitCode: Int32?
        do {
            for try await event in handle.events {
                switch event {
                case .stdout(let bytes):
                    for line in lines.feed(bytes) { await apply(parser.consume(line: line.text), to: &run) }
                case .stderr(let bytes):
                    stderrTail += bytes
                    if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                case .exited(let status): exitCode = status.code
                case .started: break
                }
            }
        } catch {
            if !Task.isCancelled { run.errors.append(PaddockError.wrap(error, "following the agent failed").message) }
        }
        // The server's shutdown cancels a run's task; the agent's output then ends with no exit status.
        let serverStopped = Task.isCancelled && exitCode == nil
        if let last = lines.finish() { await apply(parser.consume(line: last.text), to: &run) }
        await apply(parser.finish(exitCode: exitCode ?? -1), to: &run)
        watcher.cancel()
        await watcher.value

        let after = await workspaceFiles(session)
        // What the workspace listing shows changed is the record; the agent's tool calls only stand in when
        // the workspace could not be listed (a Write the agent was refused changed nothing).
        var files = before.isEmpty && after.isEmpty ? run.filesChanged : []
        for (path, stamp) in after where before[path] != stamp { files.append(path) }
        for path in before.keys where after[path] == nil { files.append(path) }
        let stderr = String(decoding: stderrTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var status = Run.Status.completed
        var reason: String?
        if let stop = stopRequest(id) {
            (status, reason) = stop
        } else if serverStopped {
            status = .failed
            reason = "the Paddock server stopped while the agent was running; prompt again to continue"
        } else if let failure = run.errors.last {
            status = .failed
            reason = failure + (stderr.isEmpty ? "" : " — stderr: \(stderr.suffix(1000))")
        }
        await finish(&run, status: status, reason: reason, exitCode: exitCode, files: files)
    }

    /// Folds one parsed piece of output into the record, and stops the run when it went over its limit.
    func apply(_ out: AgentOutput, to run: inout Run) async {
        for event in out.events {
            await emit(run.id, event)
            if event.kind == "tool_call", let name = event.tool, let (server, tool) = AgentContext.mcpTool(name) {
                await auditMCPCall(run, server: server, tool: tool, arguments: event.input)
            }
        }
        if let s = out.agentSession { run.agentSession = s }
        // A prompt that named no model ran on the agent's default; the record says which it was.
        let modelLearned = run.model == nil && out.model != nil
        if modelLearned { run.model = out.model }
        var usageChanged = false
        if let delta = out.usageDelta {
            run.usage = run.usage + delta
            usageChanged = true
        }
        if let total = out.finalUsage {
            run.usage = total
            usageChanged = true
        }
        if let conversation = out.conversationUsage {
            let before = live[run.id]?.usageBaseline ?? TokenUsage()
            run.usage = TokenUsage(
                input: max(0, conversation.input - before.input), output: max(0, conversation.output - before.output),
                cacheRead: max(0, conversation.cacheRead - before.cacheRead),
                cacheWrite: max(0, conversation.cacheWrite - before.cacheWrite))
            usageChanged = true
            await emit(run.id, RunEvent(run: run.id, at: clock(), kind: "usage", usage: run.usage))
        }
        if let cost = out.costUSD {
            run.agentCostTotal = cost
            run.costUSD = max(0, cost - (live[run.id]?.costBaseline ?? 0))
            run.costSource = "agent"
        } else if usageChanged && run.costSource != "agent" {
            run.costUSD = configuration.prices.cost(of: run.usage, model: run.model)
            run.costSource = "price-table"
        }
        for command in out.commands where !run.commands.contains(command) { run.commands.append(command) }
        for file in out.files where !run.filesChanged.contains(file) { run.filesChanged.append(file) }
        if let final = out.finalMessage { run.finalMessage = String(final.prefix(64 << 10)) }
        if let failure = out.failure { run.errors.append(failure) }
        let changed =
            usageChanged || !out.commands.isEmpty || !out.files.isEmpty || out.agentSession != nil || modelLearned
        if changed || out.finalMessage != nil || out.failure != nil { await update(run) }
        if usageChanged, let why = configuration.limits.exceeded(usage: run.usage, costUSD: run.costUSD) {
            stop(run.id, .failed, why + "; stopped")
        }
    }

    /// While the run goes: mirrors "waiting for an approval" into its status as the approvals change, and
    /// stops it when its duration limit passes. Ends when cancelled (the run ended).
    func watch(_ id: String) async {
        guard let session = live[id]?.run.session else { return }
        let approvals = sessions.guardrails.approvals
        let maxSeconds = configuration.limits.maxSeconds
        await withTaskGroup(of: Void.self) { group in
            if let maxSeconds {
                group.addTask {
                    // A deadline, not a poll: the only wake-up is the limit itself (or the run's end, cancelling).
                    do { try await Task.sleep(for: .seconds(maxSeconds)) } catch { return }  // cancelled: the run ended
                    await self.stop(id, .timedOut, "the run took longer than its limit of \(maxSeconds)s; stopped")
                }
            }
            group.addTask {
                for await waiting in await approvals.awaitingChanges(session) {
                    await self.mirrorApproval(id, waiting: waiting)
                }
            }
        }
    }

    private func mirrorApproval(_ id: String, waiting: Bool) async {
        guard let run = live[id]?.run, !run.status.isFinished else { return }
        if waiting && run.status == .running { await setStatus(id, .awaitingApproval) }
        if !waiting && run.status == .awaitingApproval { await setStatus(id, .running) }
    }

    func finish(_ run: inout Run, status: Run.Status, reason: String?, exitCode: Int32?, files: [String]) async {
        run.status = status
        run.reason = reason
        run.exitCode = exitCode
        run.finishedAt = clock()
        if run.startedAt == nil { run.startedAt = run.finishedAt }
        let workspace = SandboxLayout.workspace + "/"
        run.filesChanged = Array(
            Set(files.map { $0.hasPrefix(workspace) ? String($0.dropFirst(workspace.count)) : $0 })
        ).sorted()
        if let asked = try? await sessions.guardrails.approvals.list(session: run.session, includeAnswered: true),
            let start = run.startedAt
        {
            // Stored times keep milliseconds only; one run at a time per session, so the window is the run's.
            run.approvals = asked.filter { $0.requestedAt >= start.addingTimeInterval(-0.001) }.map(\.id).sorted()
        }
        (run.refused, run.refusedNetwork) = await refusals(run)
        await update(run)
        if let reason, status != .completed {
            await emit(run.id, RunEvent(run: run.id, at: clock(), kind: "error", text: reason))
        }
        await emit(run.id, RunEvent(run: run.id, at: clock(), kind: "status", status: status))
        await audit(
            run, status == .cancelled ? "run.cancel" : "run.finish",
            [
                "status": .string(status.rawValue), "reason": .optional(reason),
                "input_tokens": .int(Int64(run.usage.input)), "output_tokens": .int(Int64(run.usage.output)),
                "cost_usd": .string(RunLimits.dollars(run.costUSD)), "commands": .int(Int64(run.commands.count)),
                "files_changed": .strings(run.filesChanged),
            ], by: live[run.id]?.caller ?? .system)
        PaddockMetrics.runFinished(agent: run.agent, team: run.team, status: status.rawValue)
        if let span = live[run.id]?.span {
            span.attributes["paddock.run.status"] = status.rawValue
            if status != .completed { span.setStatus(SpanStatus(code: .error, message: status.rawValue)) }
            span.end()
        }
        RunTraces.shared.end(session: run.session.rawValue)
        logger.info(
            "run finished",
            metadata: ["run.id": "\(run.id)", "run.status": "\(status.rawValue)", "run.reason": "\(reason ?? "-")"])
        finishLive(run.id)
    }

    /// An agent's call to an MCP server's tool, in the session's audit trail: which server, which tool, and its
    /// arguments (cut at 4 KiB; the trail's redaction takes out every vault secret's value, so a key the agent
    /// pasted into an argument is recorded by name only).
    func auditMCPCall(_ run: Run, server: String, tool: String, arguments: String?) async {
        var fields: [String: AuditValue] = ["server": .string(server), "tool": .string(tool)]
        if let arguments {
            fields["arguments"] = .string(String(arguments.prefix(4096)))
            if arguments.count > 4096 { fields["arguments_truncated"] = .bool(true) }
        }
        await audit(run, "mcp.tool_call", fields, by: live[run.id]?.caller ?? .system)
    }

    func audit(_ run: Run, _ kind: String, _ fields: [String: AuditValue], by caller: Caller) async {
        guard let recorder = sessions.auditRecorder else { return }
        var all = fields
        all["run"] = .string(run.id)
        all["agent"] = .string(run.agent)
        all["model"] = .optional(run.model)
        let (session, actor, recorded) = (run.session, caller.actor, all)
        await Self.evenWhenStopping("could not record a run in the audit trail", run: run.id, logger) {
            try await recorder.record(session: session, kind: kind, actor: actor, fields: recorded)
        }
    }

    /// What the exec guardrail and the network policy refused in the session since the run started, from the
    /// audit trail: programs as their argv, requests as `METHOD host:port — reason`.
    func refusals(_ run: Run) async -> (commands: [String], network: [String]) {
        guard let start = run.startedAt, let audit = sessions.audit else { return ([], []) }
        let events: [AuditEvent]
        do { events = try await audit.events(session: run.session) } catch {
            logger.warning(
                "could not read a run's refusals from the audit trail",
                metadata: ["run.id": "\(run.id)", "error": "\(error)"])
            return ([], [])
        }
        let from = Int64((start.timeIntervalSince1970 * 1000).rounded(.down))
        var commands: [String] = []
        var network: [String] = []
        func string(_ value: AuditValue?) -> String? { if case .string(let s)? = value { s } else { nil } }
        for event in events where event.at >= from {
            switch event.kind {
            case "exec.guardrail":
                guard case .bool(false)? = event.fields["allowed"], case .list(let argv)? = event.fields["argv"] else {
                    continue
                }
                commands.append(argv.compactMap { string($0) }.joined(separator: " "))
            case "network.request":
                guard string(event.fields["decision"])?.hasPrefix("deny") == true else { continue }
                var port = ""
                if case .int(let p)? = event.fields["port"] { port = ":\(p)" }
                let target = (string(event.fields["host"]) ?? "?") + port + (string(event.fields["path"]) ?? "")
                let line = "\(string(event.fields["method"]) ?? "?") \(target)"
                network.append(line + (string(event.fields["reason"]).map { " — \($0)" } ?? ""))
            default: continue
            }
        }
        return (commands, network)
    }

    /// Files under the workspace with their size and modification time, to tell what a run changed.
    func workspaceFiles(_ session: SessionID) async -> [String: String] {
        let entries: [SandboxFileInfo]
        do {
            entries = try await SessionFiles(sessions: sessions).list(
                session, path: SandboxLayout.workspace, depth: 64, user: .root, by: .system)
        } catch {
            // The run's record then falls back on the files the agent's tool calls named.
            logger.warning(
                "could not list a run's workspace", metadata: ["session.id": "\(session)", "error": "\(error)"])
            return [:]
        }
        var files: [String: String] = [:]
        for entry in entries where entry.kind != .directory && !entry.path.contains("/.git/") {
            files[entry.path] = "\(entry.size):\(entry.mtimeNanos)"
        }
        return files
    }
}
