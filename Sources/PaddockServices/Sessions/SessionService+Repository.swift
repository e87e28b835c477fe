import Foundation
import PaddockConfig
import PaddockCore
import PaddockSandbox

extension SessionService {
    /// Creates a session on a repository branch. The branch is resolved in the server's cache (a mirror of the
    /// origin, fetched with the host's credentials when older than the refresh window), the repository's
    /// runtime.yml is layered between the team's policy and the session's (it can only tighten), and the sandbox
    /// starts with the commit's checkout as /workspace: a sealed layer shared copy-on-write by every session on
    /// that commit (made once), with a `.git` of its own that has the history but no remote. On a provider that
    /// cannot share layers the checkout is copied in instead. On any failure nothing is left: no session, no layer.
    func createOnRepository(_ requested: SessionSpec, policy: PolicyText?, owner: SessionOwner?, by caller: Caller)
        async throws
        -> Session
    {
        guard let clones = repositories else {
            throw PaddockError.unavailable("this server keeps no repository clones; start it with a data directory")
        }
        guard var repository = requested.repository else {
            throw PaddockError.internal("createOnRepository needs a repository")
        }
        guard requested.snapshot == nil, requested.forkOf == nil else {
            throw PaddockError.invalidArgument("a repository session cannot also start from a snapshot; pass one")
        }
        let start = ContinuousClock.now
        let provider = providers[requested.provider]
        let sharing = provider?.sharesWorkspaceLayers == true ? provider : nil
        let checkout = try await clones.cache.checkout(repository, layerOn: sharing)
        // Held by the cache from the checkout until the sandbox has its layer (or failed to start).
        defer { if let layer = checkout.layer { clones.cache.starting.unpin(layer) } }
        repository.base = checkout.commit
        var spec = requested
        spec.repository = repository
        let file = "runtime.yml (repository \(repository.url), branch \(repository.branch))"
        let prepared = try await guardrails.prepare(
            policy, repository: checkout.runtimeYAML.map { PolicyText(text: $0, file: file) })
        try prepared?.apply(to: &spec)
        try spec.validate()
        try await network?.validate(spec, team: owner?.team)
        let session: Session
        if let layer = checkout.layer {
            // Pinned until the sandbox holds it, so no collection pass removes the layer in between.
            session = try await layerPins.holding(layer) {
                try await create(
                    spec, layer: layer, sharesWorkspace: true, prepared: prepared, owner: owner, by: caller)
            }
        } else {
            session = try await create(spec, layer: nil, prepared: prepared, owner: owner, by: caller)
        }
        do {
            try await populateWorkspace(
                session, clones: clones, copied: checkout.layer == nil, checkout: checkout, since: start, by: caller)
        } catch {
            clones.remove(session.id)
            do {
                try await destroy(session.id, reason: "the repository could not be put into the sandbox", by: caller)
            } catch let cleanup {
                logger.warning(
                    "could not remove a session whose repository did not arrive",
                    metadata: ["session.id": "\(session.id)", "error": "\(cleanup)"])
            }
            throw PaddockError.wrap(error, "putting the repository into the sandbox failed")
        }
        if let limit = clones.cacheLimit, checkout.fetched || checkout.sealed {
            do { _ = try await RepositoryCacheService(sessions: self).collect(limit: limit) } catch {
                // The session is fine; the cache stays over its cap until the next one grows it.
                logger.warning("could not collect the repository cache", metadata: ["error": "\(error)"])
            }
        }
        return try await get(session.id)
    }

    /// Copies the checkout into /workspace when the sandbox did not start on its layer, and writes the layered
    /// `instructions:` for the agent.
    private func populateWorkspace(
        _ session: Session, clones: RepositoryClones, copied: Bool, checkout: RepositoryCache.Checkout,
        since start: ContinuousClock.Instant, by caller: Caller
    ) async throws {
        guard let repository = session.spec.repository, let provider = providers[session.spec.provider] else { return }
        var files = 0
        if copied {
            try await clones.ensure(session.id, repository)
            let export = try await clones.export(session.id, branch: repository.branch)
            defer { clones.cache.removeBestEffort(export) }
            files = try await upload(export, to: SandboxLayout.workspace, session.id, provider)
        }
        let instructions = Self.instructions(session.policy)
        if let instructions {
            let mirror = HostGit(clones.cache.mirror(of: repository.url))
            for name in Self.instructionFiles {
                let shown = try await mirror.run(
                    ["cat-file", "-p", "\(repository.base):\(name)"], trust: .content, limit: 1 << 20)
                let text = Self.withInstructions(shown.succeeded ? shown.stdout : nil, instructions)
                try await provider.initClient(session.id).writeFile(
                    path: "\(SandboxLayout.workspace)/\(name)", mode: 0o644, user: .user, append: false,
                    data: BackpressuredStream { await $0.send(Array(text.utf8)) })
            }
        }
        try await record(
            session.id, "repository.clone",
            [
                "url": .string(repository.url), "branch": .string(repository.branch), "base": .string(repository.base),
                "files": .int(Int64(files)), "instructions": .bool(instructions != nil),
                "layer": .optional(checkout.layer), "fetched": .bool(checkout.fetched),
                "sealed": .bool(checkout.sealed),
                "lfs": .optional(checkout.lfs),
                "ms": .int(Int64(((ContinuousClock.now - start) / .milliseconds(1)).rounded())),
            ], by: caller)
    }

