#ifdef __linux__

#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// signalfd is a GNU extension, so Swift's Glibc module does not declare it.
int pk_signalfd_open(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

// struct signalfd_siginfo lives in the same undeclared header; returning just the number keeps Swift
// free of its layout.
int pk_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return (errno == EAGAIN) ? 0 : -1;
    if ((size_t)n != sizeof info) return 0;
    return (int)info.ssi_signo;
}

// prctl is variadic, which Swift cannot call.
int pk_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

// prctl is variadic, which Swift cannot call.
int pk_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
}

// pipe2 is a GNU extension; setting FD_CLOEXEC afterwards would race with a concurrent fork.
int pk_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

// accept4 is a GNU extension; it sets both flags atomically on the new descriptor.
int pk_accept_nonblocking(int listener) {
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

// posix_openpt/ptsname_r are not exported to Swift, and TIOCGPTPEER (an ioctl) needs a C caller.
// TIOCGPTPEER opens the slave through the master instead of by path, which stays correct when the
// sandbox's /dev/pts is a different devpts instance; ptsname_r is the fallback for older kernels.
int pk_open_pty(int *master, int *slave, unsigned short rows, unsigned short cols) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0) goto fail;
    int s = -1;
#ifdef TIOCGPTPEER
    s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
#endif
    if (s < 0) {
        char name[128];
        if (ptsname_r(m, name, sizeof name) != 0) goto fail;
        s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (s < 0) goto fail;
    }
    struct winsize size = {.ws_row = rows, .ws_col = cols};
    if (ioctl(m, TIOCSWINSZ, &size) != 0) {
        int saved = errno;
        close(s);
        errno = saved;
        goto fail;
    }
    int flags = fcntl(m, F_GETFL);
    if (flags < 0 || fcntl(m, F_SETFL, flags | O_NONBLOCK) < 0) {
        int saved = errno;
        close(s);
        errno = saved;
        goto fail;
    }
    *master = m;
    *slave = s;
    return 0;
fail: {
    int saved = errno;
    close(m);
    errno = saved;
    return -1;
}
}

// ioctl is variadic, which Swift cannot call.
int pk_set_window_size(int fd, unsigned short rows, unsigned short cols) {
    struct winsize size = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &size);
}

