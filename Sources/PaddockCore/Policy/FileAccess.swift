/// How the file guardrail treats a path, ordered by strictness (`normal < readOnly < hidden`).
public enum FileAccess: String, Sendable, Codable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Readable and writable as the sandbox's permissions allow.
    case normal
    /// Visible but not writable: bind-mounted read-only, writes fail with `EROFS`.
    case readOnly = "read_only"
    /// Not there for the sandbox: covered by an empty mount, access fails with `ENOENT`/`EACCES`.
    case hidden

    private var strictness: Int {
        switch self {
        case .normal: 0
        case .readOnly: 1
        case .hidden: 2
        }
    }

    public static func < (a: FileAccess, b: FileAccess) -> Bool { a.strictness < b.strictness }

    public var description: String { rawValue }
}
