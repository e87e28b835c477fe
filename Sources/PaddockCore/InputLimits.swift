/// The bounds of what a client may ask for, checked in one place so every door (REST, E2B, runs, the CLI,
/// runtime.yml) refuses the same things with the same message: the field, the limit, and what to write instead.
///
/// The limits are far above any real use and below what breaks something further down: Linux refuses an exec
/// string longer than 128 KiB, a date past year 9999 cannot be stored and read back, a path under `/proc` inside
/// the sandbox is not a place to run commands.
public enum InputLimits {
    /// The longest duration any field accepts (ttl, idle, timeouts, token expiry): 100 years.
    public static let maxDurationSeconds: Int64 = 100 * 365 * 86_400
    /// Session and token names.
    public static let maxNameBytes = 200
    /// Environment variables one session or one command may set.
    public static let maxEnvironmentVariables = 1000
    /// One argument, or one `NAME=value` environment entry: Linux's limit on one exec string (MAX_ARG_STRLEN,
    /// 128 KiB with its terminating NUL).
    public static let maxExecStringBytes = 128 * 1024 - 1
    /// Everything one command is started with (arguments and environment), well below Linux's ARG_MAX.
    public static let maxExecTotalBytes = 1 << 20
    /// Arguments of one command.
    public static let maxArguments = 10_000
    /// A path inside the sandbox (PATH_MAX).
    public static let maxPathBytes = 4096

    /// Directories of the sandbox's kernel interfaces: not somewhere commands run (`/proc/1/root` leads out of
    /// the sandbox's view of its own files, and `/dev`, `/sys` are not writable working directories).
    static let kernelDirectories = ["/proc", "/sys", "/dev"]

    /// A deadline in seconds from now (ttl, idle, an E2B timeout): positive and at most 100 years.
    public static func checkDeadline(seconds: Int64, field: String) throws(PaddockError) {
        guard seconds > 0 else {
            throw .invalidArgument("\(field) must be positive, not \(seconds) seconds")
        }
        guard seconds <= maxDurationSeconds else {
            throw .invalidArgument(
                "\(field) \(seconds) seconds is longer than the maximum of \(maxDurationSeconds) seconds (100 years); "
                    + "give a shorter one")
        }
    }

    /// A session or token name: one line, no NUL, at most `maxNameBytes`.
    public static func checkName(_ name: String, field: String = "name") throws(PaddockError) {
        guard !name.isEmpty, name.utf8.count <= maxNameBytes else {
            throw .invalidArgument(
                "\(field) must be 1 to \(maxNameBytes) bytes long, not \(name.utf8.count); give a shorter name")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidArgument("\(field) must be one line of text, without NUL or other control characters")
        }
    }

    /// Environment variables, as a session or a command sets them. Names: not empty, no `=`, no NUL, not starting
    /// with a digit. Values: no NUL. Both: at most `maxExecStringBytes` as one `NAME=value` entry.
    public static func checkEnvironment(_ env: [String: String], field: String = "env") throws(PaddockError) {
        guard env.count <= maxEnvironmentVariables else {
            throw .invalidArgument(
                "\(field) sets \(env.count) variables; at most \(maxEnvironmentVariables) are allowed")
        }
        for (key, value) in env {
            guard !key.isEmpty, !key.contains("="), !key.contains("\0"), key.first?.isNumber == false else {
                throw .invalidArgument(
                    "\(field): environment variable name '\(printable(key))' is not valid; use letters, digits and _ "
                        + "(not starting with a digit)")
            }
            guard !value.contains("\0") else {
                throw .invalidArgument(
                    "\(field): the value of \(printable(key)) contains a NUL byte, which no "
                        + "environment can hold")
            }
            guard key.utf8.count + 1 + value.utf8.count <= maxExecStringBytes else {
                throw .invalidArgument(
                    "\(field): \(printable(key))=… is \(key.utf8.count + 1 + value.utf8.count) bytes; one variable "
                        + "may be at most \(maxExecStringBytes) bytes (128 KiB); pass large data as a file")
            }
        }
    }

    /// A working directory inside the sandbox: absolute, normal (no `.` or `..` segment), no NUL or newline, at
    /// most `maxPathBytes`, and not under `/proc`, `/sys` or `/dev`.
    public static func checkWorkingDirectory(_ path: String, field: String = "workdir") throws(PaddockError) {
        guard path.utf8.count <= maxPathBytes else {
            throw .invalidArgument("\(field) is \(path.utf8.count) bytes long; a path may be at most \(maxPathBytes)")
        }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidArgument("\(field) must not contain NUL, newlines or other control characters")
        }
        guard path.hasPrefix("/") else {
            throw .invalidArgument(
                "\(field) '\(path)' must be an absolute path inside the sandbox, like /workspace")
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.contains(where: { $0 == ".." || $0 == "." }) else {
            throw .invalidArgument(
                "\(field) '\(path)' has a '.' or '..' segment; write the directory it means, like /workspace/src")
        }
        let normal = "/" + segments.joined(separator: "/")
        for directory in kernelDirectories where normal == directory || normal.hasPrefix(directory + "/") {
            throw .invalidArgument(
                "\(field) '\(path)' is under \(directory), the sandbox's kernel interface; use a directory such as "
                    + "/workspace or /tmp")
        }
    }

    /// A file path inside the sandbox, as file operations take it: not empty, no NUL (it would cut the path short
    /// where the sandbox reads it), at most `maxPathBytes`.
    public static func checkPath(_ path: String, field: String = "path") throws(PaddockError) {
        guard !path.isEmpty else { throw .invalidArgument("\(field) is empty; give a file path inside the sandbox") }
        guard path.utf8.count <= maxPathBytes else {
            throw .invalidArgument("\(field) is \(path.utf8.count) bytes long; a path may be at most \(maxPathBytes)")
        }
        guard !path.contains("\0") else {
            throw .invalidArgument("\(field) contains a NUL byte, which no path can hold")
        }
    }

    /// A command line as it will be started: at most `maxArguments` arguments, none over `maxExecStringBytes`
    /// nor containing NUL, and arguments plus environment at most `maxExecTotalBytes`.
    public static func checkCommand(_ argv: [String], environment: [String: String]) throws(PaddockError) {
        guard !argv.isEmpty, !argv[0].isEmpty else {
            throw .invalidArgument("cmd is empty; pass the program and its arguments")
        }
        guard argv.count <= maxArguments else {
            throw .invalidArgument("cmd has \(argv.count) arguments; at most \(maxArguments) are allowed")
        }
        var total = 0
        for (index, argument) in argv.enumerated() {
            let bytes = argument.utf8.count
            guard bytes <= maxExecStringBytes else {
                throw .invalidArgument(
                    "cmd[\(index)] is \(bytes) bytes; one argument may be at most \(maxExecStringBytes) bytes "
                        + "(128 KiB); pass large data on stdin or as a file")
            }
            guard !argument.contains("\0") else {
                throw .invalidArgument("cmd[\(index)] contains a NUL byte, which no argument can hold")
            }
            total += bytes + 1
        }
        for (key, value) in environment { total += key.utf8.count + value.utf8.count + 2 }
        guard total <= maxExecTotalBytes else {
            throw .invalidArgument(
                "the command's arguments and environment are \(total) bytes together; at most \(maxExecTotalBytes) "
                    + "(1 MiB) are allowed; pass large data on stdin or as a file")
        }
    }

    /// A name as it can be shown in a message: control characters escaped, long ones cut.
    public static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            out += scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }
}