// setfsuid/setfsgid live in <sys/fsuid.h>, which Swift's Glibc module omits. They never report
// failure, so success is checked by reading the value back (an invalid id returns the current one).
// Some kernels (gVisor's) do not implement the filesystem ids; paddock-init is single-threaded, so
// switching the effective ids instead is equivalent there. The saved uid stays 0, so switching back
// to root always works: uid first (regaining the capabilities), then gid; the reverse order when
// leaving root, while CAP_SETGID is still held.
int pk_set_fs_identity(uid_t uid, gid_t gid) {
    setfsgid(gid);
    setfsuid(uid);
    if ((uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid) {
        return 0;
    }
    if (uid == 0) {
        if (setresuid((uid_t)-1, 0, (uid_t)-1) != 0 || setresgid((gid_t)-1, gid, (gid_t)-1) != 0) {
            return -1;
        }
    } else if (setresgid((gid_t)-1, gid, (gid_t)-1) != 0 || setresuid((uid_t)-1, uid, (uid_t)-1) != 0) {
        return -1;
    }
    return 0;
}

// Everything below runs in a child that shares the parent's memory (see pk_spawn) and may see Swift runtime
// state, so it makes only async-signal-safe calls, touches nothing but its own stack, and never returns: it
// execs or reports (stage, errno) and exits.
static void child_fail(int report, int stage) __attribute__((noreturn));
static void child_fail(int report, int stage) {
    int message[2] = {stage, errno};
    ssize_t ignored = write(report, message, sizeof message);
    (void)ignored;
    _exit(127);
}

static void child_run(const pk_spawn_request *req, int report) __attribute__((noreturn));
static void child_run(const pk_spawn_request *req, int report) {
    // The parent blocks SIGCHLD/SIGTERM/... and ignores SIGPIPE; a fresh program expects neither.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);  // EINVAL for KILL/STOP is fine
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    // A memory hog in the sandbox must never take paddock-init (and so the session) with it. Where the host
    // could exempt init from the OOM killer (oom_score_adj -1000, which needs CAP_SYS_RESOURCE on the host),
    // what init starts is an ordinary candidate again (0); where it could not, what init starts is the first
    // candidate (1000), which protects init just as well. Raising the value needs no privilege. Best effort:
    // without /proc the child keeps init's value.
    int oom = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
    if (oom >= 0) {
        char current[16] = {0};
        ssize_t got = read(oom, current, sizeof current - 1);
        const char *wanted = (got > 0 && current[0] == '-') ? "0" : "1000";
        (void)!pwrite(oom, wanted, strlen(wanted), 0);
        close(oom);
    }

    // Keep the report pipe clear of 0..2, which are about to be overwritten.
    if (report < 3) {
        int moved = fcntl(report, F_DUPFD_CLOEXEC, 3);
        if (moved < 0) _exit(127);
        report = moved;
    }

    // A new session makes the child its own process group leader, so kill(-pid) reaches everything it
    // starts, and lets the pty become its controlling terminal.
    if (setsid() < 0) child_fail(report, PK_SPAWN_STAGE_SETUP);
    if (req->tty_fd >= 0 && ioctl(req->tty_fd, TIOCSCTTY, 0) < 0) child_fail(report, PK_SPAWN_STAGE_SETUP);

    int fds[3] = {req->stdin_fd, req->stdout_fd, req->stderr_fd};
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 3) {  // dup2 onto a lower slot would clobber a source still needed
            fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            if (fds[i] < 0) child_fail(report, PK_SPAWN_STAGE_SETUP);
        }
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(fds[i], i) < 0) child_fail(report, PK_SPAWN_STAGE_SETUP);
    }

    // Identity before chdir, so the working directory is checked with the user's permissions.
    if (req->change_identity && geteuid() == 0) {
        // Raw system calls: glibc's wrappers apply an identity change to every thread of the process, and this
        // child shares the parent's memory, so glibc would take the parent's threads for its own.
        if (syscall(SYS_setgroups, 0, NULL) < 0) child_fail(report, PK_SPAWN_STAGE_IDENTITY);
        if (syscall(SYS_setgid, req->gid) < 0) child_fail(report, PK_SPAWN_STAGE_IDENTITY);
        if (req->uid != 0) {
            // Empty the bounding set while we still hold CAP_SETPCAP, so nothing the user runs
            // (a setuid binary, file capabilities) can regain a capability. Looping past the kernel's
            // last capability just returns EINVAL, which also covers kernels newer than our headers.
            for (int cap = 0; cap < 64; cap++) {
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                    child_fail(report, PK_SPAWN_STAGE_IDENTITY);
            }
            if (syscall(SYS_setuid, req->uid) < 0) child_fail(report, PK_SPAWN_STAGE_IDENTITY);
        }
    }

    if (chdir(req->cwd) < 0) child_fail(report, PK_SPAWN_STAGE_CHDIR);

    // Nothing of ours may leak into the program. Marking everything close-on-exec (rather than closing)
    // keeps the report pipe open until execve succeeds. The range ends at INT_MAX, the largest descriptor
    // there can be, not ~0U: gVisor's kernel refuses a bound above INT_MAX with EINVAL, and the
    // fallback below then costs 65,533 system calls, each a trip through its sentry (about 100 ms a spawn).
    if (syscall(SYS_close_range, 3U, (unsigned int)INT_MAX, CLOSE_RANGE_CLOEXEC) < 0) {
        struct rlimit limit;
        long max = 65536;
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 65536)
            max = (long)limit.rlim_cur;
        for (long fd = 3; fd < max; fd++) {
            if (fd != report) close((int)fd);
        }
    }

    execve(req->path, req->argv, req->envp);
    child_fail(report, PK_SPAWN_STAGE_EXEC);
}

