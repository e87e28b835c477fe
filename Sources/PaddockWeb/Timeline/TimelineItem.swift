import Foundation
import Mustache
import PaddockCore

/// One line of a session's timeline, in plain words: what the agent said, a command and how it ended, a
/// refusal and why, an approval asked, a network request, a file changed. Built from the audit trail and the
/// runs' events; rendered by the page template and, for live updates, by `live.js` from the same fields
/// (as text, never as HTML).
struct TimelineItem: Sendable, Codable, Equatable {
    /// Unique within the page (`a12` for audit event 12, `r<run>-5` for a run's event 5): live updates that
    /// the page already has are skipped.
    var id: String
    var at: Date
    /// What kind of line it is, for its styling: message, tool, command, blocked, approval, network, file,
    /// session, run, error.
    var kind: String
    var title: String
    /// Longer text shown collapsed (a command's output, a tool's input, a refusal's rule).
    var detail: String?
    /// Who did it, when that is not the agent (a person's name, `system`).
    var actor: String?
    /// `HH:mm:ss` (UTC): stored, because templates see stored properties only.
    var time: String

    init(id: String, at: Date, kind: String, title: String, detail: String?, actor: String?) {
        self.id = id
        self.at = at
        self.kind = kind
        self.title = title
        self.detail = detail
        self.actor = actor
        time = Self.clock.string(from: at)
    }

    private static let clock: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }()
}

extension TimelineItem {
    /// The line for an audit event; nil for events that say nothing new to a person reading the timeline.
    init?(audit event: AuditEvent) {
        let f = event.fields
        let actor = event.actor.user == "sandbox" ? nil : event.actor.user
        let base = (id: "a\(event.seq)", at: event.date)
        switch event.kind {
        case "exec":
            // The agent's own process: its run's lines tell the story better.
            if f["tag"]?.stringValue?.hasPrefix("run:") == true { return nil }
            let argv = f["argv"]?.strings ?? []
            var title = "Ran " + Self.commandLine(argv)
            if let exit = f["exit"]?.int { title += exit == 0 ? " — succeeded" : " — exited with \(exit)" }
            if f["oom"]?.bool == true { title += " (out of memory)" }
            self.init(id: base.id, at: base.at, kind: "command", title: title, detail: nil, actor: actor)
        case let kind where kind.hasSuffix(".guardrail"):
            let argv = f["argv"]?.strings ?? []
            // Allowed commands show as the run's tool calls, and a person's answer as its own line.
            guard f["allowed"]?.bool == false else { return nil }
            let rule = f["rule"]?.stringValue ?? ""
            let why =
                switch f["approval"].flatMap({ if case .object(let a) = $0 { a["state"]?.stringValue } else { nil } }) {
                case "denied"?: "a person denied it"
                case "expired"?: "nobody approved it in time"
                default: "the team's rules do not allow it"
                }
            self.init(
                id: base.id, at: base.at, kind: "blocked", title: "Blocked: \(Self.commandLine(argv)) — \(why)",
                detail: rule.isEmpty ? nil : "Rule: \(rule)", actor: nil)
        case "network", "network.request":
            let host = f["host"]?.stringValue ?? "?"
            let decision = f["decision"]?.stringValue ?? ""
            let method = f["method"]?.stringValue ?? ""
            let refused = decision.hasPrefix("deny") || decision == "denied" || decision == "refused"
            let title =
                refused
                ? "Blocked a connection to \(host) — not on the allowed list"
                : "\(method.isEmpty ? "Connected to" : method) \(host)\(f["path"]?.stringValue ?? "")"
            let reason = f["reason"]?.stringValue ?? f["rule"]?.stringValue
            self.init(
                id: base.id, at: base.at, kind: refused ? "blocked" : "network", title: title, detail: reason,
                actor: nil)
        case "approval.answer":
            let state = f["state"]?.stringValue ?? "answered"
            let subject = f["subject"]?.stringValue ?? ""
            self.init(
                id: base.id, at: base.at, kind: "approval", title: "\(state.capitalized): \(subject)",
                detail: f["note"]?.stringValue, actor: actor)
        case let kind where kind.hasPrefix("file."):
            let path = f["path"]?.stringValue ?? f["from"]?.stringValue ?? ""
            let verb = kind.dropFirst("file.".count)
            self.init(id: base.id, at: base.at, kind: "file", title: "File \(verb): \(path)", detail: nil, actor: actor)
        case "session.create":
            self.init(id: base.id, at: base.at, kind: "session", title: "Session started", detail: nil, actor: actor)
        case "session.destroy":
            self.init(id: base.id, at: base.at, kind: "session", title: "Session ended", detail: nil, actor: actor)
        case "session.pause", "session.idle":
            self.init(id: base.id, at: base.at, kind: "session", title: "Session paused", detail: nil, actor: actor)
        case "session.resume":
            self.init(id: base.id, at: base.at, kind: "session", title: "Session resumed", detail: nil, actor: actor)
        case "submit", "submit.push", "submit.blocked":
            let blocked = event.kind == "submit.blocked"
            self.init(
                id: base.id, at: base.at, kind: blocked ? "blocked" : "session",
                title: blocked ? "Submit for review was stopped by a check" : "Submitted for review",
                detail: f["reason"]?.stringValue, actor: actor)
        case let kind where kind.hasPrefix("review."):
            self.init(
                id: base.id, at: base.at, kind: "session", title: "Review \(kind.dropFirst("review.".count))",
                detail: f["note"]?.stringValue, actor: actor)
        default:
            return nil
        }
    }

