import Foundation

/// A file a template's install steps read (`requirements.txt` in `pip install -r requirements.txt`): sent with
/// the build, placed in the build sandbox's working directory while the steps run, and hashed into the
/// template's digest, so changing it rebuilds the template. It is not part of the sealed layer.
public struct TemplateContextFile: Codable, Sendable, Equatable {
    /// Relative to the build context (the runtime.yml's directory): no `..`, no leading `/`.
    public var path: String
    public var mode: UInt16
    public var data: Data

    public init(path: String, mode: UInt16 = 0o644, data: Data) {
        self.path = path
        self.mode = mode
        self.data = data
    }

    /// All context files of one build together stay below this.
    public static let maxTotalBytes = 32 << 20

    public static func validate(_ files: [TemplateContextFile]) throws(PaddockError) {
        var total = 0
        for file in files {
            let parts = file.path.split(separator: "/", omittingEmptySubsequences: false)
            guard !file.path.isEmpty, !file.path.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }),
                !file.path.contains("\0")
            else {
                throw .invalidArgument(
                    "build context file '\(file.path)' must be a relative path inside the context (no '..')")
            }
            total += file.data.count
        }
        guard total <= maxTotalBytes else {
            throw .invalidArgument(
                "the build context files add up to \(total >> 20) MiB; keep them under \(maxTotalBytes >> 20) MiB "
                    + "(large inputs belong in the install steps' downloads)")
        }
    }
}
