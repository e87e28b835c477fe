/// Where the work of one client connection prefers to run. A proxy that serves a connection on its socket's event
/// loop (a task executor) sets it, so that a connection it opens to a sandbox port is put on the same loop, with
/// its reader: the bytes of a request and its answer then pass between the two sockets on one thread, with no
/// hand-over between threads, which on a busy host costs more than the rest of the request.
public enum ConnectionAffinity {
    @TaskLocal public static var executor: (any TaskExecutor)?
}
