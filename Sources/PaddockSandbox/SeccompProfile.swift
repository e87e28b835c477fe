/// The seccomp filter every sandbox runs under.
///
/// An allowlist in the shape of Docker's default profile, and at least as strict: anything not listed
/// fails with EPERM, so a syscall added to a future kernel is denied until someone reviews it. Compared
/// with Docker's default it additionally denies `io_uring_*` (a large attack surface that bypasses
/// per-syscall filtering), `process_vm_readv/writev`, `pidfd_getfd`, `kcmp`, the new mount API and
/// `chroot`, and it allows the capability-gated calls Docker allows only with the capability (Paddock
/// grants none of those capabilities, so they stay denied either way).
public enum SeccompProfile {
    /// Flags of `clone(2)` that create namespaces. Creating namespaces inside a sandbox is refused: the
    /// sandbox already has its own, and nested user namespaces are a frequent kernel attack path.
    static let namespaceCloneFlags: UInt64 = 0x7E02_0000

    static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
        "chmod", "chown", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2",
        "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue", "futex_wait",
        "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "get_robust_list", "getrusage", "getsid",
        "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link",
        "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise",
        "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
        "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
        "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat",
        "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
        "pselect6", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
        "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
        "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
        "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
        "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer",
        "setpgid", "setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "set_robust_list",
        "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setxattr", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "socketpair", "splice", "stat",
        "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
        "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
        "timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname",
        "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4", "waitid", "write",
        "writev",
        // x86_64 only
        "arch_prctl", "modify_ldt",
    ]

    /// Personalities Docker allows (Linux, UNAME26, PER_LINUX32 and query).
    static let allowedPersonalities: [UInt64] = [0x0, 0x8, 0x20000, 0x20008, 0xFFFF_FFFF]

    static let afVsock: UInt64 = 40
    static let eperm: UInt32 = 1
    static let enosys: UInt32 = 38

    /// The native architecture and its compat ABIs: a 32-bit binary must not slip past a 64-bit-only filter.
    static var nativeArchitectures: [String] {
        #if arch(x86_64)
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        #elseif arch(arm64)
            ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        #else
            []
        #endif
    }

    /// Syscalls that start a program: with command guardrails they go to the host's exec guard instead.
    static let execSyscalls = ["execve", "execveat"]

    /// Where the runtime sends the notify fd for the exec guardrail, and the text that tells the listener which
    /// sandbox it belongs to.
    public struct ExecNotify: Sendable, Equatable {
        public var listenerPath: String
        public var metadata: String
        public init(listenerPath: String, metadata: String) {
            self.listenerPath = listenerPath
            self.metadata = metadata
        }
    }

    /// The profile as OCI `linux.seccomp`. With `execNotify`, every `execve`/`execveat` waits for the host's
    /// exec guard (`SCMP_ACT_NOTIFY`); without it they are plainly allowed, so sandboxes without command rules
    /// pay nothing.
    public static func oci(execNotify: ExecNotify? = nil) -> OCILinux.Seccomp {
        let plain = execNotify == nil ? allowed : allowed.filter { !execSyscalls.contains($0) }
        var rules: [OCILinux.Seccomp.Syscall] = [.init(names: plain, action: "SCMP_ACT_ALLOW")]
        if execNotify != nil { rules.append(.init(names: execSyscalls, action: "SCMP_ACT_NOTIFY")) }
        rules.append(
            .init(
                names: ["clone"], action: "SCMP_ACT_ALLOW",
                args: [.init(index: 0, value: namespaceCloneFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]))
        // clone3 passes its flags in memory seccomp cannot inspect; ENOSYS makes libc fall back to clone.
        rules.append(.init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: enosys))
        rules.append(
            .init(
                names: ["socket"], action: "SCMP_ACT_ALLOW",
                args: [.init(index: 0, value: afVsock, op: "SCMP_CMP_NE")]))
        for p in allowedPersonalities {
            rules.append(
                .init(
                    names: ["personality"], action: "SCMP_ACT_ALLOW",
                    args: [.init(index: 0, value: p, op: "SCMP_CMP_EQ")]))
        }
        var seccomp = OCILinux.Seccomp(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: eperm,
            architectures: nativeArchitectures, syscalls: rules)
        seccomp.listenerPath = execNotify?.listenerPath
        seccomp.listenerMetadata = execNotify?.metadata
        return seccomp
    }
}
