/// `template:` — what the sandbox's filesystem starts from.
public struct TemplateConfig: Sendable, Equatable, Codable {
    /// The base template (`host`, or a built template's name).
    public var base: String?
    /// Shell commands run once when the template is built (`pip install -r requirements.txt`).
    public var install: [String]

    public init(base: String? = nil, install: [String] = []) {
        self.base = base
        self.install = install
    }
}
