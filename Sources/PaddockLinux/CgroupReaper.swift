#if os(Linux)
    import Glibc
    import PaddockCore

    /// Ends every process left in a sandbox's cgroup. Normally the runtime does this (`delete --force`), but
    /// when its state for the container is gone (a crash between steps, a wiped state directory) nothing else
    /// knows the processes, and they would run on unseen: recovery and teardown call this before they remove
    /// the cgroup.
    struct CgroupReaper {
        let mode: HostCapabilities.CgroupMode
        /// The cgroup path the runtime was given, e.g. `/paddock/<id>`.
        let path: String

        var processes: [Int32] { CgroupStats(mode: mode, path: path).processes }

        /// Kills every process in the cgroup and waits (up to `timeout`) until none is left; returns how many
        /// it found. On v2 the kernel does it in one write (`cgroup.kill`). On v1 the cgroup is frozen first, so
        /// nothing forks between reading the list and the signals, and whatever is still listed is killed
        /// again until the list is empty.
        @discardableResult
        func killAll(timeout: Duration = .seconds(5)) async -> Int {
            let found = processes
            guard !found.isEmpty else { return 0 }
            let deadline = ContinuousClock.now + timeout
            if mode == .v2, (try? Syscalls.writeExisting("/sys/fs/cgroup\(path)/cgroup.kill", "1")) != nil {
                while !processes.isEmpty && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return found.count
            }
            let freezer = CgroupFreezer(mode: mode, path: path)
            try? await freezer.freeze(timeout: .seconds(2))
            var killed = Set<Int32>()
            while ContinuousClock.now < deadline {
                let left = processes
                if left.isEmpty { break }
                for pid in left { kill(pid, SIGKILL) }
                killed.formUnion(left)
                // Frozen tasks die once thawed.
                try? freezer.thaw()
                try? await Task.sleep(for: .milliseconds(5))
            }
            return killed.count
        }
    }
#endif
