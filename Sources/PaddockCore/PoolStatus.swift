/// A warm pool: how many ready sandboxes of a template to keep on a provider, and how many are ready now.
public struct PoolStatus: Sendable, Codable, Equatable {
    public var provider: String
    public var template: String
    public var size: Int
    public var ready: Int

    public init(provider: String, template: String, size: Int, ready: Int) {
        self.provider = provider
        self.template = template
        self.size = size
        self.ready = ready
    }
}
