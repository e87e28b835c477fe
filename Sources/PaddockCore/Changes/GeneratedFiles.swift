/// Files a change rarely means to carry: build output, caches, dependencies and compiled binaries that no
/// `.gitignore` covered, so `git add --all` took them. A submit warns about them; `review: {exclude_generated:
/// true}` in runtime.yml leaves them out of the change, and `review: {exclude: [...]}` leaves out more.
public struct GeneratedFiles: Sendable {
    /// Directory names whose whole content is generated.
    static let directories: [String: String] = [
        "__pycache__": "Python bytecode cache", "node_modules": "installed npm packages",
        ".pytest_cache": "pytest cache", ".mypy_cache": "mypy cache", ".ruff_cache": "ruff cache",
        ".tox": "tox environments", ".venv": "a Python virtualenv", "venv": "a Python virtualenv",
        "dist": "build output", "build": "build output", "target": "build output", ".build": "build output",
        ".next": "build output", ".gradle": "Gradle cache", ".eggs": "Python build output",
    ]
    /// File name endings of compiled or packaged output.
    static let suffixes: [String: String] = [
        ".pyc": "Python bytecode", ".pyo": "Python bytecode", ".o": "an object file", ".obj": "an object file",
        ".a": "a static library", ".so": "a shared library", ".dylib": "a shared library", ".dll": "a library",
        ".exe": "an executable", ".class": "Java bytecode", ".whl": "a Python wheel", ".egg": "a Python egg",
        ".DS_Store": "Finder metadata",
    ]

    let excludeGenerated: Bool
    let patterns: [GlobPattern]
    let patternTexts: [String]

    /// - Parameters:
    ///   - excludeGenerated: leave out every file `reason(path:binary:)` names.
    ///   - patterns: `.gitignore`-style patterns also left out: `name` or `*.ext` matches a file or directory
    ///     name at any depth, `dir/` a directory, and a pattern with a `/` inside matches from the top.
    public init(excludeGenerated: Bool, patterns: [String] = []) {
        self.excludeGenerated = excludeGenerated
        patternTexts = patterns
        self.patterns = patterns.map { GlobPattern($0.hasSuffix("/") ? String($0.dropLast()) : $0) }
    }

    /// Why a file of the change looks generated, or nil. `binary` is git's verdict on its content: a binary
    /// file without a name ending is most likely a compiled program.
    public static func reason(path: String, binary: Bool) -> String? {
        let parts = path.split(separator: "/").map(String.init)
        for directory in parts.dropLast() {
            if let why = directories[directory] { return "\(why) (\(directory)/)" }
            if directory.hasSuffix(".egg-info") { return "Python build output (\(directory)/)" }
        }
        let name = parts.last ?? path
        for (suffix, why) in suffixes where name.hasSuffix(suffix) { return why }
        if binary && !name.contains(".") { return "a binary file (a compiled program?)" }
        return nil
    }

    /// Whether the change leaves the file out, and why.
    public func excluded(path: String, binary: Bool) -> String? {
        if excludeGenerated, let why = Self.reason(path: path, binary: binary) { return why }
        let parts = path.split(separator: "/").map(String.init)
        for (index, pattern) in patterns.enumerated() {
            let text = patternTexts[index]
            let anchored = text.dropLast(text.hasSuffix("/") ? 1 : 0).contains("/")
            if anchored {
                // `dir/sub` or `dir/*.log`: from the top, the path itself or one of its parent directories.
                let trimmed = text.hasPrefix("/") ? String(text.dropFirst()) : text
                let glob = GlobPattern(trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed)
                for end in 1...parts.count where glob.matches(parts[..<end].joined(separator: "/")) {
                    return "review.exclude '\(text)'"
                }
            } else {
                // A directory pattern matches only directories, so not the file's own name.
                let names = text.hasSuffix("/") ? parts.dropLast() : parts[...]
                if names.contains(where: pattern.matches) { return "review.exclude '\(text)'" }
            }
        }
        return nil
    }

    /// The warning for files that look generated and are in the change, with what to do; nil when none are.
    public static func warning(_ files: [(path: String, reason: String)]) -> String? {
        guard !files.isEmpty else { return nil }
        let shown = files.prefix(5).map { "\($0.path) (\($0.reason))" }.joined(separator: ", ")
        let more = files.count > 5 ? " and \(files.count - 5) more" : ""
        return "the change adds \(files.count) generated or binary file\(files.count == 1 ? "" : "s") no .gitignore "
            + "covers: \(shown)\(more); add them to .gitignore, delete them, or leave them out with "
            + "'review: {exclude_generated: true}' in runtime.yml"
    }
}
