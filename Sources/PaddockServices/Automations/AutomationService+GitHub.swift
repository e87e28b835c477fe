import Crypto
import Foundation
import PaddockCore
import PaddockStore

extension AutomationService {
    /// Handles a GitHub webhook delivery and returns the JSON to answer with. It must carry
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with the webhook's secret from the vault;
    /// anything else is `unauthenticated` and recorded. An issue or pull-request comment that starts with the
    /// mention (`@paddock …`) goes to every GitHub automation whose project is that repository and whose filter it
    /// passes, as the Paddock user the commenter's login is linked to, on the pull request's head branch for a
    /// pull request; the reply is a comment linking the session. Redeliveries repeat `X-GitHub-Delivery` and
    /// start nothing.
    public func receiveGitHub(_ request: WebhookRequest) async throws -> JSONDocument {
        guard let github = integrations.github else {
            throw PaddockError.notFound("this server has no GitHub webhook set up; start it with --github-hooks")
        }
        let secret = try await secretValue(github.webhookSecret)
        if let why = Self.checkGitHubSignature(request, secret: secret) {
            logger.notice("a GitHub delivery was refused", metadata: ["reason": "\(why)"])
            try await sessions.orgTrail.record("automation.github_refused", ["reason": .string(why)], by: .system)
            throw PaddockError(.unauthenticated, "the delivery does not carry a valid X-Hub-Signature-256")
        }
        let kind = request.headers["x-github-event"] ?? ""
        if kind == "ping" { return .object(["ok": .bool(true)]) }
        let body = try JSONDocument.parse(request.body)
        if kind == "push" { return try await receivePush(body) }
        guard let comment = try GitHubComment(kind: kind, body), comment.text.hasPrefix(github.mention) else {
            return .object(["ignored": .string("not a new comment starting with \(github.mention)")])
        }
        guard let delivery = request.headers["x-github-delivery"] else {
            throw PaddockError.invalidArgument("the delivery has no X-GitHub-Delivery id")
        }
        let prompt = String(comment.text.dropFirst(github.mention.count))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [String: JSONDocument] = [
            "type": .string(kind), "text": .string(prompt), "user": .string(comment.login),
            "repository": .string(comment.repository), "number": .number(String(comment.number)),
            "pull_request": .bool(comment.pullRequest != nil),
            "title": comment.title.map { JSONDocument.string($0) } ?? .null,
        ]
        if let path = comment.path { fields["path"] = .string(path) }
        if let line = comment.line { fields["line"] = .number(String(line)) }
        let event = JSONDocument.object(fields)
        // A pull request's head branch decides where the work happens: a review comment's event carries it; for
        // an issue comment it is looked up here, before the acknowledgement is queued (GitHub waits ten seconds).
        var branch = comment.headBranch
        if comment.pullRequest != nil, branch == nil {
            branch = try await pullRequestBranch(github, comment.repository, comment.number)
        } else if let head = comment.headRepository, head.lowercased() != comment.repository.lowercased() {
            throw Self.fromFork(comment.repository, head)
        }
        let linked = try await store.linkedUser(provider: "github", external: comment.login)
        let reply = ReplyTarget(
            kind: "github", repository: comment.repository, issue: comment.number, comment: comment.reviewComment)
        var started: [String] = []
        for automation in try await store.automations() where automation.spec.source == .github {
            guard try await projectIsRepository(automation.spec.project, comment.repository) else { continue }
            guard try automation.spec.filter.allSatisfy({ try $0.matches(Self.context(event, automation)) }) else {
                continue
            }
            if let linked {
                let invocation = try await receive(
                    event, automation: automation.id, dedupeKey: "github:" + delivery, trigger: "github",
                    human: "github:\(comment.login) (\(linked))"
                ) { invocation in
                    invocation.actAs = linked
                    invocation.reply = reply
                    invocation.branch = branch
                    // Without its address (GitHub always sends one) the submit opens a pull request as usual.
                    invocation.pullRequest = branch == nil || comment.pullRequest == "" ? nil : comment.pullRequest
                }
                started.append(invocation.id)
            } else {
                let refused = try await refuseUnlinked(
                    event, automation, dedupeKey: "github:" + delivery, source: "github", user: comment.login,
                    reply: reply)
                started.append(refused.id)
            }
        }
        return .object(["invocations": .array(started.map { .string($0) })])
    }

    /// A push: the repository cache fetches it now (and seals the pushed branch's new commit where it holds that
    /// branch), so sessions started after a push see it without waiting for the refresh window.
    private func receivePush(_ body: JSONDocument) async throws -> JSONDocument {
        guard let repository = body[try JSONPath("repository.full_name")]?.text, !repository.isEmpty else {
            throw PaddockError.invalidArgument("the push event is missing repository.full_name")
        }
        let ref = body[try JSONPath("ref")]?.text ?? ""
        // A deleted branch or a tag has no commit to seal; the mirror is fetched all the same.
        let deleted = body[try JSONPath("deleted")] == .bool(true)
        let branch = ref.hasPrefix("refs/heads/") && !deleted ? String(ref.dropFirst("refs/heads/".count)) : nil
        // GitHub waits ten seconds for an answer, and fetching and sealing a large repository takes longer: the
        // delivery is answered once the refresh is under way, and the refresh is in the trail when it is done.
        let repositories = RepositoryCacheService(sessions: sessions)
        let mirrors = await repositories.mirrors(ofGitHub: repository)
        if !mirrors.isEmpty {
            work.start("refreshing \(repository) after a push") { [logger] in
                do { _ = try await repositories.receivePush(repository: repository, branch: branch) } catch {
                    logger.warning(
                        "a pushed repository's refresh could not be recorded",
                        metadata: ["repository": "\(repository)", "error": "\(error)"])
                }
            }
        }
        return .object(["refreshing": .array(mirrors.map { .string($0) })])
    }

