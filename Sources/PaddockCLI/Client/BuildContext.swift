import Foundation
import PaddockCore

/// The files a template's install steps name, read from the build context directory (the runtime.yml's):
/// every word of a step that is the relative path of a regular file inside the directory —
/// `requirements.txt` in `pip install -r requirements.txt`, `scripts/setup.sh` in `sh scripts/setup.sh`.
/// They travel with the build and are hashed into its digest, so editing one rebuilds the template.
enum BuildContext {
    static func referencedFiles(steps: [String], directory: String) throws -> [TemplateContextFile] {
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        var seen = Set<String>()
        var files: [TemplateContextFile] = []
        for step in steps {
            for word in words(step) {
                let relative = word.hasPrefix("./") ? String(word.dropFirst(2)) : word
                guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.hasPrefix("-"), !seen.contains(relative)
                else { continue }
                let resolved = URL(fileURLWithPath: root + "/" + relative).resolvingSymlinksInPath().path
                // A link out of the context is not followed: the build sees only what is inside it.
                guard resolved.hasPrefix(root + "/") else { continue }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory),
                    !isDirectory.boolValue,
                    let data = FileManager.default.contents(atPath: resolved)
                else { continue }
                seen.insert(relative)
                let executable = FileManager.default.isExecutableFile(atPath: resolved)
                files.append(TemplateContextFile(path: relative, mode: executable ? 0o755 : 0o644, data: data))
            }
        }
        try TemplateContextFile.validate(files)
        return files
    }

    /// A step's words, split at whitespace, quotes and shell punctuation, and at `=` (`--requirement=FILE`).
    static func words(_ step: String) -> [String] {
        let separators = Set(" \t\n'\"`;|&<>()=,")
        return step.split(whereSeparator: { separators.contains($0) }).map(String.init)
    }
}
