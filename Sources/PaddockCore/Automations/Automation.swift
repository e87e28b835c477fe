import Foundation

/// Where an automation's events come from.
public enum AutomationSource: String, Codable, Sendable, CaseIterable {
    case slack
    case github
    /// A signed HTTP request to `/hooks/<automation id>` (PagerDuty, Sentry, anything that can POST).
    case webhook
    /// A cron expression with a time zone.
    case schedule

    public init(parsing text: String) throws(PaddockError) {
        guard let source = AutomationSource(rawValue: text.lowercased()) else {
            throw .invalidArgument(
                "source '\(InputLimits.printable(text))' is not known; use one of: "
                    + Self.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = source
    }
}

/// What an automation is: the editable part. `Automation` is this plus its id, state and who made it.
public struct AutomationSpec: Codable, Sendable, Equatable {
    /// A label people recognise (`pagerduty-triage`); not unique, the id is.
    public var name: String
    /// The team the automation belongs to: who may see and change it, and the team its sessions belong to
    /// (nil: owners and admins only, and the project's only team).
    public var team: String?
    public var source: AutomationSource
    /// Every rule must hold for an event to start anything; an event that fails one is recorded as `filtered`.
    public var filter: [AutomationFilter]
    /// The project whose session the work runs in.
    public var project: String
    /// The agent (nil: the project's, else the server's default).
    public var agent: String?
    /// The first prompt, filled from the event (`{{event.text}}`, `{{payload.alert.title}}`).
    public var prompt: String
    /// The person the work runs as: it can never do more than they may in Paddock.
    public var runAs: String
    /// At most this many started runs per window; more are refused and recorded.
    public var rateLimit: RateLimit
    /// Where the outcome goes: an http(s) URL that receives a JSON POST (nil: only the history records it).
    public var reportTo: String?
    /// Five-field cron expression (schedule automations only).
    public var schedule: String?
    /// IANA time zone of `schedule` (nil: UTC).
    public var timeZone: String?
    /// Where a webhook event's idempotency key comes from: `header:NAME` or `json:PATH` (nil: the
    /// `Idempotency-Key` header, else the hash of the body).
    public var idempotencyKey: String?
    /// The automation pauses itself after this many failures in a row.
    public var maxConsecutiveFailures: Int
    /// How a webhook's sender signs besides the bearer secret and Paddock's own timestamped HMAC: `pagerduty`
    /// (`X-PagerDuty-Signature: v1=<hex>`) or `sentry` (`Sentry-Hook-Signature: <hex>`), each an HMAC-SHA256 of
    /// the body with the secret that service generated (given when the automation is created).
    public var signature: String?

    public static let signatureSchemes = ["pagerduty", "sentry"]

    public static let defaultMaxConsecutiveFailures = 5
    public static let maxPromptBytes = 32 << 10
    public static let maxFilters = 32

    public init(
        name: String, team: String? = nil, source: AutomationSource, filter: [AutomationFilter] = [],
        project: String, agent: String? = nil, prompt: String, runAs: String, rateLimit: RateLimit = .default,
        reportTo: String? = nil, schedule: String? = nil, timeZone: String? = nil, idempotencyKey: String? = nil,
        maxConsecutiveFailures: Int = AutomationSpec.defaultMaxConsecutiveFailures, signature: String? = nil
    ) {
        self.signature = signature
        self.name = name
        self.team = team
        self.source = source
        self.filter = filter
        self.project = project
        self.agent = agent
        self.prompt = prompt
        self.runAs = runAs
        self.rateLimit = rateLimit
        self.reportTo = reportTo
        self.schedule = schedule
        self.timeZone = timeZone
        self.idempotencyKey = idempotencyKey
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    /// Checks everything that needs no server state (whether the project, team and person exist is the
    /// service's to check).
    public func validate() throws(PaddockError) {
        try InputLimits.checkName(name, field: "the automation's name")
        if let team { try UserAccount.validateName(team, kind: "team") }
        try UserAccount.validateName(runAs, kind: "run-as user")
        try ProjectSpec.validate(name: project)
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalidArgument(
                "the prompt template is empty; say what the agent should do, e.g. 'Triage {{event.text}}'")
        }
        guard prompt.utf8.count <= Self.maxPromptBytes else {
            throw .invalidArgument(
                "the prompt template is \(prompt.utf8.count) bytes; keep it to \(Self.maxPromptBytes >> 10) KiB")
        }
        _ = try PromptTemplate(prompt)
        guard filter.count <= Self.maxFilters else {
            throw .invalidArgument("the automation has \(filter.count) filter rules; at most \(Self.maxFilters)")
        }
        for rule in filter { try rule.validate() }
        try rateLimit.validate()
        guard (1...1000).contains(maxConsecutiveFailures) else {
            throw .invalidArgument("max consecutive failures must be 1 to 1000, not \(maxConsecutiveFailures)")
        }
        if let reportTo {
            guard let url = URL(string: reportTo), url.scheme == "https" || url.scheme == "http", url.host != nil
            else {
                throw .invalidArgument(
                    "report-to '\(InputLimits.printable(reportTo))' is not an http(s) URL; give the URL that "
                        + "should receive the outcome as a JSON POST")
            }
        }
        switch source {
        case .schedule:
            guard let schedule else {
                throw .invalidArgument(
                    "a schedule automation needs a cron expression (5 fields), e.g. --schedule '0 9 * * 1'")
            }
            _ = try CronExpression(schedule)
            _ = try Self.timeZone(timeZone)
        default:
            guard schedule == nil, timeZone == nil else {
                throw .invalidArgument(
                    "only a schedule automation has a cron expression and time zone; use --source schedule, "
                        + "or leave --schedule out")
            }
        }
        if let signature {
            guard source == .webhook, Self.signatureSchemes.contains(signature) else {
                throw .invalidArgument(
                    "signature '\(InputLimits.printable(signature))' is not one Paddock checks; webhooks take "
                        + Self.signatureSchemes.joined(separator: " or ") + " (or leave it out for a bearer secret)")
            }
        }
        if let idempotencyKey {
            guard source == .webhook else {
                throw .invalidArgument(
                    "only webhook automations take an idempotency key source (\(source.rawValue) events carry "
                        + "their own ids); leave it out")
            }
            _ = try IdempotencyKeySource(idempotencyKey)
        }
    }

    /// The time zone of a schedule: an IANA name such as Europe/Berlin (nil: UTC).
    public static func timeZone(_ name: String?) throws(PaddockError) -> TimeZone {
        guard let name else { return TimeZone(identifier: "UTC") ?? .current }
        guard let zone = TimeZone(identifier: name) else {
            throw .invalidArgument(
                "time zone '\(InputLimits.printable(name))' is not known; use an IANA name such as UTC, "
                    + "Europe/Berlin or America/New_York")
        }
        return zone
    }
}

/// An automation as stored: its spec, who made it, and whether it is paused and why.
public struct Automation: Codable, Sendable, Equatable, Identifiable {
    /// `au_` and 16 lowercase hex digits; also the webhook's path `/hooks/<id>`.
    public var id: String
    public var spec: AutomationSpec
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// A paused automation records what arrives (`refused`, "paused") and starts nothing.
    public var paused: Bool
    /// Why: who paused it, or the failures that paused it.
    public var pausedReason: String?
    /// Invocations that failed in a row (a start refused by the server, a run that failed); a success resets it.
    public var consecutiveFailures: Int
    /// Schedules: the last tick fired, so a restart or a clock set back does not fire a tick twice.
    public var lastTick: Date?
    /// The project whose runtime.yml defines it (`paddock automations apply`); nil: made with the CLI or API.
    public var definedBy: String?

    public init(id: String = Automation.makeID(), spec: AutomationSpec, createdBy: String, createdAt: Date) {
        self.id = id
        self.spec = spec
        self.createdBy = createdBy
        self.createdAt = createdAt
        updatedAt = createdAt
        paused = false
        pausedReason = nil
        consecutiveFailures = 0
        lastTick = nil
    }

    public static func makeID() -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return "au_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Whether `text` has the shape of an automation id (so it may be repeated back in an error).
    public static func looksLikeID(_ text: String) -> Bool {
        text.utf8.count == 19 && text.hasPrefix("au_")
            && text.dropFirst(3).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

/// At most `count` started runs per `window`.
public struct RateLimit: Codable, Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var window: TimeInterval

    public init(count: Int, window: TimeInterval) {
        self.count = count
        self.window = window
    }

    public static let `default` = RateLimit(count: 10, window: 3600)

    /// `10/1h`, `3/10m`, `100/1d`.
    public init(parsing text: String) throws(PaddockError) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let count = Int(parts[0]) else {
            throw .invalidArgument(
                "rate limit '\(InputLimits.printable(text))' is not COUNT/WINDOW; write e.g. 10/1h or 3/10m")
        }
        let window = try DurationText.parse(parts[1])
        self.init(count: count, window: TimeInterval(window.components.seconds))
        try validate()
    }

    public func validate() throws(PaddockError) {
        guard (1...10_000).contains(count), window >= 1, window <= 31 * 86400 else {
            throw .invalidArgument(
                "a rate limit allows 1 to 10000 runs per window of 1s to 31d, not \(count) per \(Int(window))s")
        }
    }

    public var description: String { "\(count)/\(Int(window))s" }
}

/// Where a webhook's idempotency key is read from.
public enum IdempotencyKeySource: Sendable, Equatable {
    case header(String)
    case json(String)

    public init(_ text: String) throws(PaddockError) {
        if text.hasPrefix("header:"), text.count > 7 {
            let name = String(text.dropFirst(7))
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw .invalidArgument("'\(InputLimits.printable(name))' is not a header name")
            }
            self = .header(name)
        } else if text.hasPrefix("json:"), text.count > 5 {
            let path = String(text.dropFirst(5))
            _ = try JSONPath(path)
            self = .json(path)
        } else {
            throw .invalidArgument(
                "idempotency key '\(InputLimits.printable(text))' must be header:NAME (e.g. header:X-Request-Id) or "
                    + "json:PATH (e.g. json:event.id)")
        }
    }
}

/// An outside identity (a Slack user id, a GitHub login) and the Paddock user it acts as.
public struct IdentityLink: Codable, Sendable, Equatable {
    public var provider: String
    public var external: String
    public var user: String

    public init(provider: String, external: String, user: String) {
        self.provider = provider
        self.external = external
        self.user = user
    }
}
