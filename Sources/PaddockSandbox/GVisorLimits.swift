import PaddockCore

/// How a session's limits hold in a gVisor sandbox. The host sees one sandbox (the sentry, its stub processes
/// and the gofer), so the host cgroup cannot pick a greedy process to fail or kill: whatever hits it takes
/// the whole sandbox down. The session's limits are therefore enforced inside, by gVisor's kernel, per
/// process (RLIMIT_NPROC: forks fail with EAGAIN; RLIMIT_AS: allocations fail with ENOMEM), and the host
/// cgroup stays the outer bound, with headroom for the sentry's own memory and threads.
public enum GVisorLimits {
    /// The host cgroup's limits for a sandbox whose session asked for `limits`. Measured with runsc
    /// 0.0~20240729 on systrap: 2,000 sleeping processes took 713 host tasks, and the sentry panics when a
    /// clone of its own fails, so the pids ceiling is several times the sandbox's; memory gets a quarter
    /// more (at least 256 MiB) for the sentry, its page tables and the gofer.
    public static func hostCeiling(_ limits: ResourceLimits) -> ResourceLimits {
        var host = limits
        let memory = limits.memory.bytes
        host.memory = ByteSize(bytes: memory + max(memory / 4, 256 << 20))
        host.pids = limits.pids * 4 + 512
        return host
    }

    /// The limits gVisor's kernel enforces on init and everything it starts (inherited through fork and exec).
    /// RLIMIT_NPROC counts the processes of one uid; paddock-init is root and counts apart from the sandbox
    /// user's commands, so a fork bomb of theirs never stops init from serving the host. RLIMIT_AS caps each
    /// process's address space at the memory limit: a hog gets ENOMEM (Python: MemoryError) where runc's
    /// cgroup would OOM-kill it.
    public static func rlimits(_ limits: ResourceLimits) -> [OCIProcess.RLimit] {
        let pids = UInt64(limits.pids)
        let memory = limits.memory.bytes
        return [
            .init(type: "RLIMIT_NPROC", hard: pids, soft: pids),
            .init(type: "RLIMIT_AS", hard: memory, soft: memory),
        ]
    }
}
