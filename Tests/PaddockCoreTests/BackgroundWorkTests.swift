import PaddockCore
import Synchronization
import Testing

/// The owner of the server's long-running work: jobs run under `run()`, and its cancellation (the server's
/// shutdown) ends every one of them before `run()` returns.
@Suite struct BackgroundWorkTests {
    @Test func jobsStartedBeforeTheOwnerRunsRunOnceItDoes() async {
        let work = BackgroundWork()
        let ran = Mutex(0)
        let first = work.start("first") { ran.withLock { $0 += 1 } }
        let second = work.start("second") { ran.withLock { $0 += 1 } }
        #expect(!first.isDone && !second.isDone)
        let owner = Task { await work.run() }
        await first.ended()
        await second.ended()
        #expect(ran.withLock { $0 } == 2)
        owner.cancel()
        await owner.value
    }

    @Test func stoppingTheOwnerCancelsItsJobsAndWaitsForThem() async {
        let work = BackgroundWork()
        let sawCancellation = Mutex(false)
        let owner = Task { await work.run() }
        let started = AsyncStream<Void>.makeStream()
        let job = work.start("forever") {
            started.continuation.yield()
            // Ends only by cancellation.
            do { try await Task.sleep(for: .seconds(3600)) } catch { sawCancellation.withLock { $0 = true } }
        }
        var iterator = started.stream.makeAsyncIterator()
        await iterator.next()
        owner.cancel()
        await owner.value
        // `run()` returned, so the job had ended, and it ended by being cancelled.
        #expect(job.isDone)
        #expect(sawCancellation.withLock { $0 })
    }

    @Test func workStartedAfterTheOwnerStoppedNeverRuns() async {
        let work = BackgroundWork()
        let owner = Task { await work.run() }
        owner.cancel()
        await owner.value
        let ran = Mutex(false)
        let late = work.start("late") { ran.withLock { $0 = true } }
        await late.ended()
        #expect(late.isDone && !ran.withLock { $0 })
    }

    @Test func aWaiterThatIsCancelledStopsWaitingAndTheJobGoesOn() async {
        let work = BackgroundWork()
        let owner = Task { await work.run() }
        let release = AsyncStream<Void>.makeStream()
        let job = work.start("held") {
            for await _ in release.stream { break }
        }
        let waiter = Task { await job.ended() }
        waiter.cancel()
        await waiter.value
        #expect(!job.isDone)
        release.continuation.yield()
        await job.ended()
        #expect(job.isDone)
        owner.cancel()
        await owner.value
    }
}
