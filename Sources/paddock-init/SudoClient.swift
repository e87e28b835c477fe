import Glibc
import PaddockInitProtocol

/// `sudo` inside a sandbox: paddock-init started under that name (a symlink) by an unprivileged process. There is
/// no setuid bit (the sandbox runs with no_new_privs): it asks the running init, over the sudo socket the host
/// opens only for sandboxes that allow it, to run the command as the sandbox's root — the root of the sandbox's
/// user namespace, with the sandbox's capabilities, seccomp profile and guardrails, never the host's — and relays
/// stdin, stdout, stderr and the exit status. Passwordless, as in E2B's base template.
enum SudoClient {
    static let usage = "usage: sudo [-E] [-H] [-n] [-u root] [-i | -s] [--] [command [arg ...]]"
    /// Used when the caller's environment is not kept (`-E`), like sudo's `secure_path`.
    static let securePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    struct Invocation {
        var argv: [String]
        var keepEnvironment = false
    }

    static func run(_ arguments: [String]) -> Int32 {
        let invocation: Invocation
        switch parse(arguments) {
        case .success(let parsed): invocation = parsed
        case .failure(let problem):
            diagnoseSudo(problem.message)
            return 1
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, connect(fd, to: sudoSocketPath) else {
            diagnoseSudo(
                "this sandbox does not allow sudo (only sandboxes of E2B's base template get it); "
                    + "run the command as root through Paddock instead (E2B: commands.run(cmd, user=\"root\"))")
            return 1
        }
        let spawn = SpawnRequest(
            argv: invocation.argv, env: environment(keeping: invocation.keepEnvironment), cwd: currentDirectory(),
            user: WireUser(uid: 0, gid: 0), stdin: true)
        var relay = Relay(socket: fd)
        relay.queue(.spawn(spawn))
        return relay.run()
    }

    struct Problem: Error { let message: String }

    static func parse(_ arguments: [String]) -> Result<Invocation, Problem> {
        var remaining = arguments[...]
        var keep = false
        var shell: (login: Bool, wanted: Bool) = (false, false)
        while let argument = remaining.first, argument.hasPrefix("-"), argument != "-" {
            remaining.removeFirst()
            if argument == "--" { break }
            if argument == "-u" || argument == "--user" {
                guard let user = remaining.popFirst(), user == "root" || user == "#0" || user == "0" else {
                    return .failure(Problem(message: "only root can be named with -u in this sandbox"))
                }
                continue
            }
            if argument.hasPrefix("--user=") {
                guard ["root", "#0", "0"].contains(argument.dropFirst("--user=".count)) else {
                    return .failure(Problem(message: "only root can be named with -u in this sandbox"))
                }
                continue
            }
            switch argument {
            case "-E", "--preserve-env": keep = true
            case "-H", "--set-home", "-n", "--non-interactive", "-S", "--stdin", "-k", "--reset-timestamp": break
            case "-i", "--login": shell = (true, true)
            case "-s", "--shell": shell.wanted = true
            case "-h", "--help": return .failure(Problem(message: usage))
            default:
                // Grouped short flags (`-En`, `-iu root` is not supported).
                let flags = argument.dropFirst()
                guard !argument.hasPrefix("--"), flags.allSatisfy({ "EHnSkis".contains($0) }) else {
                    return .failure(Problem(message: "option '\(argument)' is not supported here\n\(usage)"))
                }
                if flags.contains("E") { keep = true }
                if flags.contains("i") { shell = (true, true) }
                if flags.contains("s") { shell.wanted = true }
            }
        }
        let command = Array(remaining)
        if shell.wanted {
            let flags = shell.login ? ["-l"] : []
            let argv = ["/bin/bash"] + flags + (command.isEmpty ? [] : ["-c", command.joined(separator: " ")])
            return .success(Invocation(argv: argv, keepEnvironment: keep))
        }
        guard !command.isEmpty else { return .failure(Problem(message: usage)) }
        return .success(Invocation(argv: command, keepEnvironment: keep))
    }

    /// sudo's default: a fresh environment for root naming who asked (`SUDO_*`), keeping only the terminal and
    /// locale; `-E` keeps the caller's.
    static func environment(keeping: Bool) -> [String] {
        var inherited: [String] = []
        var index = 0
        while let entry = environ[index] {
            inherited.append(String(cString: entry))
            index += 1
        }
        if keeping { return inherited }
        let kept = inherited.filter { entry in
            ["TERM=", "LANG=", "LC_", "COLORTERM=", "DISPLAY="].contains { entry.hasPrefix($0) }
        }
        let uid = getuid()
        // No getpwuid: a static binary cannot load NSS; the login name the caller's environment gives is enough.
        let name =
            inherited.first { $0.hasPrefix("USER=") }.map { String($0.dropFirst("USER=".count)) } ?? String(uid)
        return kept + [
            "PATH=\(securePath)", "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash",
            "SUDO_USER=\(name)", "SUDO_UID=\(uid)", "SUDO_GID=\(getgid())",
        ]
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func connect(_ fd: Int32, to path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                retryingEINTR { Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        return rc == 0
    }

    /// Moves bytes between this process's stdio and init until the command exits. Stdin is read only while
    /// little is queued for init, so a command that does not read its input cannot make either side block.
    struct Relay {
        let socket: Int32
        var outgoing: [UInt8] = []
        var decoder = FrameDecoder()
        var stdinOpen = true
        var buffer = [UInt8](repeating: 0, count: wireChunkSize)

        init(socket: Int32) { self.socket = socket }

        mutating func queue(_ message: WireMessage) { outgoing += message.framed() }

        mutating func run() -> Int32 {
            guard setNonBlocking(socket) else {
                diagnoseSudo("cannot set up the connection to paddock-init: \(errnoDescription(errno))")
                return 1
            }
            while true {
                var slots = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
                if !outgoing.isEmpty { slots[0].events |= Int16(POLLOUT) }
                if stdinOpen && outgoing.count < wireChunkSize * 4 {
                    slots.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0))
                }
                guard retryingEINTR({ poll(&slots, nfds_t(slots.count), -1) }) >= 0 else {
                    diagnoseSudo("poll failed: \(errnoDescription(errno))")
                    return 1
                }
                if slots.count > 1 && slots[1].revents != 0 { readStdin() }
                if slots[0].revents & Int16(POLLOUT) != 0 && !flush() { return lost() }
                if slots[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    let count = buffer.withUnsafeMutableBytes { raw in
                        retryingEINTR { read(socket, raw.baseAddress, raw.count) }
                    }
                    if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { continue }
                    guard count > 0 else { return lost() }
                    decoder.append(buffer[0..<count])
                    do {
                        while let payload = try decoder.next() {
                            if let status = handle(try WireMessage(decoding: payload)) { return status }
                        }
                    } catch {
                        diagnoseSudo("paddock-init sent something unreadable: \(error)")
                        return 1
                    }
                }
            }
        }

        /// The exit status once the command is over.
        func handle(_ message: WireMessage) -> Int32? {
            switch message {
            case .stdout(let bytes): writeAll(STDOUT_FILENO, bytes)
            case .stderr(let bytes): writeAll(STDERR_FILENO, bytes)
            case .exited(let code, _): return code
            case .failure(let code, _, let text):
                diagnoseSudo(text)
                return code == WireErrorCode.notFound.rawValue ? 127 : 1
            default: break
            }
            return nil
        }

        mutating func readStdin() {
            let count = buffer.withUnsafeMutableBytes { raw in
                retryingEINTR { read(STDIN_FILENO, raw.baseAddress, raw.count) }
            }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if count <= 0 {
                stdinOpen = false
                queue(.closeStdin)
            } else {
                queue(.stdin(Array(buffer[0..<count])))
            }
        }

        /// Writes what is queued for init; false when init is gone.
        mutating func flush() -> Bool {
            let written = outgoing.withUnsafeBytes { raw in
                retryingEINTR { write(socket, raw.baseAddress, raw.count) }
            }
            if written < 0 { return errno == EAGAIN || errno == EWOULDBLOCK }
            outgoing.removeFirst(written)
            return true
        }

        func lost() -> Int32 {
            diagnoseSudo("paddock-init closed the connection before the command ended")
            return 1
        }

        func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw in
                    retryingEINTR { write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
                }
                // Whoever reads our output went away; the command's status still matters.
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

func diagnoseSudo(_ message: String) {
    let line = Array("sudo: \(message)\n".utf8)
    _ = line.withUnsafeBytes { raw in write(STDERR_FILENO, raw.baseAddress, raw.count) }
}
