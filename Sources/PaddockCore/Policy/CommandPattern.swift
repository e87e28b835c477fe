/// A compiled command rule such as `rm`, `git push*`, `/usr/bin/curl`, `git * --force` or `curl * | sh`.
///
/// The text is split into words the way a shell would (quotes and backslashes work, nothing is expanded
/// except a leading `~`). The first word matches the program, the rest match its arguments:
///
/// - A program word without a slash matches the program's *name* — the basename of `argv[0]` or of the executed
///   path — so `rm` matches `rm`, `/usr/bin/rm` and `/bin/rm`. A word with a slash is an absolute path and
///   matches only the executed path. `*` and `?` work in both (`python3*`, `/tmp/*`). A lone `*` is any program
///   followed by any arguments, so `* --no-verify` matches `--no-verify` anywhere in any command.
/// - Argument words match the arguments in order, and the pattern is a *prefix*: arguments after the last word
///   are allowed, so `rm` matches any `rm …` and `git push` matches `git push origin main`. Inside a word `*`
///   and `?` match within that one argument (`push*` matches `push` and `push-all`); a lone `*` word matches
///   any number of whole arguments, so `git * --force` matches `git push origin --force`. Quote a character to
///   take it literally (`'*'`).
/// - Words containing `|` separate the stages of a pipeline pattern. The kernel starts each stage of a pipeline
///   as an unrelated program, so a pipeline pattern can never match one exec of `curl` or `sh`; it matches a
///   *shell* started with `-c SCRIPT` whose script contains those stages in that order (see `CommandPolicy`).
///
/// Other shell syntax (`;`, `&&`, `||`, redirections, `$VAR`, `$(…)`) is rejected with a message, because the
/// exec guardrail never sees it: by the time a program starts, the shell has already taken it apart.
public struct CommandPattern: Sendable, Hashable, CustomStringConvertible {
    /// How the first word of a stage matches the program.
    enum Program: Sendable, Hashable {
        /// Exact program name, compared with basenames.
        case name(String)
        /// Exact absolute path, compared with the executable's paths.
        case path(String)
        case nameGlob(GlobPattern)
        case pathGlob(GlobPattern)
        /// A lone `*`.
        case any
    }

    /// How one argument word matches.
    enum Argument: Sendable, Hashable {
        case glob(GlobPattern)
        /// A lone `*`: any number of whole arguments, none included.
        case anyArguments
    }

    struct Stage: Sendable, Hashable {
        var program: Program
        var arguments: [Argument]
    }

    /// The pattern as written.
    public let text: String
    /// The pattern re-printed from its words: the same rule written with other spacing or quoting prints the
    /// same, so duplicates and contradictions can be found.
    public let canonical: String
    let stages: [Stage]

    /// True for a pipeline pattern (`curl * | sh`).
    public var isPipeline: Bool { stages.count > 1 }

    public var description: String { text }

    /// Parses and compiles a pattern; the error says what to write instead.
    ///
    /// - Parameter home: what a leading `~` expands to, as the shell would have expanded it before the exec.
    public init(parsing text: String, home: String = SandboxPaths.home) throws(PaddockError) {
        self.text = text
        let words = try Self.split(text, home: home)
        var stages: [Stage] = []
        var canonicalStages: [String] = []
        for stageWords in words {
            guard let first = stageWords.first else {
                throw .invalidArgument(
                    words.count > 1
                        ? "'\(text)' has an empty stage around '|'; write a program on each side, as in 'curl * | sh'"
                        : "the command pattern is empty; write a program name such as 'rm' or 'git push*'")
            }
            let program = try Self.program(first, in: text)
            var arguments = stageWords.dropFirst().map(Self.argument)
            // `* --no-verify` reads as "anything, then --no-verify": a lone `*` program also stands for any
            // arguments before the next word.
            if program == .any, let next = arguments.first, next != .anyArguments {
                arguments.insert(.anyArguments, at: 0)
            }
            stages.append(Stage(program: program, arguments: arguments))
            canonicalStages.append(stageWords.map(Self.render).joined(separator: " "))
        }
        self.stages = stages
        canonical = canonicalStages.joined(separator: " | ")
    }

    // MARK: Matching

    /// Whether one stage matches a program known by `names` (basenames) and `paths` (absolute paths), started
    /// with `arguments` (argv without argv[0]).
    static func matches(
        _ stage: Stage, names: [String], paths: [String], arguments: ArraySlice<String>
    ) -> Bool {
        matchesProgram(stage.program, names: names, paths: paths)
            && matchesArguments(stage.arguments, arguments)
    }

    static func matchesProgram(_ program: Program, names: [String], paths: [String]) -> Bool {
        switch program {
        case .any: !names.isEmpty || !paths.isEmpty
        case .name(let name): names.contains(name)
        case .path(let path): paths.contains(path)
        case .nameGlob(let glob): names.contains(where: glob.matches)
        case .pathGlob(let glob): paths.contains(where: glob.matches)
        }
    }

    /// Word-level glob matching with one backtrack point per lone `*`, and prefix semantics: once every word
    /// has matched, remaining arguments are allowed.
    static func matchesArguments(_ pattern: [Argument], _ arguments: ArraySlice<String>) -> Bool {
        if pattern.isEmpty { return true }
        var p = 0
        var a = arguments.startIndex
        var starP = -1
        var starA = a
        while p < pattern.count {
            if case .anyArguments = pattern[p] {
                starP = p
                starA = a
                p += 1
                continue
            }
            if a < arguments.endIndex, case .glob(let glob) = pattern[p], glob.matches(arguments[a]) {
                p += 1
                a += 1
                continue
            }
            guard starP >= 0, starA < arguments.endIndex else { return false }
            starA += 1
            a = starA
            p = starP + 1
        }
        return true
    }

