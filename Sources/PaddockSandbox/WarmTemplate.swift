import PaddockCore

/// What a warm sandbox is started from: a template by name, with the base and install layer it resolved to
/// when the pool was filled. A rebuilt template has a new layer, so its old warm sandboxes no longer match
/// and are replaced.
public struct WarmTemplate: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var base: String
    public var layer: String?

    public init(name: String, base: String = "host", layer: String? = nil) {
        self.name = name
        self.base = base
        self.layer = layer
    }

    /// The built-in `host` template.
    public static let host = WarmTemplate(name: SessionSpec.defaultTemplate)

    public var description: String { "\(name) (base \(base), layer \(layer ?? "-"))" }
}

extension SessionSpec {
    /// The warm sandboxes a session of this spec can be handed (its template as resolved at creation).
    public var warmTemplate: WarmTemplate {
        WarmTemplate(name: template, base: templateBase ?? "host", layer: templateLayer)
    }
}
