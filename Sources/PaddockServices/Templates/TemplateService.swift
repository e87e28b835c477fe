import Crypto
import Foundation
import PaddockCore
import PaddockSandbox

/// Templates: a base plus install steps, built once into a read-only layer that every session of the
/// template shares. Building and removing one is for owners and admins and is recorded in the organisation's
/// trail; resolving a session's template to its current layer happens here too.
public struct TemplateService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    /// How a build went: the template, and whether an earlier build with the same inputs was reused.
    public struct TemplateBuild: Sendable {
        public var template: Template
        public var cached: Bool
    }

    /// Builds (or reuses) a template: prepares its base, runs its install steps as root in a build sandbox
    /// that has network access, and seals what they changed as a read-only layer shared by every session of
    /// the template. Each line of output is passed to `progress` as it comes. A failed step ends the build with
    /// its output; nothing of a failed build is kept, and the template's previous version stays in place.
    ///
    /// `tags` name the version built (E2B's tags): a build with other steps replaces the template's tags with them;
    /// one served from the same steps adds them.
    public func build(
        _ spec: TemplateSpec, provider providerName: String = "local", tags: [String] = [], by caller: Caller,
        progress: @escaping @Sendable (String) async -> Void
    ) async throws -> TemplateBuild {
        try caller.authorizeOrg(.admin)
        try spec.validate()
        for tag in tags { try Template.validate(tag: tag) }
        guard spec.name != SessionSpec.defaultTemplate else {
            throw PaddockError.invalidArgument(
                "'\(SessionSpec.defaultTemplate)' is the built-in template; give the new template another name")
        }
        guard let provider = sessions.providers[providerName] else {
            throw PaddockError.invalidArgument(
                "provider '\(providerName)' is not available on this server; use one of: \(sessions.providerNames.joined(separator: ", "))"
            )
        }
        let digest = Self.digest(spec)
        if var existing = try await sessions.store.template(spec.name), existing.digest == digest {
            await progress("template \(spec.name) is up to date (same base and steps); nothing to build")
            if !Set(tags).isSubset(of: existing.tags ?? []) {
                existing = try await tag(spec.name, tags, by: caller)
            }
            return TemplateBuild(template: existing, cached: true)
        }
        try sessions.templateBuilds.take(
            spec.name,
            busy: .conflict("template \(spec.name) is being built already; wait for that build to end"))
        defer { sessions.templateBuilds.release(spec.name) }

        let started = ContinuousClock.now
        await progress("preparing base \(spec.base)")
        try await provider.prepareBase(spec.base, progress: progress)
        // Pinned until the template's record is stored (the end of this call), so layer collection never finds
        // the sealed layer unowned in between.
        let layerID = "tpl" + digest.prefix(24)
        sessions.layerPins.pin(layerID)
        defer { sessions.layerPins.unpin(layerID) }
        var layer: LayerInfo?
        if !spec.install.isEmpty {
            layer = try await runInstallSteps(spec, provider: provider, layerID: layerID, progress: progress)
        }
        let elapsed = ContinuousClock.now - started
        let template = Template(
            name: spec.name, base: spec.base, install: spec.install, digest: digest, layer: layer?.id,
            bytes: layer?.bytes ?? 0, createdAt: sessions.clock(),
            buildSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            tags: tags.isEmpty ? nil : tags)
        try await sessions.store.putTemplate(template)
        try await sessions.orgTrail.record(
            "template.build",
            ["template": .string(spec.name), "base": .string(spec.base), "digest": .string(digest)], by: caller)
        // The previous version's layer goes as soon as no session runs on it.
        await SnapshotService(sessions: sessions).collectLayers()
        await progress("template \(spec.name) is ready (\(template.bytes) bytes in its layer)")
        sessions.logger.info(
            "template built", metadata: ["template.name": "\(spec.name)", "template.digest": "\(digest.prefix(12))"])
        return TemplateBuild(template: template, cached: false)
    }

    /// Runs the steps in a build sandbox and seals the result; the sandbox is destroyed either way.
    private func runInstallSteps(
        _ spec: TemplateSpec, provider: any SandboxProvider, layerID: String,
        progress: @escaping @Sendable (String) async -> Void
    ) async throws -> LayerInfo {
        let buildID = SessionID.random()
        let limits = ResourceLimits(memory: .gibibytes(4), cpus: 2, pids: 4096, disk: .gibibytes(8))
        try await provider.create(
            SandboxRequest(
                id: buildID, template: spec.name, limits: limits, base: spec.base, templateBuild: true))
        do {
            var env = SandboxLayout.baseEnvironment(user: .root)
            env["DEBIAN_FRONTEND"] = "noninteractive"
            let cwd = try await placeContext(spec, in: buildID, provider: provider)
            if !spec.context.isEmpty {
                await progress("build context: \(spec.context.map(\.path).joined(separator: ", ")) in \(cwd)")
            }
            for (i, step) in spec.install.enumerated() {
                await progress("step \(i + 1)/\(spec.install.count): \(step)")
                let handle = try await provider.initClient(buildID).exec(
                    ExecRequest(argv: ["/bin/sh", "-c", step], env: env, cwd: cwd, user: .root))
                var lines = LineBuffer()
                var status = ExitStatus(code: -1)
                for try await event in handle.events {
                    switch event {
                    case .stdout(let bytes), .stderr(let bytes):
                        for line in lines.append(bytes) { await progress("  " + line) }
                    case .exited(let s): status = s
                    case .started: break
                    }
                }
                for line in lines.flush() { await progress("  " + line) }
                guard status.code == 0 else {
                    throw PaddockError.invalidArgument(
                        "install step \(i + 1) (\(step)) failed with exit \(status.code):\n"
                            + lines.recent.joined(separator: "\n")
                            + "\nfix the step and build again; nothing of this build was kept")
                }
            }
            if !spec.context.isEmpty {
                // The context served the steps; it is not part of the template.
                let cleanup = try await provider.initClient(buildID).exec(
                    ExecRequest(argv: ["rm", "-rf", Self.buildContextDirectory], env: env, cwd: "/", user: .root))
                for try await _ in cleanup.events {}
            }
            await progress("sealing the template layer")
            let layer = try await provider.snapshot(buildID, layer: layerID)
            try await provider.destroy(buildID)
            return layer
        } catch {
            await sessions.destroyBestEffort(buildID, provider, why: "its template build failed")
            await provider.removeLayer(layerID)
            throw error
        }
    }

    /// Adds names to a template's version (`template.tag` in the organisation's trail).
    @discardableResult
    public func tag(_ name: String, _ tags: [String], by caller: Caller) async throws -> Template {
        try caller.authorizeOrg(.admin)
        for tag in tags { try Template.validate(tag: tag) }
        var template = try await builtTemplate(name)
        template.tags = (template.tags ?? []) + tags.filter { !(template.tags ?? []).contains($0) }
        try await sessions.store.putTemplate(template)
        try await sessions.orgTrail.record(
            "template.tag", ["template": .string(name), "tags": .strings(tags)], by: caller)
        return template
    }

    /// Removes names from a template's version (`template.untag`); the template stays.
    @discardableResult
    public func untag(_ name: String, _ tags: [String], by caller: Caller) async throws -> Template {
        try caller.authorizeOrg(.admin)
        var template = try await builtTemplate(name)
        template.tags = (template.tags ?? []).filter { !tags.contains($0) }
        try await sessions.store.putTemplate(template)
        try await sessions.orgTrail.record(
            "template.untag", ["template": .string(name), "tags": .strings(tags)], by: caller)
        return template
    }

    private func builtTemplate(_ name: String) async throws -> Template {
        guard name != SessionSpec.defaultTemplate else {
            throw PaddockError.invalidArgument("the built-in '\(name)' template has no tags")
        }
        return try await get(name)
    }

    /// The built-in `host` template and every built one.
    public func list() async throws -> [Template] { [Template.host] + (try await sessions.store.templates()) }

    public func get(_ name: String) async throws -> Template {
        if name == SessionSpec.defaultTemplate { return Template.host }
        guard let t = try await sessions.store.template(name) else {
            throw PaddockError.notFound(
                "template '\(name)' does not exist; `paddock template list` shows the built ones, "
                    + "`paddock template build` makes one")
        }
        return t
    }

    /// Removes a template. Its layer stays while sessions still run on it, and goes with the last of them.
    @discardableResult
    public func remove(_ name: String, by caller: Caller) async throws -> Template {
        try caller.authorizeOrg(.admin)
        guard name != SessionSpec.defaultTemplate else {
            throw PaddockError.invalidArgument("the built-in '\(name)' template cannot be removed")
        }
        let template = try await get(name)
        if let pool = try await sessions.store.poolTargets().first(where: { $0.template == name && $0.size > 0 }) {
            throw PaddockError.conflict(
                "template \(name) has a warm pool of \(pool.size) on provider \(pool.provider); remove it first with "
                    + "`paddock pool set \(name) --size 0`")
        }
        try await sessions.store.deleteTemplate(name)
        try await sessions.orgTrail.record("template.remove", ["template": .string(name)], by: caller)
        await SnapshotService(sessions: sessions).collectLayers()
        return template
    }

    /// The current version of a template, as warm sandboxes are started from it.
    func warm(_ name: String) async throws -> WarmTemplate {
        guard name != SessionSpec.defaultTemplate else { return .host }
        let template = try await get(name)
        return WarmTemplate(name: name, base: template.base, layer: template.layer)
    }

    /// Fixes a new session's template base and layer (from its template, or its fork parent's).
    func resolving(_ spec: SessionSpec) async throws -> SessionSpec {
        guard spec.templateBase == nil else { return spec }
        let template = try await get(spec.template)
        var resolved = spec
        resolved.templateBase = template.base
        resolved.templateLayer = template.layer
        return resolved
    }

    /// Inputs of a build, hashed: a build with the same base, steps and context files reuses the last one.
    static func digest(_ spec: TemplateSpec) -> String {
        var lines = ["paddock-template-v1", spec.base] + spec.install
        for file in spec.context.sorted(by: { $0.path < $1.path }) {
            let hash = SHA256.hash(data: file.data).map { String(format: "%02x", $0) }.joined()
            lines.append("context \(String(file.mode, radix: 8)) \(hash) \(file.path)")
        }
        return SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Where a build's context files are while its steps run (removed before the layer is sealed).
    static let buildContextDirectory = "/tmp/paddock-build-context"
    public static var buildContextPath: String { buildContextDirectory }

    /// Writes the context files into the build sandbox; returns the steps' working directory.
    private func placeContext(_ spec: TemplateSpec, in id: SessionID, provider: any SandboxProvider) async throws
        -> String
    {
        guard !spec.context.isEmpty else { return "/" }
        let root = Self.buildContextDirectory
        for file in spec.context {
            var directory = root
            for part in file.path.split(separator: "/").dropLast() {
                _ = try await provider.initClient(id).makeDirectory(path: directory, user: .root)
                directory += "/\(part)"
            }
            _ = try await provider.initClient(id).makeDirectory(path: directory, user: .root)
            try await provider.initClient(id).writeFile(
                path: "\(root)/\(file.path)", mode: UInt32(file.mode), user: .root, append: false,
                data: .of(Array(file.data)))
        }
        return root
    }
}

/// Splits output into lines as it arrives, keeping the most recent ones for error reports.
struct LineBuffer {
    /// A build step's line is progress for a person: anything longer is cut.
    private var splitter = LineSplitter(maxLineLength: 16 << 10)
    private(set) var recent: [String] = []

    mutating func append(_ bytes: [UInt8]) -> [String] {
        let lines = splitter.feed(bytes).map(\.text)
        remember(lines)
        return lines
    }

    mutating func flush() -> [String] {
        guard let line = splitter.finish()?.text else { return [] }
        remember([line])
        return [line]
    }

    private mutating func remember(_ lines: [String]) {
        recent += lines
        if recent.count > 30 { recent.removeFirst(recent.count - 30) }
    }
}
