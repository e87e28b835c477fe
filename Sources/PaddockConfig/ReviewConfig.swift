/// `review:` — what a submitted change leaves out. `exclude_generated: true` leaves out generated and binary
/// files no `.gitignore` covers (`__pycache__`, `*.pyc`, `node_modules`, `dist/`, `build/`, `target/`, object
/// files, executables); `exclude` adds patterns of its own (`*.log`, `tmp/`). Without it such files are kept,
/// and submit warns about them.
public struct ReviewConfig: Sendable, Equatable {
    public var excludeGenerated: Bool?
    /// Glob patterns in `.gitignore` style: `name`, `*.ext`, `dir/`.
    public var exclude: [String]

    public init(excludeGenerated: Bool? = nil, exclude: [String] = []) {
        self.excludeGenerated = excludeGenerated
        self.exclude = exclude
    }
}
