#if os(Linux)
    import PaddockCore
    import PaddockSandbox

    extension LocalProvider {
        public func prepareBase(_ base: String, progress: @escaping @Sendable (String) async -> Void) async throws {
            _ = try await root(for: base, progress: progress)
        }

        /// The prepared root filesystem of a template base: built on first use for `host` (a few ms) and by
        /// `prepareBase` for images (minutes); found on disk after a restart.
        func root(for text: String, progress: (@Sendable (String) async -> Void)? = nil) async throws -> HostTemplate {
            if let known = bases[text] { return known }
            if let preparing = preparingBases[text] { return try await preparing.value }
            let preparing = Task { try await self.prepareRoot(text, progress: progress) }
            preparingBases[text] = preparing
            defer { preparingBases[text] = nil }
            let prepared = try await preparing.value
            bases[text] = prepared
            return prepared
        }

        private func prepareRoot(_ text: String, progress: (@Sendable (String) async -> Void)?) async throws
            -> HostTemplate
        {
            let base = try TemplateSpec.Base(parsing: text)
            let prepared: HostTemplate
            switch base {
            case .host:
                prepared = try await HostTemplate.prepare(templatesDirectory: layout.templates)
            case .debian, .oci:
                let key = ImageBase.key(for: base) ?? text
                let existing = "\(layout.templates)/bases/\(key)/rootfs"
                if Syscalls.isDirectory(existing) {
                    prepared = HostTemplate(rootfs: existing, readOnlyBinds: [])
                } else if let progress {
                    let rootfs = try await ImageBase.prepare(
                        base, templatesDirectory: layout.templates, progress: progress)
                    prepared = HostTemplate(rootfs: rootfs, readOnlyBinds: [])
                } else {
                    throw PaddockError.notFound(
                        "base '\(text)' is not prepared on this host; build a template from it first "
                            + "(`paddock template build NAME --base \(text)`)")
                }
            }
            return prepared
        }

        /// Overlay lower directories, top first: the template's install layer (if any) over its base.
        nonisolated func lowerDirectories(_ request: SandboxRequest, _ template: HostTemplate) -> String {
            if let layer = request.templateLayer { return "\(layout.layer(layer)):\(template.rootfs)" }
            return template.rootfs
        }
    }
#endif
