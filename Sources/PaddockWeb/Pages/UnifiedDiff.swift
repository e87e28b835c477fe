/// A unified diff (`git diff` output) split into files and lines, for the changes view: each line knows
/// whether it was added, removed or kept, and its numbers on each side, so the page can show it unified or
/// side by side.
struct UnifiedDiff: Sendable {
    struct Line: Sendable {
        /// add, del, ctx or hunk.
        var kind: String
        var text: String
        var old: String
        var new: String
        /// `text` coloured for the file's language (one plain token when it has none).
        var tokens: [SyntaxHighlighter.Token] = []
    }

    /// One row of the side-by-side view: the old line on the left, the new one on the right.
    struct Pair: Sendable {
        var left: Line?
        var right: Line?
        var hunk: String?
    }

    struct File: Sendable {
        var path: String
        var lines: [Line]
        // Stored once the file is read: templates see stored properties only.
        var added = 0
        var removed = 0
        var pairs: [Pair] = []

        init(path: String, lines: [Line]) {
            self.path = path
            self.lines = lines
        }

        mutating func finish() {
            added = lines.count { $0.kind == "add" }
            removed = lines.count { $0.kind == "del" }
            pairs = sideBySide()
        }

        /// Removed lines face the added lines that replaced them; kept lines face themselves.
        func sideBySide() -> [Pair] {
            var out: [Pair] = []
            var removed: [Line] = []
            var added: [Line] = []
            func flush() {
                for i in 0..<max(removed.count, added.count) {
                    out.append(
                        Pair(left: i < removed.count ? removed[i] : nil, right: i < added.count ? added[i] : nil))
                }
                removed = []
                added = []
            }
            for line in lines {
                switch line.kind {
                case "del": removed.append(line)
                case "add": added.append(line)
                case "hunk":
                    flush()
                    out.append(Pair(left: nil, right: nil, hunk: line.text))
                default:
                    flush()
                    out.append(Pair(left: line, right: line))
                }
            }
            flush()
            return out
        }
    }

    var files: [File] = []

    init(_ patch: String) {
        var current: File?
        var highlighter = SyntaxHighlighter(path: "")
        var old = 0
        var new = 0
        func add(_ kind: String, _ text: String, old: String, new: String) {
            current?.lines.append(Line(kind: kind, text: text, old: old, new: new, tokens: highlighter.tokens(text)))
        }
        for raw in patch.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("diff --git ") {
                if var current {
                    current.finish()
                    files.append(current)
                }
                // "diff --git a/PATH b/PATH": the new side's path.
                let path = line.components(separatedBy: " b/").last ?? line
                current = File(path: path, lines: [])
                highlighter = SyntaxHighlighter(path: path)
            } else if line.hasPrefix("@@") {
                // "@@ -12,5 +12,7 @@ context"
                let parts = line.split(separator: " ")
                old = parts.count > 1 ? Int(parts[1].dropFirst().split(separator: ",")[0]) ?? 0 : 0
                new = parts.count > 2 ? Int(parts[2].dropFirst().split(separator: ",")[0]) ?? 0 : 0
                current?.lines.append(
                    Line(kind: "hunk", text: line, old: "", new: "", tokens: [.init(kind: "p", text: line)]))
                highlighter.reset()
            } else if current?.lines.isEmpty == false {
                if line.hasPrefix("+") {
                    add("add", String(line.dropFirst()), old: "", new: "\(new)")
                    new += 1
                } else if line.hasPrefix("-") {
                    add("del", String(line.dropFirst()), old: "\(old)", new: "")
                    old += 1
                } else if line.hasPrefix(" ") {
                    add("ctx", String(line.dropFirst()), old: "\(old)", new: "\(new)")
                    old += 1
                    new += 1
                }
            }
        }
        if var current {
            current.finish()
            files.append(current)
        }
    }
}
