import PaddockCore
import Testing

/// `finishes(_:within:)` answers at the first of the task and the limit, and never waits on a task past the limit
/// (a preview's holding page depends on it: the wake runs on while the browser is answered).
@Suite struct FinishesWithinTests {
    @Test func aFinishedTaskIsSeenAsFinished() async {
        let quick = Task<Int, any Error> { 42 }
        #expect(await finishes(quick, within: .seconds(600)))
    }

    @Test(.timeLimit(.minutes(1))) func aTaskThatRunsOnIsNotWaitedFor() async throws {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        // Ends only when the stream does, which is after the answer below: waiting on it would never return.
        let slow = Task<Int, any Error> {
            for await _ in stream {}
            return 7
        }
        #expect(await finishes(slow, within: .milliseconds(20)) == false)
        continuation.finish()
        #expect(try await slow.value == 7)
    }
}
