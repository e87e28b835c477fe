/// Colours a diff's lines by what their words are (keywords, strings, comments, numbers) for the language the
/// file's name says, on the server: no script, no CDN. It reads line by line, carrying only whether a block
/// comment is open, which is what a diff shows (hunks, not whole files); what it cannot place stays plain.
struct SyntaxHighlighter: Sendable {
    /// A run of text and what it is: `kw`, `str`, `com`, `num` or `p` (plain), the suffix of its CSS class.
    struct Token: Sendable, Equatable {
        var kind: String
        var text: String
    }

    struct Language: Sendable {
        var lineComment: [String]
        var blockComment: (open: String, close: String)?
        var quotes: Set<Character>
        var keywords: Set<String>
    }

    let language: Language?
    private var inBlockComment = false

    init(path: String) {
        language = Self.language(for: path)
    }

    /// A new hunk starts somewhere else in the file: what was open no longer is.
    mutating func reset() { inBlockComment = false }

    mutating func tokens(_ line: String) -> [Token] {
        // Minified or generated lines are left plain: colouring them helps nobody and costs the most.
        guard let language, line.utf8.count <= 2_000 else { return [Token(kind: "p", text: line)] }
        let chars = Array(line)
        var out: [Token] = []
        var plain = ""
        func emit(_ kind: String, _ text: some StringProtocol) {
            if !plain.isEmpty {
                out.append(Token(kind: "p", text: plain))
                plain = ""
            }
            if out.last?.kind == kind {
                out[out.count - 1].text += text
            } else {
                out.append(Token(kind: kind, text: String(text)))
            }
        }
        func starts(_ marker: String, at i: Int) -> Bool {
            let m = Array(marker)
            return i + m.count <= chars.count && Array(chars[i..<(i + m.count)]) == m
        }
        var i = 0
        while i < chars.count {
            if inBlockComment, let block = language.blockComment {
                var j = i
                while j < chars.count, !starts(block.close, at: j) { j += 1 }
                if j < chars.count {
                    j += block.close.count
                    inBlockComment = false
                }
                emit("com", String(chars[i..<j]))
                i = j
            } else if language.lineComment.contains(where: { starts($0, at: i) }) {
                emit("com", String(chars[i...]))
                i = chars.count
            } else if let block = language.blockComment, starts(block.open, at: i) {
                inBlockComment = true
                emit("com", block.open)
                i += block.open.count
            } else if language.quotes.contains(chars[i]) {
                let quote = chars[i]
                var j = i + 1
                while j < chars.count, chars[j] != quote {
                    j += chars[j] == "\\" ? 2 : 1
                }
                j = min(j + 1, chars.count)
                emit("str", String(chars[i..<j]))
                i = j
            } else if chars[i].isNumber, i == 0 || !Self.isWord(chars[i - 1]) {
                var j = i
                while j < chars.count, Self.isWord(chars[j]) || chars[j] == "." { j += 1 }
                emit("num", String(chars[i..<j]))
                i = j
            } else if Self.isWord(chars[i]) {
                var j = i
                while j < chars.count, Self.isWord(chars[j]) { j += 1 }
                let word = String(chars[i..<j])
                if language.keywords.contains(word) { emit("kw", word) } else { plain += word }
                i = j
            } else {
                plain.append(chars[i])
                i += 1
            }
        }
        if !plain.isEmpty { out.append(Token(kind: "p", text: plain)) }
        return out
    }

    private static func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "$" }

    static func language(for path: String) -> Language? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let ext = name.contains(".") ? String(name.split(separator: ".").last ?? "").lowercased() : name.lowercased()
        switch ext {
        case "swift", "c", "h", "cc", "cpp", "hpp", "m", "mm", "java", "kt", "kts", "cs", "scala", "dart", "php":
            return Language(
                lineComment: ["//"], blockComment: ("/*", "*/"), quotes: ["\"", "'"], keywords: cFamilyKeywords)
        case "js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "rs":
            return Language(
                lineComment: ["//"], blockComment: ("/*", "*/"), quotes: ["\"", "'", "`"], keywords: cFamilyKeywords)
        case "css", "scss", "less":
            return Language(lineComment: [], blockComment: ("/*", "*/"), quotes: ["\"", "'"], keywords: [])
        case "py", "rb", "sh", "bash", "zsh", "pl", "r", "yml", "yaml", "toml", "makefile", "dockerfile", "mk",
            "cfg", "conf":
            return Language(lineComment: ["#"], blockComment: nil, quotes: ["\"", "'"], keywords: scriptKeywords)
        case "sql":
            return Language(
                lineComment: ["--"], blockComment: ("/*", "*/"), quotes: ["'", "\""], keywords: sqlKeywords)
        default:
            return nil
        }
    }

    static let cFamilyKeywords: Set<String> = [
        "as", "async", "await", "break", "case", "catch", "class", "const", "continue", "default", "defer", "do",
        "else", "enum", "export", "extends", "extension", "false", "final", "fn", "for", "func", "function", "go",
        "guard", "if", "impl", "implements", "import", "in", "interface", "let", "match", "mod", "mut", "new", "nil",
        "null", "package", "private", "protocol", "pub", "public", "return", "self", "static", "struct", "super",
        "switch", "this", "throw", "throws", "trait", "true", "try", "type", "typeof", "use", "var", "void", "where",
        "while", "yield", "int", "char", "long", "double", "float", "bool", "unsigned", "undefined", "of", "from",
        "Self", "some", "any", "inout", "init", "deinit", "mutating", "override", "internal", "fileprivate", "open",
        "chan", "select", "range", "map", "loop", "elif",
    ]

    static let scriptKeywords: Set<String> = [
        "and", "as", "assert", "async", "await", "begin", "break", "case", "class", "continue", "def", "del", "do",
        "done", "elif", "else", "elsif", "end", "esac", "except", "export", "False", "fi", "finally", "for", "from",
        "function", "global", "if", "import", "in", "is", "lambda", "local", "module", "None", "nil", "not", "or",
        "pass", "raise", "require", "rescue", "return", "self", "then", "True", "true", "false", "try", "unless",
        "until", "while", "with", "yield", "null",
    ]

    static let sqlKeywords: Set<String> = Set(
        [
            "select", "from", "where", "insert", "into", "values", "update", "set", "delete", "create", "table",
            "index", "drop", "alter", "add", "column", "primary", "key", "foreign", "references", "not", "null",
            "and", "or", "join", "left", "right", "inner", "outer", "on", "group", "by", "order", "limit", "as",
            "distinct", "having", "union", "default", "unique", "text", "integer",
        ].flatMap { [$0, $0.uppercased()] })
}
