import Foundation
import PaddockCore

/// What automations reach outside Paddock, set when the server starts.
public struct AutomationIntegrations: Sendable {
    /// The server's address as people open it, for links in replies (`https://paddock.example.com`); nil:
    /// replies name sessions by id.
    public var publicURL: String?
    /// The Slack app (`/hooks/slack/*`); nil: those routes answer that Slack is not set up.
    public var slack: SlackSettings?
    /// GitHub webhooks (`/hooks/github`); nil: that route answers that GitHub is not set up.
    public var github: GitHubHookSettings?

    public init(publicURL: String? = nil, slack: SlackSettings? = nil, github: GitHubHookSettings? = nil) {
        self.publicURL = publicURL
        self.slack = slack
        self.github = github
    }
}

/// The Slack app: where its Web API is, and the vault secrets (org-wide) it signs and posts with.
public struct SlackSettings: Sendable {
    /// `https://slack.com/api`; tests point it at a loopback stand-in.
    public var apiURL: String
    /// The vault secret holding the app's signing secret (Basic Information → App Credentials).
    public var signingSecret: String
    /// The vault secret holding the bot token (`xoxb-…`) replies are posted with.
    public var botToken: String

    public init(
        apiURL: String = "https://slack.com/api", signingSecret: String = "SLACK_SIGNING_SECRET",
        botToken: String = "SLACK_BOT_TOKEN"
    ) throws(PaddockError) {
        self.apiURL = try Self.checkedURL(apiURL, flag: "--slack-api")
        self.signingSecret = signingSecret
        self.botToken = botToken
    }

    static func checkedURL(_ text: String, flag: String) throws(PaddockError) -> String {
        guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw .invalidArgument("\(flag) '\(text)' is not an http(s) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// GitHub webhooks: the REST API (github.com or an Enterprise server), the vault secrets (org-wide) for the
/// webhook's secret and the token comments are posted with, and the mention that starts work.
public struct GitHubHookSettings: Sendable {
    /// `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise.
    public var apiURL: String
    public var webhookSecret: String
    public var token: String
    /// A comment starting with this starts work (`@paddock fix the flaky test`).
    public var mention: String

    public init(
        apiURL: String = "https://api.github.com", webhookSecret: String = "GITHUB_WEBHOOK_SECRET",
        token: String = "GITHUB_TOKEN", mention: String = "@paddock"
    ) throws(PaddockError) {
        self.apiURL = try SlackSettings.checkedURL(apiURL, flag: "--github-api")
        self.webhookSecret = webhookSecret
        self.token = token
        self.mention = mention
    }
}
