/// One program start as the exec guardrail sees it: the argument vector and the paths the kernel knows the
/// program by.
public struct CommandInvocation: Sendable, Hashable, CustomStringConvertible {
    /// The argument vector, `argv[0]` included. The program chooses `argv[0]`, so it is only trusted as a name.
    public var argv: [String]
    /// Paths of the executable as the kernel sees it: the path given to `execve` and, when it differs, where
    /// symlinks lead (`/proc/PID/exe`). Rules written as absolute paths only match these, never `argv[0]`.
    public var executablePaths: [String]

    public init(argv: [String], executablePaths: [String] = []) {
        self.argv = argv
        self.executablePaths = executablePaths
    }

    /// An invocation typed by a person (`paddock policy explain -- /usr/bin/rm -rf x`): an `argv[0]` with a
    /// slash is also taken as the executable's path.
    public init(commandLine argv: [String]) {
        self.argv = argv
        if let first = argv.first, first.utf8.contains(UInt8(ascii: "/")) {
            executablePaths = [first]
        } else {
            executablePaths = []
        }
    }

    /// The names rules written without a slash are compared with: the basename of `argv[0]` (without the
    /// leading `-` a login shell gets) and of each executable path.
    var programNames: [String] {
        var names: [String] = []
        func add(_ name: Substring) {
            guard !name.isEmpty else { return }
            let name = String(name)
            if !names.contains(name) { names.append(name) }
        }
        if let first = argv.first {
            let base = SandboxPaths.basename(first)
            add(base)
            // A login shell is started as `-bash`; the program is still bash.
            if base.first == "-" { add(base.dropFirst()) }
        }
        for path in executablePaths { add(SandboxPaths.basename(path)) }
        return names
    }

    /// `argv` as one line, each argument quoted when it needs to be. For reports, never for a shell.
    public var description: String {
        argv.map { arg in
            arg.isEmpty || arg.contains(where: { " \t\n'\"\\|&;<>$`*?".contains($0) })
                ? "'" + arg.replacingAll("'", with: "'\\''") + "'" : arg
        }.joined(separator: " ")
    }
}

extension String {
    /// `replacingOccurrences` without Foundation.
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for ch in self {
            if ch == target { out += replacement } else { out.append(ch) }
        }
        return out
    }
}
