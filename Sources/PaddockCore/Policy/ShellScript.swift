/// Reads the script of a `sh -c SCRIPT` exec into pipelines of simple commands, so pipeline patterns
/// (`curl * | sh`) have something to match.
///
/// Agents run almost every command through `bash -c` (Claude Code's Bash tool, Codex, Aider), so the script text
/// is the one place where the kernel-level exec hook can see that two programs are about to be piped together.
/// This is a tokenizer, not a shell: quotes, backslashes, comments, operators, redirections, here-documents and
/// `$(…)`/backticks are understood; nothing is expanded. A script that builds its command at run time (`eval`,
/// variables, a downloaded script) is not seen through — the per-exec rules still apply to each program it
/// starts.
enum ShellScript {
    /// Shell names whose `-c` argument is a script.
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "busybox"]

    /// The script of a shell invocation started with `-c`, or nil. `argv[0]` is not examined (the caller decided
    /// this is a shell); options before the script are skipped the way bash and dash read them.
    static func commandString(_ argv: [String]) -> String? {
        var index = 1
        // `busybox sh -c …` names the applet first.
        if argv.count > 1, SandboxPaths.basename(argv[0]) == "busybox" {
            guard shells.contains(argv[1]) else { return nil }
            index = 2
        }
        var sawC = false
        while index < argv.count {
            let arg = argv[index]
            if arg == "--" {
                index += 1
                break
            }
            guard let first = arg.first, first == "-" || first == "+", arg.count > 1 else { break }
            if arg.hasPrefix("--") {
                // Long options (`--norc`, `--login`) take no argument, except these two.
                if arg == "--rcfile" || arg == "--init-file" { index += 1 }
                index += 1
                continue
            }
            if arg.utf8.contains(UInt8(ascii: "c")) { sawC = true }
            // `-o pipefail` and `-O extglob` take the next argument.
            if arg.last == "o" || arg.last == "O" { index += 1 }
            index += 1
        }
        guard sawC, index < argv.count else { return nil }
        return argv[index]
    }

    /// The script's pipelines, each a list of commands (argv). Leading `NAME=value` assignments are dropped,
    /// and so are redirections with their targets.
    static func pipelines(_ script: String) -> [[[String]]] {
        var tokenizer = Tokenizer(bytes: Array(script.utf8))
        tokenizer.run()
        return tokenizer.pipelines.filter { !$0.isEmpty }
    }

    static let wrappers: Set<String> = ["sudo", "env", "exec", "command", "nohup", "time", "nice", "doas"]

    /// Removes wrappers that run the next word as the program (`sudo`, `env`, `exec`, `command`, `nohup`, `time`,
    /// `nice`), so `curl x | sudo sh` still ends in `sh`. Returns nil when there is nothing to unwrap.
    static func unwrapped(_ argv: [String]) -> [String]? {
        var index = 0
        while index < argv.count, wrappers.contains(String(SandboxPaths.basename(argv[index]))) {
            index += 1
            while index < argv.count, argv[index].hasPrefix("-") || isAssignment(argv[index]) { index += 1 }
        }
        guard index > 0, index < argv.count else { return nil }
        return Array(argv[index...])
    }

    static func isAssignment(_ word: String) -> Bool {
        guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return false }
        let name = word[..<eq]
        return name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
            && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    private struct Tokenizer {
        let bytes: [UInt8]
        var i = 0
        var pipelines: [[[String]]] = [[]]
        var command: [String] = []
        var word: [UInt8]?
        /// Whether any part of the current word was quoted (a quoted `NAME=x` is not an assignment).
        var wordQuoted = false
        /// The next word is the target of a redirection and is dropped.
        var skipNextWord = false
        /// Delimiters of here-documents whose bodies start after the next newline.
        var pendingHereDocs: [(delimiter: [UInt8], stripTabs: Bool)] = []
        var hereDocNext = false
        var hereDocStripTabs = false

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func run() {
            while i < bytes.count {
                let b = bytes[i]
                let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
                switch b {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    finishWord()
                case UInt8(ascii: "\n"):
                    finishWord()
                    endPipeline()
                    i += 1
                    skipHereDocBodies()
                    continue
                case UInt8(ascii: "#") where word == nil:
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                    continue
                case UInt8(ascii: "'"):
                    wordQuoted = true
                    append(nil)
                    i += 1
                    while i < bytes.count, bytes[i] != UInt8(ascii: "'") {
                        append(bytes[i])
                        i += 1
                    }
                case UInt8(ascii: "\""):
                    wordQuoted = true
                    append(nil)
                    i += 1
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                        if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count,
                            "\"\\$`\n".utf8.contains(bytes[i + 1])
                        {
                            i += 1
                        }
                        append(bytes[i])
                        i += 1
                    }
                case UInt8(ascii: "\\"):
                    if next == UInt8(ascii: "\n") {
                        i += 2
                        continue
                    }
                    wordQuoted = true
                    if let next { append(next) }
                    i += 1
                case UInt8(ascii: "|"):
                    finishWord()
                    if next == UInt8(ascii: "|") {
                        endPipeline()
                        i += 1
                    } else {
                        endCommand()
                        if next == UInt8(ascii: "&") { i += 1 }
                    }
                case UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"):
                    finishWord()
                    endPipeline()
                case UInt8(ascii: "&"):
                    if next == UInt8(ascii: ">") {
                        // `&>file` redirects both streams.
                        finishWord()
                        i += 1
                        redirection()
                        continue
                    }
                    finishWord()
                    endPipeline()
                    if next == UInt8(ascii: "&") { i += 1 }
                case UInt8(ascii: "<"), UInt8(ascii: ">"):
                    // A word of digits right before it (`2>`) is the file descriptor, not an argument.
                    if let w = word, !wordQuoted, w.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                        word = nil
                    } else {
                        finishWord()
                    }
                    redirection()
                    continue
                case UInt8(ascii: "`"):
                    substitution(until: UInt8(ascii: "`"))
                case UInt8(ascii: "$") where next == UInt8(ascii: "("):
                    i += 1
                    substitution(until: UInt8(ascii: ")"))
                default:
                    append(b)
                }
                i += 1
            }
            finishWord()
            endPipeline()
        }

        /// Appends a byte to the current word, starting one if needed (nil only starts it: `''` is a word).
        private mutating func append(_ b: UInt8?) {
            if word == nil { word = [] }
            if let b { word?.append(b) }
        }

        private mutating func finishWord() {
            defer {
                word = nil
                wordQuoted = false
            }
            guard let w = word else { return }
            if hereDocNext {
                hereDocNext = false
                pendingHereDocs.append((w, hereDocStripTabs))
                return
            }
            if skipNextWord {
                skipNextWord = false
                return
            }
            let text = String(decoding: w, as: UTF8.self)
            if command.isEmpty, !wordQuoted, ShellScript.isAssignment(text) { return }
            command.append(text)
        }

        private mutating func endCommand() {
            if !command.isEmpty { pipelines[pipelines.count - 1].append(command) }
            command = []
        }

        private mutating func endPipeline() {
            endCommand()
            if !(pipelines.last?.isEmpty ?? true) { pipelines.append([]) }
        }

        /// At `<` or `>`: consumes the operator and marks its target word for dropping.
        private mutating func redirection() {
            let first = bytes[i]
            i += 1
            if first == UInt8(ascii: "<"), i < bytes.count, bytes[i] == UInt8(ascii: "<") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "<") {
                    // `<<<word`: a here-string, just a word.
                    i += 1
                    skipNextWord = true
                    return
                }
                hereDocStripTabs = i < bytes.count && bytes[i] == UInt8(ascii: "-")
                if hereDocStripTabs { i += 1 }
                hereDocNext = true
                return
            }
            while i < bytes.count, ">&|".utf8.contains(bytes[i]) { i += 1 }
            // `2>&1` and `>&-` name a descriptor, not a file: there is no separate target word.
            if i < bytes.count, bytes[i - 1] == UInt8(ascii: "&"),
                bytes[i] == UInt8(ascii: "-") || (bytes[i] >= 0x30 && bytes[i] <= 0x39)
            {
                while i < bytes.count, bytes[i] == UInt8(ascii: "-") || (bytes[i] >= 0x30 && bytes[i] <= 0x39) {
                    i += 1
                }
                return
            }
            skipNextWord = true
        }

        /// After a newline, skips the bodies of pending here-documents: their lines are data, not commands.
        private mutating func skipHereDocBodies() {
            while !pendingHereDocs.isEmpty {
                let (delimiter, stripTabs) = pendingHereDocs.removeFirst()
                while i < bytes.count {
                    var end = i
                    while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                    var start = i
                    if stripTabs { while start < end, bytes[start] == UInt8(ascii: "\t") { start += 1 } }
                    i = min(end + 1, bytes.count)
                    if bytes[start..<end].elementsEqual(delimiter) { break }
                }
            }
        }

        /// `$(…)` or backticks: the inner script's pipelines are read on their own; the outer word keeps the text.
        private mutating func substitution(until close: UInt8) {
            let start = i + 1
            var depth = 1
            var j = start
            var quote: UInt8?
            while j < bytes.count {
                let c = bytes[j]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                    quote = c
                } else if c == UInt8(ascii: "\\") {
                    j += 1
                } else if close == UInt8(ascii: ")"), c == UInt8(ascii: "(") {
                    depth += 1
                } else if c == close {
                    depth -= 1
                    if depth == 0 { break }
                }
                j += 1
            }
            let inner = Array(bytes[start..<min(j, bytes.count)])
            var nested = Tokenizer(bytes: inner)
            nested.run()
            for pipeline in nested.pipelines where !pipeline.isEmpty {
                pipelines.insert(pipeline, at: max(pipelines.count - 1, 0))
            }
            append(nil)
            word?.append(contentsOf: inner)
            i = min(j, bytes.count)
        }
    }
}
