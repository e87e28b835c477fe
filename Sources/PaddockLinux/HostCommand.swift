#if os(Linux)
    import Glibc
    import PaddockCore
    import Subprocess
    import SystemPackage

    /// Runs a host program to completion and collects its output. A non-zero exit is a result, not an error.
    public struct HostCommand {
        struct Result: Sendable {
            var status: Int32
            var stdout: String
            var stderr: String
            var succeeded: Bool { status == 0 }
        }

        /// Finds `name` on the host PATH (plus the sbin directories root tools live in).
        public static func find(_ name: String) -> String? {
            if name.hasPrefix("/") { return access(name, X_OK) == 0 ? name : nil }
            let path =
                (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
            for dir in path.split(separator: ":") where !dir.isEmpty {
                let candidate = "\(dir)/\(name)"
                if access(candidate, X_OK) == 0 { return candidate }
            }
            return nil
        }

        static func run(_ executable: String, _ arguments: [String], outputLimit: Int = 1 << 20)
            async throws(PaddockError) -> Result
        {
            do {
                let record = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), input: .none,
                    output: .string(limit: outputLimit), error: .string(limit: outputLimit))
                let status: Int32
                switch record.terminationStatus {
                case .exited(let code): status = code
                case .signaled(let signal): status = 128 + signal
                }
                return Result(status: status, stdout: record.standardOutput, stderr: record.standardError)
            } catch {
                throw .internal("could not run \(executable)", underlying: error)
            }
        }

        /// Runs with stdin and stdout on /dev/null and stderr appended to `stderrFile`, for a program whose
        /// children outlive it (the runtime's `run -d`): a pipe would stay open until the sandbox ends.
        static func runDetached(_ executable: String, _ arguments: [String], stderrFile: String)
            async throws(PaddockError) -> Int32
        {
            let fd = Syscalls.retrying { open(stderrFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
            guard fd >= 0 else { throw .internal("opening \(stderrFile): \(Syscalls.errnoText())") }
            do {
                let record = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), input: .none, output: .discarded,
                    error: .fileDescriptor(FileDescriptor(rawValue: fd), closeAfterSpawningProcess: true))
                switch record.terminationStatus {
                case .exited(let code): return code
                case .signaled(let signal): return 128 + signal
                }
            } catch {
                throw .internal("could not run \(executable)", underlying: error)
            }
        }
    }
#endif
