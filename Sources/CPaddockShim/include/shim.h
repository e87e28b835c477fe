#pragma once

// The few Linux calls Swift's Glibc module does not expose (GNU extensions, variadic functions such as
// prctl and ioctl, and a fork+exec that must run without touching the Swift runtime in the child).
// One function per job, prefixed `pk_`. Every function returns -1 and sets errno on failure unless its
// comment says otherwise.

#ifdef __linux__

#include <signal.h>
#include <sys/types.h>

/// A signalfd for `mask` (close-on-exec, non-blocking). The signals must already be blocked.
int pk_signalfd_open(const sigset_t *mask);

/// Reads one pending signal from a signalfd: the signal number, 0 when none is pending, -1 on error.
int pk_signalfd_read(int fd);

/// Marks the caller a child subreaper so orphaned descendants are reparented to it, not to PID 1.
int pk_set_child_subreaper(void);

/// Sets the "dumpable" attribute (0 keeps other uids from ptrace-attaching or reading /proc/PID/mem).
int pk_set_dumpable(int dumpable);

/// The l*xattr calls (symlinks not followed), which Glibc's Swift module leaves out with <sys/xattr.h>.
ssize_t pk_llistxattr(const char *path, char *list, size_t size);
ssize_t pk_lgetxattr(const char *path, const char *name, void *value, size_t size);
int pk_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int pk_lremovexattr(const char *path, const char *name);

/// syncfs(2): writes out everything the filesystem holding `fd` has in memory (a GNU extension).
int pk_syncfs(int fd);

/// pipe2(O_CLOEXEC): both ends close-on-exec, created atomically.
int pk_pipe_cloexec(int fds[2]);

/// accept4(SOCK_CLOEXEC | SOCK_NONBLOCK).
int pk_accept_nonblocking(int listener);

/// Allocates a pseudo-terminal pair sized rows x cols. On success *master and *slave hold close-on-exec
/// descriptors (the master is also non-blocking) and the slave is not our controlling terminal.
int pk_open_pty(int *master, int *slave, unsigned short rows, unsigned short cols);

/// TIOCSWINSZ on a terminal descriptor (the kernel then sends SIGWINCH to the foreground group).
int pk_set_window_size(int fd, unsigned short rows, unsigned short cols);

/// Sets the filesystem uid and gid (setfsgid, then setfsuid) so later path operations are checked,
/// and files created owned, as that identity. Returns -1 with errno EPERM if the kernel refused.
int pk_set_fs_identity(uid_t uid, gid_t gid);

/// Which step of starting a child failed (reported back to the parent with the errno).
enum pk_spawn_stage {
    PK_SPAWN_STAGE_SETUP = 1,     // setsid, controlling tty, dup2
    PK_SPAWN_STAGE_CHDIR = 2,
    PK_SPAWN_STAGE_IDENTITY = 3,  // setgroups, setgid, capability bounding set, setuid
    PK_SPAWN_STAGE_EXEC = 4,
};

/// Everything the child needs, prepared by the parent so the child only makes async-signal-safe calls.
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// The pty slave to make the controlling terminal, or -1.
    int tty_fd;
    /// When non-zero and running as root, switch to uid/gid (dropping groups and capabilities).
    int change_identity;
    uid_t uid;
    gid_t gid;
} pk_spawn_request;

/// Forks and execs `req` in a new session. Returns the child's pid. If the child fails before exec
/// completes, the child is reaped, -1 is returned, errno holds the child's errno and *failed_stage
/// the step that failed (0 when fork itself failed).
pid_t pk_spawn(const pk_spawn_request *req, int *failed_stage);

/// copy_file_range(2) from the current offsets of both descriptors: the kernel moves the bytes (sharing
/// extents where the filesystem can). A GNU extension, so Swift's Glibc module does not expose it.
ssize_t pk_copy_file_range(int in_fd, int out_fd, size_t length);

// Sets the ext2/3/4 "top of directory hierarchy" flag (chattr +T) on a directory: the allocator spreads its
// subdirectories over block groups like top-level ones. Fails (EOPNOTSUPP, ENOTTY) elsewhere.
int pk_mark_top_directory(int fd);

// Creates `path` (O_CREAT | O_EXCL) opened for writing with O_DIRECT, which Swift's Glibc module does not
// export: whether a filesystem takes direct I/O is known only by trying. A descriptor, or -1 with errno.
int pk_create_direct(const char *path);

