import Foundation
import PaddockCore

/// `POST /v1/templates`: build (or reuse) a template.
public struct BuildTemplateBody: Codable, Sendable {
    public var name: String
    /// `host` (default), `debian:SUITE` or `oci:/PATH`.
    public var base: String?
    public var install: [String]?
    public var provider: String?
    /// Keep this many warm sandboxes of the template ready once it is built (`pool: {size: N}`).
    public var pool: Int?
    /// Files the steps read (`TemplateContextFile`).
    public var context: [TemplateContextFile]?

    public init(
        name: String, base: String? = nil, install: [String]? = nil, provider: String? = nil, pool: Int? = nil
    ) {
        self.name = name
        self.base = base
        self.install = install
        self.provider = provider
        self.pool = pool
    }

    public func spec() throws(PaddockError) -> TemplateSpec {
        let spec = TemplateSpec(name: name, base: base ?? "host", install: install ?? [], context: context ?? [])
        try spec.validate()
        return spec
    }
}

/// A template as the API reports it.
public struct TemplateBody: Codable, Sendable, Equatable {
    public var name: String
    public var base: String
    public var install: [String]
    public var digest: String
    public var bytes: UInt64
    public var createdAt: Date
    public var buildSeconds: Double

    public init(_ t: Template) {
        name = t.name
        base = t.base
        install = t.install
        digest = t.digest
        bytes = t.bytes
        createdAt = t.createdAt
        buildSeconds = t.buildSeconds
    }
}

public struct TemplateListBody: Codable, Sendable {
    public var templates: [TemplateBody]
    public init(templates: [TemplateBody]) { self.templates = templates }
}

/// One line of a build's NDJSON stream: progress lines as they come, then the template or an error.
public struct TemplateBuildEvent: Codable, Sendable {
    public var progress: String?
    public var template: TemplateBody?
    /// The template was already built from the same base and steps.
    public var cached: Bool?
    public var error: ErrorBody.Detail?

    public init(
        progress: String? = nil, template: TemplateBody? = nil, cached: Bool? = nil, error: ErrorBody.Detail? = nil
    ) {
        self.progress = progress
        self.template = template
        self.cached = cached
        self.error = error
    }
}