struct child_start {
    const pk_spawn_request *req;
    int report;
};

static int child_entry(void *argument) {
    const struct child_start *start = argument;
    child_run(start->req, start->report);
}

// The child's own stack: it runs in the parent's memory until it execs.
#define PK_CHILD_STACK_BYTES (256 * 1024)

// posix_spawn cannot change uid or acquire a controlling terminal, and Swift must not run in a forked
// child, so the whole fork + setup + exec sequence lives here.
//
// The child shares the parent's memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does) instead of
// getting a copy of it: copying init's address space costs more than everything else a spawn does, most of all
// under gVisor, whose kernel copies it in software (measured on a 50 MiB process: fork 30-40 ms, this 15 ms; on
// the host 8.5 ms against 0.8 ms). The parent's thread waits until the child has exec'd or exited.
pid_t pk_spawn(const pk_spawn_request *req, int *failed_stage) {
    *failed_stage = 0;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    void *stack = mmap(NULL, PK_CHILD_STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    // No handler of the parent's may run in the child while it still shares the parent's memory: every signal
    // is blocked across the clone, and the child resets every handler before it unblocks them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    struct child_start start = {.req = req, .report = report[1]};
    pid_t pid = clone(child_entry, (char *)stack + PK_CHILD_STACK_BYTES, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    munmap(stack, PK_CHILD_STACK_BYTES);
    if (pid < 0) {
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    close(report[1]);

    // The write end closes on a successful exec (close-on-exec) or carries (stage, errno).
    int message[2] = {0, 0};
    size_t got = 0;
    while (got < sizeof message) {
        ssize_t n = read(report[0], (char *)message + got, sizeof message - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(report[0]);
    if (got == 0) return pid;

    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got < sizeof message) {
        *failed_stage = PK_SPAWN_STAGE_SETUP;
        errno = EIO;
    } else {
        *failed_stage = message[0];
        errno = message[1];
    }
    return -1;
}

ssize_t pk_copy_file_range(int in_fd, int out_fd, size_t length) {
    return copy_file_range(in_fd, NULL, out_fd, NULL, length, 0);
}

ssize_t pk_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}

int pk_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

// ---- exec guardrail: seccomp user notification (host side) ----

#include <linux/openat2.h>
#include <linux/seccomp.h>

// The ioctl takes a struct seccomp_notif whose layout Swift cannot import; the kernel also insists the buffer
// is zeroed (EINVAL otherwise).
int pk_seccomp_notif_recv(int fd, pk_seccomp_notification *out) {
    struct seccomp_notif notif;
    memset(&notif, 0, sizeof notif);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &notif) != 0) return -1;
    out->id = notif.id;
    out->pid = notif.pid;
    out->nr = notif.data.nr;
    out->arch = notif.data.arch;
    for (int i = 0; i < 6; i++) out->args[i] = notif.data.args[i];
    return 0;
}

// ioctl is variadic, which Swift cannot call. After reading the target's memory this proves the pid was not
// recycled and the memory we read belonged to the thread still blocked in the syscall.
int pk_seccomp_notif_id_valid(int fd, uint64_t id) {
    uint64_t copy = id;
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &copy);
}

// ioctl is variadic; struct seccomp_notif_resp is built here so Swift never sees it.
int pk_seccomp_notif_respond(int fd, uint64_t id, int allow, int error) {
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = id;
    if (allow) {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
        resp.error = -error;
    }
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

// SYS_* macros are not visible to Swift.
int pk_sys_execve(void) { return SYS_execve; }
int pk_sys_execveat(void) { return SYS_execveat; }

// CMSG_* are macros Swift cannot use. runc sends the container state with the notify fd attached.
ssize_t pk_recv_with_fd(int sock, void *buf, size_t len, int *fd) {
    *fd = -1;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *fds = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (*fd < 0) *fd = fds[i]; else close(fds[i]);
        }
    }
    return n;
}

