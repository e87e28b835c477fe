#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    extension LocalProvider {
        /// Makes host files and directories (agent CLIs such as Claude Code, mini-swe-agent's Python packages)
        /// visible read-only in every sandbox started from now on, at `destination` (under `SandboxLayout.toolsDirectory`). Set before pools fill: warm
        /// sandboxes keep the mounts they started with.
        public func setToolBinds(_ binds: [SandboxSpecBuilder.ReadOnlyBind]) throws(PaddockError) {
            for bind in binds {
                guard bind.destination.hasPrefix(SandboxLayout.toolsDirectory + "/"),
                    !bind.destination.contains("/../"), Syscalls.exists(bind.source)
                else {
                    throw .invalidArgument(
                        "a tool mount needs an existing host file and a destination under "
                            + "\(SandboxLayout.toolsDirectory)/ (got \(bind.source) → \(bind.destination))")
                }
            }
            toolBinds = binds
        }

        /// A bind mount needs a file (or directory) to land on, and the sandbox's root cannot create one in the
        /// template's root-owned directories; the host makes them in the session's writable layer before the
        /// runtime runs.
        func makeToolMountPoints(in upper: String) throws(PaddockError) {
            for bind in toolBinds {
                var path = upper
                let parts = bind.destination.split(separator: "/").map(String.init)
                for part in parts.dropLast() {
                    path += "/" + part
                    try Syscalls.makeDirectory(path, mode: 0o755)
                }
                let last = path + "/" + (parts.last ?? "tool")
                if Syscalls.isDirectory(bind.source) {
                    try Syscalls.makeDirectory(last, mode: 0o755)
                } else {
                    try AtomicFile.write([], to: last, mode: 0o755)
                }
            }
        }
    }
#endif
