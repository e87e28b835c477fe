#if os(Linux)
    import Glibc
    import Logging
    import PaddockCore

    /// The processes in a cgroup, and ending them all.
    extension Cgroup {
        /// Member pids: the unified hierarchy's list on v2; on v1 and hybrid hosts the freezer's (the hierarchy
        /// `killAll` freezes), else any controller's, since each lists the same processes.
        public var processes: [Int32] {
            let file: String?
            switch mode {
            case .v2: file = unifiedFile("cgroup.procs")
            case .v1, .hybrid:
                file = ["freezer", "pids", "memory", "cpu"].lazy.compactMap { legacyFile($0, "cgroup.procs") }
                    .first { Syscalls.exists($0) }
            case .none: file = nil
            }
            guard let file, let text = Syscalls.readFile(file) else { return [] }
            return text.split(separator: "\n").compactMap { Int32($0) }
        }

        /// Ends every process in the cgroup under `policy`, and returns how many it found. Normally the runtime
        /// does this (`delete --force`), but when its state for the container is gone (a crash between steps, a
        /// wiped state directory) nothing else knows the processes, and they would run on unseen: recovery and
        /// teardown call this before they remove the cgroup.
        ///
        /// On v2 the kernel kills the whole cgroup in one write (`cgroup.kill`, Linux 5.14). Elsewhere the cgroup
        /// is frozen first, so nothing forks between reading the list and the signals; each round signals what
        /// is listed and thaws (frozen tasks die once thawed), until the list is empty.
        @discardableResult
        public func killAll(_ policy: KillPolicy = .immediate, logger: Logger) async -> (
            found: Int, outcome: KillPolicy.Outcome
        ) {
            var signalled = Set(processes)
            guard !signalled.isEmpty else { return (0, .alreadyGone) }
            let killFile = mode == .v2 ? unifiedFile("cgroup.kill").flatMap { Syscalls.exists($0) ? $0 : nil } : nil
            let freezes = killFile == nil
            if freezes {
                // A cgroup that cannot be frozen (a task stuck in the kernel) is still signalled: each round
                // catches what forked meanwhile.
                do { try await freeze(timeout: .seconds(2)) } catch {
                    logger.notice(
                        "killing a cgroup's processes unfrozen", metadata: ["cgroup": "\(path)", "error": "\(error)"])
                }
            }
            let outcome = await policy.enforce(
                signal: { signal in
                    if signal == KillPolicy.killSignal, let killFile {
                        do { return try Syscalls.writeExisting(killFile, "1") } catch {
                            logger.notice(
                                "cgroup.kill failed; signalling each process",
                                metadata: ["cgroup": "\(path)", "error": "\(error)"])
                        }
                    }
                    let listed = processes
                    signalled.formUnion(listed)
                    for pid in listed { kill(pid, signal) }
                    guard freezes else { return }
                    do { try thaw() } catch {
                        logger.notice(
                            "thawing a cgroup to kill it failed", metadata: ["cgroup": "\(path)", "error": "\(error)"])
                    }
                },
                isGone: { processes.isEmpty })
            if outcome == .survived {
                logger.error(
                    "processes outlived being killed", metadata: ["cgroup": "\(path)", "processes": "\(processes)"])
            }
            return (signalled.count, outcome)
        }
    }
#endif
