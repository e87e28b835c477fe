#if os(Linux)
    import PaddockCore

    /// Freezes and thaws a sandbox's processes through its cgroup directly: what `runc pause` and `resume` do,
    /// without starting a runtime process each time (about 10 ms apiece). runc derives a container's `paused`
    /// status from this same freezer state, so both views agree.
    struct CgroupFreezer {
        let mode: HostCapabilities.CgroupMode
        /// The cgroup path the runtime was given, e.g. `/paddock/<id>`.
        let path: String

        /// v1 and hybrid hosts: the freezer controller (runc uses it there); v2: the cgroup's own freeze file.
        private var controlFile: String? {
            switch mode {
            case .v1, .hybrid: "/sys/fs/cgroup/freezer\(path)/freezer.state"
            case .v2: "/sys/fs/cgroup\(path)/cgroup.freeze"
            case .none: nil
            }
        }

        /// Whether every process is frozen; nil when the cgroup does not exist.
        var isFrozen: Bool? {
            switch mode {
            case .v1, .hybrid:
                guard let file = controlFile, let state = Syscalls.readFile(file)?.trimmed else { return nil }
                return state == "FROZEN"
            case .v2:
                guard let events = Syscalls.readFile("/sys/fs/cgroup\(path)/cgroup.events") else { return nil }
                return events.split(separator: "\n").contains("frozen 1")
            case .none: return nil
            }
        }

        /// Freezes and waits until the kernel reports every task stopped (a task in an uninterruptible sleep
        /// delays it). On a timeout the cgroup is thawed again and the error says so.
        func freeze(timeout: Duration = .seconds(10)) async throws(PaddockError) {
            guard let file = controlFile else { throw .unavailable("this host has no cgroup freezer") }
            try Syscalls.writeExisting(file, mode == .v2 ? "1" : "FROZEN")
            let deadline = ContinuousClock.now + timeout
            var delay = Duration.microseconds(50)
            while isFrozen != true {
                guard ContinuousClock.now < deadline else {
                    try? thaw()
                    throw .unavailable(
                        "the sandbox's processes did not all stop within \(timeout); one may be stuck in the kernel "
                            + "(on a slow disk or network mount); try again")
                }
                // v1 can settle in FREEZING while a task forks; writing FROZEN again retries, as runc does.
                if mode != .v2 { try Syscalls.writeExisting(file, "FROZEN") }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(10))
            }
        }

        func thaw() throws(PaddockError) {
            guard let file = controlFile else { throw .unavailable("this host has no cgroup freezer") }
            try Syscalls.writeExisting(file, mode == .v2 ? "0" : "THAWED")
        }
    }
#endif