    // MARK: Parsing

    /// One word: glob elements, plus whether it was a lone unquoted `*`.
    private struct Word {
        var elements: [GlobPattern.Element] = []
        var isLoneStar: Bool { elements == [.anyRun] }
        var literalText: String? {
            var bytes: [UInt8] = []
            for element in elements {
                guard case .byte(let b) = element else { return nil }
                bytes.append(b)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func split(_ text: String, home: String) throws(PaddockError) -> [[Word]] {
        let bytes = Array(text.utf8)
        var stages: [[Word]] = [[]]
        var word: Word?
        var i = 0
        func finishWord() {
            if let w = word { stages[stages.count - 1].append(w) }
            word = nil
        }
        func literal(_ b: UInt8) {
            if word == nil { word = Word() }
            word?.elements.append(.byte(b))
        }
        while i < bytes.count {
            let b = bytes[i]
            let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
            switch b {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                finishWord()
            case UInt8(ascii: "'"):
                if word == nil { word = Word() }
                guard let close = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                    throw .invalidArgument("'\(text)' has a ' without its closing '; close the quote")
                }
                for q in bytes[(i + 1)..<close] { literal(q) }
                i = close
            case UInt8(ascii: "\""):
                if word == nil { word = Word() }
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    // Inside double quotes a backslash only escapes what the shell lets it escape.
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count, "\"\\$`".utf8.contains(bytes[i + 1]) {
                        i += 1
                    }
                    literal(bytes[i])
                    i += 1
                }
                guard i < bytes.count else {
                    throw .invalidArgument("'\(text)' has a \" without its closing \"; close the quote")
                }
            case UInt8(ascii: "\\"):
                guard let next else {
                    throw .invalidArgument("'\(text)' ends with a backslash; remove it or escape it as '\\\\'")
                }
                literal(next)
                i += 1
            case UInt8(ascii: "*"):
                if word == nil { word = Word() }
                word?.elements.append(.anyRun)
            case UInt8(ascii: "?"):
                if word == nil { word = Word() }
                word?.elements.append(.one)
            case UInt8(ascii: "~")
            where word == nil
                && (next == nil || next == UInt8(ascii: "/") || next == UInt8(ascii: " ")):
                // The shell expands `~` before exec, so the program sees the home directory.
                for h in home.utf8 { literal(h) }
            case UInt8(ascii: "|"):
                if next == UInt8(ascii: "|") {
                    throw .invalidArgument(
                        "'\(text)' uses '||'; a pattern matches one command or one pipeline, so write a rule for each command"
                    )
                }
                finishWord()
                stages.append([])
                // `|&` pipes stderr too; for matching it is the same pipeline.
                if next == UInt8(ascii: "&") { i += 1 }
            case UInt8(ascii: ";"), UInt8(ascii: "&"):
                throw .invalidArgument(
                    "'\(text)' joins several commands with '\(Character(Unicode.Scalar(b)))'; a pattern matches one command "
                        + "or one pipeline, so write a rule for each command")
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                throw .invalidArgument(
                    "'\(text)' has a redirection; programs never see redirections, so match the command and its "
                        + "arguments only (quote the character to match it literally)")
            case UInt8(ascii: "`"):
                throw .invalidArgument(
                    "'\(text)' has a command substitution; write the command itself (quote ` to match it literally)")
            case UInt8(ascii: "$")
            where next.map {
                $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "_")
                    || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
            } ?? false:
                throw .invalidArgument(
                    "'\(text)' uses a shell variable or substitution; programs see the expanded value, so write that "
                        + "value (or quote it, as in '$HOME', to match the text literally)")
            default:
                literal(b)
            }
            i += 1
        }
        finishWord()
        return stages
    }

    private static func program(_ word: Word, in text: String) throws(PaddockError) -> Program {
        if word.isLoneStar { return .any }
        let hasSlash = word.elements.contains(.byte(UInt8(ascii: "/")))
        if let literal = word.literalText {
            guard !literal.isEmpty else {
                throw .invalidArgument("'\(text)' has an empty program name; write a name such as 'rm'")
            }
            guard hasSlash else { return .name(literal) }
            guard literal.hasPrefix("/") else {
                throw .invalidArgument(
                    "'\(text)' names the program by a relative path; write its name ('\(SandboxPaths.basename(literal))') "
                        + "or its absolute path")
            }
            return .path(SandboxPaths.resolve(literal))
        }
        guard hasSlash else { return .nameGlob(GlobPattern(elements: word.elements)) }
        guard word.elements.first == .byte(UInt8(ascii: "/")) || word.elements.first == .anyRun else {
            throw .invalidArgument(
                "'\(text)' names the program by a relative path; write an absolute path such as '/tmp/*' or a name")
        }
        return .pathGlob(GlobPattern(elements: word.elements))
    }

    private static func argument(_ word: Word) -> Argument {
        word.isLoneStar ? .anyArguments : .glob(GlobPattern(elements: word.elements))
    }

    private static func render(_ word: Word) -> String {
        var bytes: [UInt8] = []
        for element in word.elements {
            switch element {
            case .anyRun: bytes.append(UInt8(ascii: "*"))
            case .one: bytes.append(UInt8(ascii: "?"))
            case .byte(let b):
                if " \t\n\r'\"\\*?|;&<>$`~".utf8.contains(b) { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(b)
            }
        }
        return bytes.isEmpty ? "''" : String(decoding: bytes, as: UTF8.self)
    }

    public static func == (a: CommandPattern, b: CommandPattern) -> Bool { a.canonical == b.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }
}
