import Foundation
import Logging
import PaddockCore
import PaddockServices

/// Template builds asked for through E2B's SDK: reserved (`POST /v3/templates`), given the files of their COPY
/// steps (upload links), started (`POST /v2/templates/{id}/builds/{build}`) and followed (`…/status`). The build
/// itself is `TemplateService.build`, so what it makes is an ordinary Paddock template of the organisation, built
/// and recorded (`template.build`) with the caller as actor. Builds are followed in memory: a restarted server
/// forgets unfinished ones, and the SDK then reports an unknown build.
actor E2BTemplateBuilds {
    struct Build: Sendable {
        var templateID: String
        var buildID: String
        var tags: [String]
        /// Who reserved it: only they follow it, upload to it and start it.
        var owner: String
        var status = "waiting"
        var logs: [E2B.BuildLogEntry] = []
        var reason: E2B.BuildStatusReason?
        var ended = false
        /// The step running now (index into the recipe's steps), and its latest output, for the error.
        var step: Int?
        var output: [String] = []
    }

    private let templates: TemplateService
    private let logger: Logger
    private var builds: [String: Build] = [:]
    /// Archives of COPY steps' files, by who uploaded them for which template and the hash the SDK gave them (the
    /// SDK asks for upload links by template and hash, before it starts the build); dropped when a build of the
    /// template ends.
    private var uploads: [UploadKey: Data] = [:]
    /// Upload links: the link's secret names the files it takes.
    private var uploadLinks: [String: UploadKey] = [:]

    struct UploadKey: Hashable, Sendable {
        var owner: String
        var templateID: String
        var hash: String
    }
    /// Ended builds kept for their status; the oldest go first.
    static let maxEndedBuilds = 100
    /// The status call answers at most this many log entries (as E2B's does); the SDK asks again for the rest.
    static let logPage = 100
    static let uploadPath = "/template-files"

    init(templates: TemplateService, logger: Logger) {
        self.templates = templates
        self.logger = logger
    }

    /// Reserves a build of the template `name` (`name:tag` and `tags` name the version it builds; without any,
    /// `default`). Building is for the organisation's admins.
    func reserve(_ request: E2B.TemplateBuildRequest, caller: Caller) throws -> E2B.TemplateBuildReserved {
        try caller.authorizeOrg(.admin)
        guard let full = request.name ?? request.alias, !full.isEmpty else {
            throw PaddockError.invalidArgument("a template build needs a name (Template.build(template, 'name'))")
        }
        let parts = full.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts[0]
        try TemplateSpec.validate(name: name)
        guard !E2B.isTemplateName(name) else {
            throw PaddockError.invalidArgument(
                "'\(name)' names E2B's base template on this server; give the new template another name")
        }
        let tags = (parts.count > 1 ? [parts[1]] : []) + (request.tags ?? [])
        for tag in tags { try Template.validate(tag: tag) }
        let build = Build(
            templateID: name, buildID: UUID().uuidString.lowercased(), tags: tags.isEmpty ? ["default"] : tags,
            owner: caller.actor.user)
        forgetEndedBuilds()
        builds[build.buildID] = build
        return E2B.TemplateBuildReserved(
            templateID: name, buildID: build.buildID, names: [name], tags: build.tags, aliases: [name])
    }

    /// Where the SDK uploads the archive of one COPY step's files: a link on this listener whose secret is the
    /// credential (the SDK sends it no key, as to a presigned URL). Files already given are `present`.
    func uploadLink(templateID: String, hash: String, caller: Caller, origin: String) throws
        -> E2B.TemplateFileUpload
    {
        guard !hash.isEmpty, hash.count <= 128, hash.allSatisfy(\.isHexDigit) else {
            throw PaddockError.invalidArgument("'\(hash)' is not a files hash")
        }
        try requirePending(templateID: templateID, caller: caller)
        let key = UploadKey(owner: caller.actor.user, templateID: templateID, hash: hash)
        if uploads[key] != nil { return E2B.TemplateFileUpload(present: true, url: nil) }
        let secret = Self.randomHex(32)
        uploadLinks[secret] = key
        return E2B.TemplateFileUpload(present: false, url: "\(origin)\(Self.uploadPath)/\(secret)")
    }

    /// Takes an upload through its link (once).
    func receiveUpload(secret: String, data: Data) throws {
        guard let key = uploadLinks.removeValue(forKey: secret) else {
            throw PaddockError.notFound("this upload link is unknown or used; build again to get a new one")
        }
        uploads[key] = data
    }

    /// Starts a reserved build in the background; `status` follows it.
    func start(templateID: String, buildID: String, _ start: E2B.TemplateBuildStart, caller: Caller) throws {
        let build = try find(templateID: templateID, buildID: buildID, caller: caller)
        guard build.status == "waiting" else {
            throw PaddockError.conflict("build \(buildID) was started already; reserve another with Template.build")
        }
        builds[buildID]?.status = "building"
        Task { await self.run(buildID, start, caller: caller) }
    }

    func status(templateID: String, buildID: String, logsOffset: Int, caller: Caller) throws -> E2B.TemplateBuildInfo {
        let build = try find(templateID: templateID, buildID: buildID, caller: caller)
        let from = min(max(logsOffset, 0), build.logs.count)
        let page = Array(build.logs[from..<min(from + Self.logPage, build.logs.count)])
        return E2B.TemplateBuildInfo(
            templateID: build.templateID, buildID: build.buildID, status: build.status, logs: page.map(\.message),
            logEntries: page, reason: build.reason)
    }

    // MARK: Running

    private func run(_ buildID: String, _ start: E2B.TemplateBuildStart, caller: Caller) async {
        guard let build = builds[buildID] else { return }
        var recipe: E2BTemplateRecipe?
        do {
            let (base, inherited) = try await resolveBase(start)
            var files: [String: Data] = [:]
            for (key, data) in uploads where key.owner == build.owner && key.templateID == build.templateID {
                files[key.hash] = data
            }
            let made = try E2BTemplateRecipe(
                name: build.templateID, start: start, base: base, inherited: inherited, uploads: files)
            recipe = made
            for warning in made.warnings { log(buildID, warning, level: "warn") }
            let result = try await templates.build(made.spec, tags: build.tags, by: caller) { line in
                await self.progress(buildID, line, made)
            }
            log(
                buildID,
                result.cached ? "Template \(build.templateID) was built from the same steps already" : "Build done")
            end(buildID, status: "ready", reason: nil)
        } catch let failure as E2BTemplateRecipe.Failure {
            end(buildID, status: "error", reason: .init(message: failure.message, step: failure.step))
        } catch {
            end(buildID, status: "error", reason: failedStep(buildID, error, recipe))
        }
    }

    /// Paddock's base and the steps the new template starts with.
    private func resolveBase(_ start: E2B.TemplateBuildStart) async throws -> (String, [String]) {
        switch try E2BTemplateRecipe.base(start) {
        case .host:
            return (TemplateSpec.Base.host.text, [])
        case .template(let name):
            do {
                let parent = try await templates.get(name)
                // Its steps run again under the new ones; files a COPY of it uploaded are not kept.
                guard !parent.install.contains(where: { $0.contains(TemplateService.buildContextPath) }) else {
                    throw E2BTemplateRecipe.Failure(
                        step: "base",
                        message: "template '\(name)' copied files into itself, and its build's files are not kept; "
                            + "start from its own base and repeat its steps (Paddock templates are not layered on "
                            + "each other: a template built from another runs the other's steps again)")
                }
                return (parent.base, parent.install)
            } catch let error as PaddockError where error.code == .notFound {
                throw E2BTemplateRecipe.Failure(
                    step: "base",
                    message: "template '\(name)' does not exist on this server; start from 'base' or build it first")
            }
        }
    }

    /// A progress line of the build, as the SDK's log: a step starting is named as E2B's instruction (not the
    /// script it became); the step's output follows.
    private func progress(_ buildID: String, _ line: String, _ recipe: E2BTemplateRecipe) {
        if line.hasPrefix("step "), let slash = line.firstIndex(of: "/"),
            let number = Int(line.dropFirst("step ".count).prefix(upTo: slash)), number >= 1,
            number <= recipe.stepSummaries.count
        {
            builds[buildID]?.step = number - 1
            builds[buildID]?.output = []
            log(buildID, "[builder \(recipe.stepLabels[number - 1])] \(recipe.stepSummaries[number - 1])")
        } else if line.hasPrefix("  ") {
            builds[buildID]?.output.append(String(line.dropFirst(2)))
            if (builds[buildID]?.output.count ?? 0) > 20 { builds[buildID]?.output.removeFirst() }
            log(buildID, String(line.dropFirst(2)))
        } else if !line.hasPrefix("build context:") {
            log(buildID, line)
        }
    }

    /// The reason of a failed build: the instruction that failed and its last output, when a step failed.
    private func failedStep(_ buildID: String, _ error: any Error, _ recipe: E2BTemplateRecipe?)
        -> E2B.BuildStatusReason
    {
        let message = (error as? PaddockError)?.message ?? "\(error)"
        guard let recipe, let build = builds[buildID], let step = build.step,
            message.hasPrefix("install step \(step + 1) ")
        else { return .init(message: message, step: nil) }
        let exit = message.range(of: #"failed with exit -?\d+"#, options: .regularExpression).map {
            String(message[$0].dropFirst("failed with ".count))
        }
        let output = build.output.isEmpty ? "" : ":\n" + build.output.joined(separator: "\n")
        return .init(
            message: "\(recipe.stepSummaries[step]) failed" + (exit.map { " (\($0))" } ?? "") + output,
            step: recipe.stepLabels[step])
    }

    private func log(_ buildID: String, _ message: String, level: String = "info") {
        builds[buildID]?.logs.append(
            E2B.BuildLogEntry(timestamp: E2B.rfc3339(Date()), level: level, message: message))
    }

    private func end(_ buildID: String, status: String, reason: E2B.BuildStatusReason?) {
        if let reason { log(buildID, reason.message, level: "error") }
        builds[buildID]?.status = status
        builds[buildID]?.reason = reason
        builds[buildID]?.ended = true
        if let build = builds[buildID] {
            uploads = uploads.filter { $0.key.owner != build.owner || $0.key.templateID != build.templateID }
            uploadLinks = uploadLinks.filter {
                $0.value.owner != build.owner || $0.value.templateID != build.templateID
            }
            logger.info(
                "E2B template build ended",
                metadata: [
                    "template.name": "\(build.templateID)", "build.id": "\(buildID)", "build.status": "\(status)",
                ])
        }
    }

    // MARK: Finding

    private func find(templateID: String, buildID: String, caller: Caller) throws -> Build {
        guard let build = builds[buildID], build.templateID == templateID, build.owner == caller.actor.user else {
            throw PaddockError.notFound(
                "build \(buildID) of template \(templateID) is unknown here (builds are followed until the server "
                    + "restarts); start a new one with Template.build")
        }
        return build
    }

    /// Files are taken only for a template the caller has reserved a build of and not started yet.
    private func requirePending(templateID: String, caller: Caller) throws {
        guard
            builds.values.contains(where: {
                $0.templateID == templateID && $0.owner == caller.actor.user && $0.status == "waiting"
            })
        else {
            throw PaddockError.notFound(
                "template \(templateID) has no build waiting for its files; start with Template.build")
        }
    }

    private func forgetEndedBuilds() {
        let ended = builds.values.filter(\.ended)
        guard ended.count >= Self.maxEndedBuilds else { return }
        // Build ids carry no order; ended builds are few, so the first half found goes.
        for build in ended.prefix(ended.count / 2) { builds[build.buildID] = nil }
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }
}