    /// The line for an agent run's event; nil for bookkeeping (usage totals). A tool's output is a line of its
    /// own only `showingOutput` (a replay): the session's timeline shows only failures.
    init?(run event: RunEvent, showingOutput: Bool = false) {
        let id = "r\(event.run)-\(event.seq)"
        switch event.kind {
        // `final` often repeats the last message; `RunLines` drops it then.
        case "text", "final":
            guard let text = event.text, !text.isEmpty else { return nil }
            self.init(id: id, at: event.at, kind: "message", title: text, detail: nil, actor: nil)
        case "tool_call":
            let tool = event.tool ?? "tool"
            self.init(
                id: id, at: event.at, kind: "tool", title: Self.describe(tool: tool, input: event.input),
                detail: event.input, actor: nil)
        case "tool_result" where showingOutput && event.isError != true:
            self.init(
                id: id, at: event.at, kind: "output", title: "\(event.tool ?? "The tool") answered",
                detail: event.text, actor: nil)
        case "tool_result":
            guard event.isError == true else { return nil }
            self.init(
                id: id, at: event.at, kind: "error", title: "\(event.tool ?? "A tool") failed", detail: event.text,
                actor: nil)
        case "status":
            guard let status = event.status else { return nil }
            self.init(
                id: id, at: event.at, kind: "run", title: Self.describe(status: status), detail: event.text,
                actor: nil)
        case "error":
            self.init(
                id: id, at: event.at, kind: "error", title: event.text ?? "The agent reported an error", detail: nil,
                actor: nil)
        default:
            return nil
        }
    }

    static func commandLine(_ argv: [String]) -> String {
        let line = argv.joined(separator: " ")
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    /// "Ran npm test", "Edited src/app.js": the tool call as a person would say it.
    static func describe(tool: String, input: String?) -> String {
        // Display only: input that is not a JSON object leaves the line as "Used <tool>", with the raw input
        // under Details; nothing is lost, so there is nothing to log.
        var fields: [String: Any] = [:]
        if let input {
            do { fields = try JSONSerialization.jsonObject(with: Data(input.utf8)) as? [String: Any] ?? [:] } catch {}
        }
        switch tool {
        case "Bash", "shell", "exec_command":
            return "Ran " + ((fields["command"] as? String) ?? "a command")
        case "Write": return "Wrote " + ((fields["file_path"] as? String) ?? "a file")
        case "Edit", "MultiEdit": return "Edited " + ((fields["file_path"] as? String) ?? "a file")
        case "Read": return "Read " + ((fields["file_path"] as? String) ?? "a file")
        default: return "Used \(tool)"
        }
    }

    static func describe(status: Run.Status) -> String {
        switch status {
        case .queued: "The agent is queued"
        case .running: "The agent is working"
        case .awaitingApproval: "The agent is waiting for an approval"
        case .completed: "The agent finished"
        case .failed: "The agent stopped with an error"
        case .cancelled: "The agent was stopped"
        case .timedOut: "The agent ran out of time"
        case .budgetExceeded: "The agent was stopped: its budget is spent"
        }
    }
}

/// A run's events as timeline lines, in order: the agent's final message is left out when it only repeats
/// what it last said.
struct RunLines: Sendable {
    private var lastText: [String: String] = [:]

    mutating func line(for event: RunEvent, showingOutput: Bool = false) -> TimelineItem? {
        if event.kind == "text", let text = event.text { lastText[event.run] = text }
        if event.kind == "final", event.text == lastText[event.run] { return nil }
        return TimelineItem(run: event, showingOutput: showingOutput)
    }
}

/// Read by name rather than by reflection: a long session's page has thousands of lines, and looking each
/// field up through `Mirror` cost more than the rest of rendering it. An absent detail or actor is `false`,
/// not nil: for nil the engine goes on to search the page around the line for that name (by reflection of the
/// whole page), for every line without one — measured at over half of a 2,000-line page's render.
extension TimelineItem: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "kind": kind
        case "title": title
        case "detail": detail ?? false
        case "actor": actor ?? false
        case "time": time
        default: nil
        }
    }
}