    static func fromFork(_ repository: String, _ head: String) -> PaddockError {
        .invalidArgument(
            "the pull request's branch is in the fork \(head), not in \(repository); Paddock works on branches of the "
                + "project's repository — push the branch there, or ask on an issue")
    }

    /// Whether the project's repository is `owner/name` on GitHub (any of the URL spellings).
    func projectIsRepository(_ project: String, _ fullName: String) async throws -> Bool {
        guard let store = sessions.store as? any ProjectStore, let found = try await store.project(project) else {
            return false
        }
        return RepositoryCacheService.url(found.repository, isGitHub: fullName)
    }

    /// The head branch of a pull request (`GET /repos/{owner}/{name}/pulls/{number}`), with the token from the vault.
    func pullRequestBranch(_ github: GitHubHookSettings, _ repository: String, _ number: Int) async throws -> String {
        let token = try await secretValue(github.token)
        let data = try await sender.get(url: "\(github.apiURL)/repos/\(repository)/pulls/\(number)", bearer: token)
        let pull = try JSONDocument.parse(data)
        guard let branch = pull[try JSONPath("head.ref")]?.text, !branch.isEmpty else {
            throw PaddockError.unavailable(
                "GitHub answered pull request \(repository)#\(number) without its head branch")
        }
        if let head = pull[try JSONPath("head.repo.full_name")]?.text, head.lowercased() != repository.lowercased() {
            throw Self.fromFork(repository, head)
        }
        return branch
    }

    /// Nil when `X-Hub-Signature-256` is the HMAC-SHA256 of the body with `secret`; otherwise why not.
    public static func checkGitHubSignature(_ request: WebhookRequest, secret: String) -> String? {
        guard let signature = request.headers["x-hub-signature-256"] else { return "no X-Hub-Signature-256" }
        guard signature.hasPrefix("sha256="), let mac = Data(hex: String(signature.dropFirst(7))) else {
            return "a signature that is not sha256=<hex>"
        }
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: request.body, using: SymmetricKey(data: Data(secret.utf8)))
            ? nil : "a signature that does not match the body"
    }

    // MARK: Identity links

    /// Links a Slack user id or GitHub login to a Paddock user (owners and admins), so their events run as that
    /// person; `user: nil` removes the link.
    public func link(provider: String, external: String, user: String?, by caller: Caller) async throws {
        try caller.authorizeOrg(.admin)
        guard ["slack", "github"].contains(provider) else {
            throw PaddockError.invalidArgument("provider '\(InputLimits.printable(provider))' is not slack or github")
        }
        try InputLimits.checkName(external, field: "the \(provider) identity")
        try await store.setIdentityLink(provider: provider, external: external, user: user)
        try await sessions.orgTrail.record(
            user == nil ? "automation.unlink" : "automation.link",
            ["provider": .string(provider), "external": .string(external), "user": .optional(user)], by: caller)
    }

    public func links(by caller: Caller) async throws -> [IdentityLink] {
        try caller.authorizeOrg(.admin)
        return try await store.identityLinks()
    }
}

/// What Paddock takes from a new comment: on an issue or pull request (`issue_comment`), or on a pull request's
/// diff (`pull_request_review_comment`, answered in its thread).
struct GitHubComment {
    var text: String
    var login: String
    var repository: String
    var number: Int
    var title: String?
    /// The pull request's web address (empty when the event has none); nil for an issue.
    var pullRequest: String?
    /// The pull request's head branch, when the event says (a review comment's does).
    var headBranch: String?
    /// The repository the head branch is in (`owner/name`), when the event says.
    var headRepository: String?
    /// A review comment's id, file and line.
    var reviewComment: Int?
    var path: String?
    var line: Int?

    /// Nil for other events and actions than a created comment; throws when a comment lacks what identifies it.
    init?(kind: String, _ body: JSONDocument) throws {
        func text(_ path: String) throws -> String? {
            guard let v = body[try JSONPath(path)], v != .null else { return nil }
            return v.text
        }
        guard try text("action") == "created", let comment = try text("comment.body") else { return nil }
        let numberPath: String
        switch kind {
        case "issue_comment":
            numberPath = "issue.number"
            title = try text("issue.title")
            if let pull = body[try JSONPath("issue.pull_request")], pull != .null {
                pullRequest = try text("issue.pull_request.html_url") ?? ""
            }
        case "pull_request_review_comment":
            numberPath = "pull_request.number"
            title = try text("pull_request.title")
            pullRequest = try text("pull_request.html_url") ?? ""
            headBranch = try text("pull_request.head.ref")
            headRepository = try text("pull_request.head.repo.full_name")
            reviewComment = try text("comment.id").flatMap { Int($0) }
            path = try text("comment.path")
            line = try text("comment.line").flatMap { Int($0) }
        default:
            return nil
        }
        guard let login = try text("comment.user.login"), let repository = try text("repository.full_name"),
            let number = try text(numberPath).flatMap({ Int($0) })
        else {
            throw PaddockError.invalidArgument("the comment event is missing its user, repository or number")
        }
        self.text = comment
        self.login = login
        self.repository = repository
        self.number = number
    }
}
