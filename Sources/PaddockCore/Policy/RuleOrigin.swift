/// Where a rule, a default or a limit was written: which policy layer, which file, which line and column.
///
/// Carried by every rule so `paddock policy explain` and the audit log can say *why* a decision was made.
/// Every field is optional because rules can also come from code or from a command-line flag.
public struct RuleOrigin: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The policy layer (`org`, `team`, `repository`, `session`), when the rule came through layering.
    public var layer: String?
    public var file: String?
    /// 1-based.
    public var line: Int?
    /// 1-based, counted in Unicode scalars.
    public var column: Int?

    public init(layer: String? = nil, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.layer = layer
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, or as much of it as is known; nil when no file is known.
    public var location: String? {
        guard let file else { return nil }
        guard let line else { return file }
        guard let column else { return "\(file):\(line)" }
        return "\(file):\(line):\(column)"
    }

    /// `repository runtime.yml:9:71`, `org`, `runtime.yml:3:5` or `unknown origin`.
    public var description: String {
        switch (layer, location) {
        case (let layer?, let location?): "\(layer) \(location)"
        case (let layer?, nil): layer
        case (nil, let location?): location
        case (nil, nil): "unknown origin"
        }
    }
}