// Attaches a read-only copy of the directory `source` at `target`, its ids mapped through the user namespace
// at `userns_path` (an idmapped mount: open_tree, mount_setattr, move_mount). 0, or -1 with errno.
int pk_mount_idmapped(const char *source, const char *userns_path, const char *target);

// ---- per-session disks: a sparse ext4 image on a loop device ----

/// Binds a free loop device to `backing_fd` with LOOP_CONFIGURE, autoclear (the device detaches when its last
/// user, the mount, goes) and, when `direct_io` is set, direct I/O (no second copy of every page in the host's
/// cache). Another process may take the same free device between the two ioctls: that is retried. Returns an
/// open descriptor of the loop device (close it once mounted) and stores its number in *number; -1 and errno.
int pk_loop_attach(int backing_fd, int direct_io, int *number);

/// LOOP_SET_CAPACITY: the loop device takes the new size of its (grown) backing file.
int pk_loop_set_capacity(int loop_fd);

/// EXT4_IOC_RESIZE_FS on a descriptor inside a mounted ext4 filesystem: grows it, online, to `blocks`.
int pk_ext4_resize(int fd, unsigned long long blocks);

/// fallocate(2) mode 0: reserves blocks without writing them (a GNU extension Swift's Glibc lacks).
int pk_fallocate(int fd, long long offset, long long length);

/// fgetxattr(2)/fsetxattr(2): overlay marks opaque directories with an extended attribute, and Swift's Glibc
/// module does not include <sys/xattr.h>.
ssize_t pk_fgetxattr(int fd, const char *name, void *value, size_t size);
int pk_fsetxattr(int fd, const char *name, const void *value, size_t size);

// ---- exec guardrail: seccomp user notification (host side) ----

#include <stdint.h>

/// One pending seccomp user notification, flattened so Swift need not know `struct seccomp_notif`.
typedef struct {
    uint64_t id;
    uint32_t pid;
    int32_t nr;
    uint32_t arch;
    uint64_t args[6];
} pk_seccomp_notification;

/// SECCOMP_IOCTL_NOTIF_RECV: takes the next pending notification from a notify fd.
int pk_seccomp_notif_recv(int fd, pk_seccomp_notification *out);

/// SECCOMP_IOCTL_NOTIF_ID_VALID: 0 while the notifying thread still waits in that same syscall.
int pk_seccomp_notif_id_valid(int fd, uint64_t id);

/// SECCOMP_IOCTL_NOTIF_SEND: `allow` non-zero lets the syscall run (SECCOMP_USER_NOTIF_FLAG_CONTINUE),
/// otherwise it fails with `error` (a positive errno such as EPERM).
int pk_seccomp_notif_respond(int fd, uint64_t id, int allow, int error);

/// The syscall numbers of execve and execveat on this architecture.
int pk_sys_execve(void);
int pk_sys_execveat(void);

/// Receives up to `len` bytes from a unix stream socket and, if one came with them, a descriptor passed with
/// SCM_RIGHTS (close-on-exec) into *fd (else -1). Returns the byte count (0 at end of stream).
ssize_t pk_recv_with_fd(int sock, void *buf, size_t len, int *fd);

/// Sends `len` bytes over a unix stream socket with descriptor `fd` attached (SCM_RIGHTS). Returns the byte
/// count sent, or -1 with errno.
ssize_t pk_send_with_fd(int sock, const void *buf, size_t len, int fd);

/// epoll is not in Swift's Glibc module: a close-on-exec epoll instance.
int pk_epoll_create(void);
/// Watches `fd` for input (level-triggered; hang-ups and errors are always reported).
int pk_epoll_add(int epoll, int fd);
int pk_epoll_remove(int epoll, int fd);

/// What `pk_epoll_wait` reports per descriptor.
#define PK_EPOLL_IN 1
#define PK_EPOLL_HANGUP 2

/// Waits up to `timeout_ms` (-1: forever) for up to `max` ready descriptors; fills fds[i] and events[i]
/// (PK_EPOLL_* bits) and returns the count.
int pk_epoll_wait(int epoll, int *fds, int *events, int max, int timeout_ms);

/// openat2 with RESOLVE_IN_ROOT: resolves `path` (symlinks and `..` included) as if `root` were `/`.
int pk_open_in_root(int root, const char *path, int flags);

/// pidfd_open(2): a file descriptor that turns readable when process `pid` exits; -1 with errno otherwise.
int paddock_pidfd_open(int pid);

#endif
