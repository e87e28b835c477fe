import Foundation

/// What a template is built from: a base root filesystem and install steps run once over it.
public struct TemplateSpec: Codable, Sendable, Equatable {
    /// Where a template's root filesystem comes from.
    public enum Base: Sendable, Equatable {
        /// This machine's userland (`/usr`, `/opt`) read-only under a small skeleton. The default.
        case host
        /// A Debian suite built with debootstrap from the configured mirror.
        case debian(suite: String)
        /// An OCI image layout directory (optionally `PATH:TAG`) or a `docker save` tarball.
        case oci(path: String)

        public init(parsing text: String) throws(PaddockError) {
            if text == "host" {
                self = .host
            } else if text.hasPrefix("debian:") {
                let suite = String(text.dropFirst("debian:".count))
                guard !suite.isEmpty, suite.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                    throw .invalidArgument("base '\(text)' names no Debian suite; write it like debian:bookworm")
                }
                self = .debian(suite: suite)
            } else if text.hasPrefix("oci:") {
                let path = String(text.dropFirst("oci:".count))
                guard path.hasPrefix("/") else {
                    throw .invalidArgument(
                        "base '\(text)' needs an absolute path to an OCI image layout or a docker save tarball, "
                            + "like oci:/images/app or oci:/images/app:v1")
                }
                self = .oci(path: path)
            } else {
                throw .invalidArgument(
                    "base '\(text)' is not known; use host, debian:SUITE (debootstrap) or oci:/PATH (an image)")
            }
        }

        public var text: String {
            switch self {
            case .host: "host"
            case .debian(let suite): "debian:\(suite)"
            case .oci(let path): "oci:\(path)"
            }
        }
    }

    public var name: String
    /// `host`, `debian:SUITE` or `oci:/PATH`.
    public var base: String
    /// Shell commands run once, as root, in a build sandbox with network access.
    public var install: [String]
    /// Files the steps read, in their working directory; part of the digest.
    public var context: [TemplateContextFile]

    public init(name: String, base: String = "host", install: [String] = [], context: [TemplateContextFile] = []) {
        self.name = name
        self.base = base
        self.install = install
        self.context = context
    }

    public func validate() throws(PaddockError) {
        try Self.validate(name: name)
        _ = try Base(parsing: base)
        for (i, step) in install.enumerated() where step.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidArgument("install step \(i + 1) is empty; remove it or write a command")
        }
        try TemplateContextFile.validate(context)
    }

    public static func validate(name: String) throws(PaddockError) {
        guard (1...63).contains(name.count), name.first?.isLetter == true,
            name.allSatisfy({ ($0.isLetter && $0.isLowercase) || $0.isNumber || "-_.".contains($0) })
        else {
            throw .invalidArgument(
                "template name '\(name)' is not valid; use 1 to 63 lowercase letters, digits, '-', '_' or '.', "
                    + "starting with a letter")
        }
    }
}

/// A built template: its base, and the sealed layer its install steps produced (none when there were none).
public struct Template: Codable, Sendable, Equatable {
    public var name: String
    public var base: String
    public var install: [String]
    /// Hash of the base and the steps: a build with the same inputs is served from this one.
    public var digest: String
    public var layer: String?
    public var bytes: UInt64
    public var createdAt: Date
    public var buildSeconds: Double
    /// Names of this version (E2B's tags): a template keeps one version, so a rebuild with other steps replaces
    /// them. Nil for templates built without any.
    public var tags: [String]?

    public init(
        name: String, base: String, install: [String], digest: String, layer: String?, bytes: UInt64,
        createdAt: Date, buildSeconds: Double, tags: [String]? = nil
    ) {
        self.name = name
        self.base = base
        self.install = install
        self.digest = digest
        self.layer = layer
        self.bytes = bytes
        self.createdAt = createdAt
        self.buildSeconds = buildSeconds
        self.tags = tags
    }

    /// Checks a tag: lowercase letters, digits, `.`, `_` and `-`, 1 to 63 of them (`name:tag` is split first).
    public static func validate(tag: String) throws(PaddockError) {
        guard (1...63).contains(tag.count),
            tag.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "-_.".contains($0) })
        else {
            throw .invalidArgument(
                "tag '\(tag)' is not valid; use 1 to 63 lowercase letters, digits, '-', '_' or '.' (no ':')")
        }
    }

    /// The built-in template every server has.
    public static let host = Template(
        name: SessionSpec.defaultTemplate, base: "host", install: [], digest: "host", layer: nil, bytes: 0,
        createdAt: Date(timeIntervalSince1970: 0), buildSeconds: 0)
}
