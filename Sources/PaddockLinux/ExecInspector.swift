#if os(Linux)
    import CPaddockShim
    import Glibc
    import PaddockCore

    /// Reads what a process blocked in `execve`/`execveat` asked for — the path, argv and working directory — and
    /// what the path is inside its sandbox: made absolute, symlinks followed within the sandbox's root, and the
    /// content compared with the guarded programs'.
    enum ExecInspector {
        enum Inspection {
            case inspected(CommandInvocation, cwd: String)
            /// The exec cannot succeed (or cannot be checked): fail it with this errno.
            case failed(Int32)
        }

        /// Not exported by Swift's Glibc module (GNU-only in the headers).
        static let openPath: Int32 = 0o10_000_000
        static let atEmptyPath: Int32 = 0x1000

        static let maxArguments = 4096
        static let maxArgumentBytes = 256 * 1024

        static func inspect(
            pid: Int32, execveat: Bool, args: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64),
            references: (Int32) -> ProgramIdentity.References
        ) -> Inspection {
            let memory = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
            // Unreadable memory means an exec nobody can check: refuse it.
            guard memory >= 0 else { return .failed(EPERM) }
            defer { close(memory) }
            let dirFD = Int32(truncatingIfNeeded: args.0)
            let pathAddress = execveat ? args.1 : args.0
            let argvAddress = execveat ? args.2 : args.1
            let flags = execveat ? Int32(truncatingIfNeeded: args.4) : 0
            guard let path = readString(memory, at: pathAddress, limit: Int(PATH_MAX)) else { return .failed(EFAULT) }
            guard let argv = readArgv(memory, at: argvAddress) else { return .failed(EFAULT) }
            let cwd = readLink("/proc/\(pid)/cwd") ?? "/"

            let root = open("/proc/\(pid)/root", openPath | O_DIRECTORY | O_CLOEXEC)
            guard root >= 0 else { return .failed(EPERM) }
            defer { close(root) }

            var given: String
            let file: Int32
            if execveat && path.isEmpty && flags & atEmptyPath != 0 {
                // fexecve: the program is the descriptor itself.
                given = readLink("/proc/\(pid)/fd/\(dirFD)") ?? "fd:\(dirFD)"
                file = open("/proc/\(pid)/fd/\(dirFD)", O_RDONLY | O_CLOEXEC)
            } else {
                if path.hasPrefix("/") {
                    given = path
                } else {
                    let base =
                        execveat && dirFD != AT_FDCWD ? (readLink("/proc/\(pid)/fd/\(dirFD)") ?? "/") : cwd
                    given = base + "/" + path
                }
                given = normalize(given)
                if let own = ownProcEntry(given, pid: pid) {
                    // `/proc/self/exe`, `/proc/self/fd/N`: magic links the in-root lookup refuses (and "self" would
                    // mean this server), so they are opened through the host's view of the same process.
                    file = open(own, O_RDONLY | O_CLOEXEC)
                } else {
                    file = pk_open_in_root(root, given, O_RDONLY)
                }
            }
            var paths = [given]
            if file < 0 {
                let error = errno
                switch error {
                case ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES: return .failed(error)
                default:
                    // Could not look at the file: decide on the path and argv alone.
                    return .inspected(CommandInvocation(argv: argv, executablePaths: paths), cwd: cwd)
                }
            }
            defer { close(file) }
            if let real = readLink("/proc/self/fd/\(file)"), real.hasPrefix("/"), real != given {
                paths.append(real)
            }
            var st = stat()
            if fstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
                // A script's interpreter starts without an execve of its own (the kernel loads it), so it is
                // named here: `deny: [python3]` also covers `./tool.py` with a python3 shebang.
                if let interpreter = interpreter(file), !paths.contains(interpreter) { paths.append(interpreter) }
                let refs = references(root)
                if let candidates = refs.bySize[Int64(st.st_size)], let digest = ProgramIdentity.digest(file, st) {
                    for candidate in candidates where candidate.digest == digest && !paths.contains(candidate.path) {
                        paths.append(candidate.path)
                    }
                }
            }
            return .inspected(CommandInvocation(argv: argv, executablePaths: paths), cwd: cwd)
        }

        /// The host path of the calling process's own `/proc/self/exe` or `/proc/self/fd/N` (also written with
        /// `thread-self` or its pid inside the sandbox); nil for anything else.
        static func ownProcEntry(_ path: String, pid: Int32) -> String? {
            let parts = path.split(separator: "/")
            guard parts.count >= 3, parts[0] == "proc" else { return nil }
            let who = parts[1]
            guard who == "self" || who == "thread-self" || who == namespacePID(pid).map({ Substring(String($0)) })
            else { return nil }
            if parts.count == 3 && parts[2] == "exe" { return "/proc/\(pid)/exe" }
            if parts.count == 4 && parts[2] == "fd" && parts[3].allSatisfy(\.isNumber) {
                return "/proc/\(pid)/fd/\(parts[3])"
            }
            return nil
        }

        /// The process's pid inside its own pid namespace (the last `NSpid:` field).
        static func namespacePID(_ pid: Int32) -> Int32? {
            guard let status = Syscalls.readFile("/proc/\(pid)/status", limit: 4096) else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
                return line.split(whereSeparator: \.isWhitespace).last.flatMap { Int32($0) }
            }
            return nil
        }

        /// The interpreter a `#!` line names, or nil.
        static func interpreter(_ file: Int32) -> String? {
            var head = [UInt8](repeating: 0, count: 256)
            let n = head.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, 0) }
            guard n > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return nil }
            let line = head[2..<n].prefix { $0 != 10 }
            let word = line.drop { $0 == 32 || $0 == 9 }.prefix { $0 != 32 && $0 != 9 && $0 != 13 }
            guard word.first == UInt8(ascii: "/") else { return nil }
            return String(decoding: word, as: UTF8.self)
        }

        /// `/a/./b/../c//d` → `/a/c/d`, lexically (symlinks are resolved by the kernel when the file is opened).
        static func normalize(_ path: String) -> String {
            var parts: [Substring] = []
            for part in path.split(separator: "/", omittingEmptySubsequences: true) {
                if part == "." { continue }
                if part == ".." {
                    _ = parts.popLast()
                    continue
                }
                parts.append(part)
            }
            return "/" + parts.joined(separator: "/")
        }

        static func readLink(_ path: String) -> String? {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buffer, buffer.count - 1)
            guard n > 0 else { return nil }
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// A NUL-terminated string of the other process. Reads stop at page ends, so a string that ends just
        /// before an unmapped page is still read.
        static func readString(_ memory: Int32, at address: UInt64, limit: Int) -> String? {
            guard address != 0 else { return nil }
            var bytes: [UInt8] = []
            var cursor = address
            var chunk = [UInt8](repeating: 0, count: 4096)
            while bytes.count < limit {
                let toPageEnd = 4096 - Int(cursor % 4096)
                let want = min(toPageEnd, chunk.count)
                let n = chunk.withUnsafeMutableBytes {
                    pread(memory, $0.baseAddress, want, off_t(bitPattern: UInt(cursor)))
                }
                guard n > 0 else { return nil }
                if let end = chunk[0..<n].firstIndex(of: 0) {
                    bytes += chunk[0..<end]
                    return String(decoding: bytes, as: UTF8.self)
                }
                bytes += chunk[0..<n]
                cursor += UInt64(n)
            }
            return nil
        }

        static func readArgv(_ memory: Int32, at address: UInt64) -> [String]? {
            // execve(path, NULL, …) is legal on Linux: an empty argv.
            guard address != 0 else { return [] }
            var argv: [String] = []
            var total = 0
            var cursor = address
            while argv.count < maxArguments {
                var pointer: UInt64 = 0
                let n = withUnsafeMutableBytes(of: &pointer) {
                    pread(memory, $0.baseAddress, 8, off_t(bitPattern: UInt(cursor)))
                }
                guard n == 8 else { return nil }
                if pointer == 0 { return argv }
                guard let arg = readString(memory, at: pointer, limit: maxArgumentBytes - total) else { return nil }
                total += arg.utf8.count + 1
                argv.append(arg)
                cursor += 8
            }
            return nil
        }
    }
#endif
