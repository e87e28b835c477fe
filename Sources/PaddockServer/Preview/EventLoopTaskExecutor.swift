import NIOCore

/// Runs a task's jobs on a NIO event loop. The preview proxy serves each browser connection with this as the task's
/// preferred executor: the socket's reads resume the task on the thread that read them, and its writes go out from
/// that thread at once, instead of every read and write crossing between the event loop and the cooperative pool.
/// The work done there is short and never blocks (head parsing, map look-ups, one signature a second); anything
/// slow in the path is `await`ed, which frees the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
