/// `template:` — what the sandbox's filesystem starts from.
public struct TemplateConfig: Sendable, Equatable, Codable {
    /// The base template (`host`, or a built template's name).
    public var base: String?
    /// Shell commands run once when the template is built (`pip install -r requirements.txt`).
    public var install: [String]
    /// `pool: {size: N}`: how many warm sandboxes of the template to keep ready once it is built.
    public var poolSize: Int?

    public init(base: String? = nil, install: [String] = [], poolSize: Int? = nil) {
        self.base = base
        self.install = install
        self.poolSize = poolSize
    }
}
