import Testing

@testable import PaddockCore

struct SessionStateTests {
    @Test(arguments: [
        (SessionState.creating, SessionState.Event.started, SessionState.running),
        (.creating, .startFailed, .failed),
        (.running, .pause, .paused),
        (.paused, .resume, .running),
        (.running, .destroy, .destroying),
        (.paused, .destroy, .destroying),
        (.creating, .destroy, .destroying),
        (.failed, .destroy, .destroying),
        (.destroying, .teardownFinished, .destroyed),
        (.running, .lost, .failed),
    ])
    func allowedTransitions(from: SessionState, event: SessionState.Event, to: SessionState) throws {
        #expect(try from.next(on: event) == to)
    }

    @Test(arguments: [
        (SessionState.running, SessionState.Event.resume, PaddockError.Code.conflict),
        (.paused, .pause, .conflict),
        (.destroyed, .destroy, .notFound),
        (.destroyed, .resume, .notFound),
        (.running, .started, .conflict),
        (.failed, .started, .conflict),
    ])
    func refusedTransitions(from: SessionState, event: SessionState.Event, code: PaddockError.Code) {
        #expect {
            try from.next(on: event)
        } throws: { error in
            (error as? PaddockError)?.code == code
        }
    }

    @Test func everyStateAndEventIsDecided() {
        // The transition function is total: every pair either moves or explains why not.
        for state in SessionState.allCases {
            for event in SessionState.Event.allCases {
                do { _ = try state.next(on: event) } catch { #expect(!error.message.isEmpty) }
            }
        }
    }

    @Test func terminalStatesHoldNoResources() {
        for state in SessionState.allCases {
            #expect(state.holdsResources == !state.isTerminal)
        }
    }
}
