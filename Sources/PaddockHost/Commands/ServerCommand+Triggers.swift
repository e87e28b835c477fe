import ArgumentParser
import PaddockServices

/// `paddock server`'s flags for triggers from Slack and GitHub (webhooks and schedules need none).
struct TriggerOptions: ParsableArguments {
    @Option(
        help: """
            Slack Web API root, such as https://slack.com/api: enables /hooks/slack/events, /commands and \
            /interactive, and replies in threads through chat.postMessage.
            """)
    var slackApi: String?
    @Option(help: "The vault secret (org-wide) holding the Slack app's signing secret.")
    var slackSigningSecret = "SLACK_SIGNING_SECRET"
    @Option(help: "The vault secret (org-wide) holding the Slack bot token replies are posted with.")
    var slackBotToken = "SLACK_BOT_TOKEN"
    @Flag(help: "Enable /hooks/github: '@paddock …' comments start work (REST API from --github-api).")
    var githubHooks = false
    @Option(help: "The vault secret (org-wide) holding the GitHub webhook's secret.")
    var githubWebhookSecret = "GITHUB_WEBHOOK_SECRET"
    @Option(help: "What a GitHub comment starts with to start work.") var githubMention = "@paddock"

    func integrations(publicURL: String?, githubAPI: String?, githubToken: String) throws -> AutomationIntegrations {
        AutomationIntegrations(
            publicURL: publicURL,
            slack: try slackApi.map {
                try SlackSettings(apiURL: $0, signingSecret: slackSigningSecret, botToken: slackBotToken)
            },
            github: githubHooks
                ? try GitHubHookSettings(
                    apiURL: githubAPI ?? "https://api.github.com", webhookSecret: githubWebhookSecret,
                    token: githubToken,
                    mention: githubMention) : nil)
    }
}