    /// Writes every file, directory and link under `directory` into the sandbox at `target`, as the sandbox user.
    private func upload(_ directory: String, to target: String, _ id: SessionID, _ provider: any SandboxProvider)
        async throws -> Int
    {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: directory) else {
            throw PaddockError.internal("cannot read the repository copy at \(directory)")
        }
        var links: [(String, String)] = []
        var count = 0
        while let relative = walker.nextObject() as? String {
            let source = "\(directory)/\(relative)"
            let destination = "\(target)/\(relative)"
            let attributes = try fm.attributesOfItem(atPath: source)
            let type = attributes[.type] as? FileAttributeType
            let permissions = (attributes[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
            switch type {
            case .typeDirectory?:
                _ = try await provider.initClient(id).makeDirectory(path: destination, user: .user)
            case .typeSymbolicLink?:
                links.append((try fm.destinationOfSymbolicLink(atPath: source), destination))
            case .typeRegular?:
                guard let handle = FileHandle(forReadingAtPath: source) else {
                    throw PaddockError.internal("cannot read \(relative) of the repository copy")
                }
                let data = BackpressuredStream<[UInt8]> { sink in
                    defer { try? handle.close() }
                    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                        await sink.send(Array(chunk))
                    }
                }
                try await provider.initClient(id).writeFile(
                    path: destination, mode: permissions & 0o100 != 0 ? 0o755 : 0o644, user: .user, append: false,
                    data: data)
                count += 1
            default:
                continue
            }
        }
        // The file protocol has no symlink call; links are made by `ln` as the sandbox user, all in one exec.
        if !links.isEmpty {
            var argv = [
                "/bin/sh", "-c", "while [ $# -gt 0 ]; do ln -s -- \"$1\" \"$2\" || exit 1; shift 2; done", "ln",
            ]
            for (link, path) in links { argv += [link, path] }
            let env = SandboxLayout.baseEnvironment(user: .user)
            let handle = try await provider.initClient(id).exec(
                ExecRequest(argv: argv, env: env, cwd: target, user: .user))
            var status: ExitStatus?
            for try await event in handle.events { if case .exited(let s) = event { status = s } }
            guard status?.code == 0 else {
                throw PaddockError.internal("creating the repository's symbolic links in the sandbox failed")
            }
            count += links.count
        }
        return count
    }

    /// Files the agent instructions go into (Claude Code reads CLAUDE.md; Codex, Aider and others AGENTS.md).
    static let instructionFiles = ["CLAUDE.md", "AGENTS.md"]
    static let instructionsBegin = "<!-- paddock:instructions:begin (written by Paddock; not part of the change) -->"
    static let instructionsEnd = "<!-- paddock:instructions:end -->"

    /// The `instructions:` of every policy layer, org first, each under a heading naming its layer; nil when none
    /// says anything.
    static func instructions(_ policy: SessionPolicy?) -> String? {
        guard let policy else { return nil }
        var parts: [String] = []
        for source in policy.sources {
            guard let config = source.config(for: "instructions"),
                let text = config.instructions?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
            else { continue }
            parts.append("### From the \(source.layer) policy\n\n\(text)\n")
        }
        guard !parts.isEmpty else { return nil }
        return parts.joined(separator: "\n")
    }

    /// The block appended to an instruction file: recognisable, so the diff can take it out again.
    static func instructionBlock(_ instructions: String) -> String {
        "\(instructionsBegin)\n## Paddock session instructions\n\n\(instructions)\(instructionsEnd)\n"
    }

    /// The separator between a file's own text and the block.
    private static func separator(_ original: String) -> String {
        original.isEmpty ? "" : original.hasSuffix("\n") ? "\n" : "\n\n"
    }

    /// A repository's instruction file with the session's block appended (never replacing what it says).
    static func withInstructions(_ original: String?, _ instructions: String) -> String {
        let original = original ?? ""
        return original + separator(original) + instructionBlock(instructions)
    }

    /// The file as the agent left it minus what Paddock wrote, or nil when nothing else remains and the
    /// repository had no such file.
    static func withoutInstructions(_ text: String, original: String?, _ instructions: String) -> String? {
        let block = instructionBlock(instructions)
        let original = original ?? ""
        let inserted = separator(original) + block
        var result = text
        if let range = result.range(of: inserted) {
            result.removeSubrange(range)
        } else if let range = result.range(of: block) {
            result.removeSubrange(range)
        }
        if result.isEmpty && original.isEmpty { return nil }
        return result
    }

    /// Every command in the policy layers' `checks:`, org first; the repository's own checks among them.
    static func checks(_ policy: SessionPolicy?) -> [String] {
        var out: [String] = []
        for source in policy?.sources ?? [] {
            guard let config = source.config(for: "checks") else { continue }
            for check in config.checks where !out.contains(check) { out.append(check) }
        }
        return out
    }
}
