/// The file guardrail, compiled: classifies a path inside the sandbox as normal, read-only or hidden.
///
/// A rule covers its path and everything under it. Hidden beats read-only wherever both cover a path, so layering
/// (which only ever adds file rules) can only tighten. `~` is the sandbox user's home and relative paths are
/// relative to the workspace, both for rules and for the paths being classified.
public struct FilePolicy: Sendable {
    /// The result of a classification.
    public struct Decision: Sendable, Hashable, CustomStringConvertible {
        public var access: FileAccess
        /// The rule that decided; nil for `normal`.
        public var rule: FileRule?

        /// `hidden by '~/.ssh' (runtime.yml:10:60)` or `normal`.
        public var description: String {
            guard let rule else { return "\(access)" }
            guard let origin = rule.origin else { return "\(access) by '\(rule.path)'" }
            return "\(access) by '\(rule.path)' (\(origin))"
        }
    }

    /// The resolved path each rule protects, strictest rule per path.
    private let byPath: [String: FileRule]
    public let home: String
    public let workspace: String

    /// Compiles rules; the error says which path to fix.
    public init(
        _ rules: [FileRule], home: String = SandboxPaths.home, workspace: String = SandboxPaths.workspace
    ) throws(PaddockError) {
        var byPath: [String: FileRule] = [:]
        for rule in rules {
            guard rule.access != .normal else {
                throw .invalidArgument("file rule '\(rule.path)' must be read_only or hidden")
            }
            let resolved: String
            do {
                resolved = try FileRule.resolve(rule.path, home: home, workspace: workspace)
            } catch {
                let at = rule.origin.map { " (\($0))" } ?? ""
                throw .invalidArgument("\(error.message)\(at)")
            }
            if let existing = byPath[resolved], existing.access >= rule.access { continue }
            byPath[resolved] = rule
        }
        self.byPath = byPath
        self.home = home
        self.workspace = workspace
    }

    /// Classifies a path as a program inside the sandbox named it (absolute, `~/…` or relative to the workspace).
    /// The deepest covering rule of the strictest access decides, so the report names the most specific rule.
    public func classify(_ path: String) -> Decision {
        var current = SandboxPaths.resolve(path, home: home, workspace: workspace)
        var best: FileRule?
        while true {
            if let rule = byPath[current], rule.access > (best?.access ?? .normal) { best = rule }
            if best?.access == .hidden || current == "/" { break }
            if let slash = current.utf8.lastIndex(of: UInt8(ascii: "/")), slash != current.startIndex {
                current = String(current[..<slash])
            } else {
                current = "/"
            }
        }
        return Decision(access: best?.access ?? .normal, rule: best)
    }

    /// The mounts that enforce the policy, shallowest first: each resolved path with its access. A path under a
    /// hidden one is left out (hiding the parent already hides it).
    public var mounts: [(path: String, access: FileAccess)] {
        let hidden = byPath.filter { $0.value.access == .hidden }.keys
        return byPath.keys.sorted().compactMap { path in
            let coveredByHidden = hidden.contains { $0 != path && path.hasPrefix($0 + "/") }
            return coveredByHidden ? nil : (path, byPath[path]?.access ?? .normal)
        }
    }
}
