#if os(Linux)
    import PaddockCore

    /// Freezes and thaws a cgroup's processes directly: what `runc pause` and `resume` do, without starting a
    /// runtime process each time (about 10 ms apiece). runc derives a container's `paused` status from this same
    /// freezer state, so both views agree.
    extension Cgroup {
        /// v1 and hybrid hosts: the freezer controller (runc uses it there); v2: the cgroup's own freeze file.
        private var freezeFile: String? {
            switch mode {
            case .v1, .hybrid: legacyFile("freezer", "freezer.state")
            case .v2: unifiedFile("cgroup.freeze")
            case .none: nil
            }
        }

        /// Whether every process is frozen; nil when the cgroup (or the freezer) does not exist.
        public var isFrozen: Bool? {
            switch mode {
            case .v1, .hybrid:
                guard let file = freezeFile, let state = Syscalls.readFile(file)?.trimmed else { return nil }
                return state == "FROZEN"
            case .v2:
                guard let file = unifiedFile("cgroup.events"), let events = Syscalls.readFile(file) else { return nil }
                return events.split(separator: "\n").contains("frozen 1")
            case .none: return nil
            }
        }

        /// Freezes and waits until the kernel reports every task stopped (a task in an uninterruptible sleep
        /// delays it). On a timeout, or when the caller is cancelled, the cgroup is thawed again and the error
        /// says so: a freeze either completes or leaves the processes running.
        public func freeze(timeout: Duration = .seconds(10)) async throws(PaddockError) {
            guard let file = freezeFile else { throw .unavailable("this host has no cgroup freezer") }
            try Syscalls.writeExisting(file, mode == .v2 ? "1" : "FROZEN")
            let deadline = ContinuousClock.now + timeout
            var delay = Duration.microseconds(50)
            while isFrozen != true {
                if Task.isCancelled { throw undoFreeze("freezing was cancelled before every process had stopped") }
                guard ContinuousClock.now < deadline else {
                    throw undoFreeze(
                        "the sandbox's processes did not all stop within \(timeout); one may be stuck in the kernel "
                            + "(on a slow disk or network mount); try again")
                }
                // v1 can settle in FREEZING while a task forks; writing FROZEN again retries, as runc does.
                if mode != .v2 { try Syscalls.writeExisting(file, "FROZEN") }
                // The kernel reports no event for this on v1, so the state is polled, backing off to 10 ms. A
                // cancelled sleep ends early; the loop's top then thaws.
                do { try await Task.sleep(for: delay) } catch { continue }
                delay = min(delay * 2, .milliseconds(10))
            }
        }

        /// Thaws after a freeze that did not complete; the error to throw says why, and whether the thaw failed.
        private func undoFreeze(_ why: String) -> PaddockError {
            do { try thaw() } catch {
                return .unavailable(
                    "\(why); thawing the processes again failed too (\(error.message)), so destroy the session if it does not answer"
                )
            }
            return .unavailable(why)
        }

        public func thaw() throws(PaddockError) {
            guard let file = freezeFile else { throw .unavailable("this host has no cgroup freezer") }
            try Syscalls.writeExisting(file, mode == .v2 ? "0" : "THAWED")
        }
    }
#endif