// The sending side of pk_recv_with_fd: paddock-init hands a dialled port's socket to the host.
ssize_t pk_send_with_fd(int sock, const void *buf, size_t len, int fd) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

#include <sys/epoll.h>

// sys/epoll.h is not part of Swift's Glibc module, and struct epoll_event is packed on x86_64.
int pk_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int pk_epoll_add(int epoll, int fd) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int pk_epoll_remove(int epoll, int fd) {
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
}

int pk_epoll_wait(int epoll, int *fds, int *events, int max, int timeout_ms) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epoll, ready, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ((ready[i].events & EPOLLIN) ? PK_EPOLL_IN : 0) |
                    ((ready[i].events & (EPOLLHUP | EPOLLERR)) ? PK_EPOLL_HANGUP : 0);
    }
    return n;
}

// glibc has no openat2 wrapper. RESOLVE_IN_ROOT keeps a sandbox's absolute symlinks inside its own root when
// the host opens a file by a path the sandbox chose.
int pk_open_in_root(int root, const char *path, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}


#include <linux/fs.h>

int pk_mark_top_directory(int fd) {
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return -1;
    if (flags & FS_TOPDIR_FL) return 0;
    flags |= FS_TOPDIR_FL;
    return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

#include <sys/mount.h>
#include <linux/mount.h>

int pk_mount_idmapped(const char *source, const char *userns_path, const char *target) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
    if (tree < 0) return -1;
    int userns = open(userns_path, O_RDONLY | O_CLOEXEC);
    if (userns < 0) {
        int saved = errno;
        close(tree);
        errno = saved;
        return -1;
    }
    struct mount_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = (unsigned long long)userns;
    int result = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
    if (result == 0) {
        result = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
    }
    int saved = errno;
    close(userns);
    close(tree);
    errno = saved;
    return result;
}

// ---- per-session disks ----

#include <linux/loop.h>

int pk_loop_attach(int backing_fd, int direct_io, int *number) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return -1;
    for (int attempt = 0; attempt < 64; attempt++) {
        int free_number = ioctl(control, LOOP_CTL_GET_FREE);
        if (free_number < 0) break;
        char path[32];
        snprintf(path, sizeof path, "/dev/loop%d", free_number);
        int loop = open(path, O_RDWR | O_CLOEXEC);
        if (loop < 0) {
            // The device node may appear a moment after LOOP_CTL_GET_FREE made it; ask again.
            if (errno == ENOENT) continue;
            break;
        }
        struct loop_config config;
        memset(&config, 0, sizeof config);
        config.fd = (unsigned int)backing_fd;
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0);
        if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
            close(control);
            *number = free_number;
            return loop;
        }
        int saved = errno;
        close(loop);
        // EBUSY: another process bound it first. EINVAL with direct I/O: the backing file refuses O_DIRECT.
        if (saved == EINVAL && direct_io) {
            direct_io = 0;
            continue;
        }
        if (saved != EBUSY) {
            close(control);
            errno = saved;
            return -1;
        }
    }
    int saved = errno;
    close(control);
    errno = saved ? saved : EBUSY;
    return -1;
}

int pk_create_direct(const char *path) {
    return open(path, O_CREAT | O_EXCL | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
}

int pk_loop_set_capacity(int loop_fd) { return ioctl(loop_fd, LOOP_SET_CAPACITY, 0); }

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, __u64)
#endif

int pk_ext4_resize(int fd, unsigned long long blocks) {
    __u64 count = blocks;
    return ioctl(fd, EXT4_IOC_RESIZE_FS, &count);
}

int pk_fallocate(int fd, long long offset, long long length) { return fallocate(fd, 0, offset, length); }

ssize_t pk_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }

ssize_t pk_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

int pk_lsetxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

int pk_lremovexattr(const char *path, const char *name) { return lremovexattr(path, name); }

int pk_syncfs(int fd) { return syncfs(fd); }

#endif

int paddock_pidfd_open(int pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}
