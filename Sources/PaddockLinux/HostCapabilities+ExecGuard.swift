#if os(Linux)
    import Glibc

    extension HostCapabilities {
        /// Command guardrails need the kernel to offer seccomp user notification with CONTINUE (5.5) and
        /// `pidfd_getfd` (5.6, which runc uses to fetch the notify fd), and runc 1.1 or later built with libseccomp
        /// 2.5 or later. Probed here, at runtime, rather than assumed.
        mutating func probeExecGuard() async {
            let actions = Syscalls.readFile("/proc/sys/kernel/seccomp/actions_avail") ?? ""
            let kernelOK = actions.contains("user_notif") && Self.version(kernel, atLeast: [5, 6])
            var runcOK = false
            var runcText = "runc not installed"
            if let runc = runtimes.first(where: { $0.name == "runc" }), let path = runc.path,
                let output = try? await HostCommand.run(path, ["--version"]).stdout
            {
                let runcVersion = Self.field(output, after: "runc version ")
                let libseccomp = Self.field(output, after: "libseccomp: ")
                runcOK =
                    Self.version(runcVersion ?? "", atLeast: [1, 1]) && Self.version(libseccomp ?? "", atLeast: [2, 5])
                runcText = "runc \(runcVersion ?? "?") with libseccomp \(libseccomp ?? "?")"
            }
            execGuardSupported = kernelOK && runcOK && defaultRuntime == "runc"
            let local =
                execGuardSupported
                ? "local: every execve is checked by the host (seccomp user notification; \(runcText))"
                : "local: unavailable (kernel \(kernel) \(kernelOK ? "ok" : "lacks seccomp user notification"), "
                    + "\(runcText)\(runcOK ? "" : ": needs runc 1.1+ and libseccomp 2.5+"))"
            execGuard =
                local + "; gvisor: sessions with command rules are refused (gVisor's kernel has no seccomp user "
                + "notification, so its execs cannot be held for the host; README, gVisor)"
        }

        static func field(_ text: String, after prefix: String) -> String? {
            for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line.dropFirst(prefix.count).split(separator: " ").first ?? "")
            }
            return nil
        }

        /// `6.1.0-18-amd64` ≥ [5, 6]: compares the leading numeric components.
        static func version(_ text: String, atLeast minimum: [Int]) -> Bool {
            let parts = text.split(whereSeparator: { !$0.isNumber }).prefix(minimum.count).compactMap { Int($0) }
            guard parts.count == minimum.count else { return false }
            return parts.lexicographicallyPrecedes(minimum) == false
        }
    }
#endif
