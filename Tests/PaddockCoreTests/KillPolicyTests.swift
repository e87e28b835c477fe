import Testing

@testable import PaddockCore

/// The kill policy asks, waits, then kills, in that order, and never signals what is already gone.
struct KillPolicyTests {
    /// A stand-in for processes: records the signals it gets and ends on the ones it honours (after `stubborn`
    /// kills, like a child forked while the first kill went out).
    actor Target {
        var signals: [Int32] = []
        let honours: Set<Int32>
        var stubborn: Int
        var gone: Bool

        init(honours: Set<Int32>, stubborn: Int = 0, gone: Bool = false) {
            self.honours = honours
            self.stubborn = stubborn
            self.gone = gone
        }

        func signal(_ number: Int32) {
            precondition(!gone, "a target that is gone must not be signalled")
            signals.append(number)
            guard honours.contains(number) else { return }
            if stubborn > 0 { stubborn -= 1 } else { gone = true }
        }
    }

    static func enforce(_ policy: KillPolicy, on target: Target) async -> KillPolicy.Outcome {
        await policy.enforce(signal: { await target.signal($0) }, isGone: { await target.gone })
    }

    @Test func whatIsAlreadyGoneGetsNoSignal() async {
        let target = Target(honours: [], gone: true)
        #expect(await Self.enforce(.graceful, on: target) == .alreadyGone)
        #expect(await target.signals == [])
    }

    @Test func aTargetThatStopsWhenAskedIsNotKilled() async {
        let target = Target(honours: [KillPolicy.terminateSignal])
        #expect(await Self.enforce(.graceful, on: target) == .stopped)
        #expect(await target.signals == [KillPolicy.terminateSignal])
    }

    @Test func aTargetThatIgnoresTheRequestIsKilledWhenTheGraceEnds() async {
        let target = Target(honours: [KillPolicy.killSignal])
        let policy = KillPolicy(grace: .milliseconds(30), killWait: .seconds(30))
        #expect(await Self.enforce(policy, on: target) == .killed)
        #expect(await target.signals == [KillPolicy.terminateSignal, KillPolicy.killSignal])
    }

    @Test func noGraceMeansTheKillAtOnce() async {
        let target = Target(honours: [KillPolicy.killSignal])
        #expect(await Self.enforce(.immediate, on: target) == .killed)
        #expect(await target.signals == [KillPolicy.killSignal])
    }

    @Test func theKillIsSentAgainUntilNothingIsLeft() async {
        let target = Target(honours: [KillPolicy.killSignal], stubborn: 2)
        #expect(await Self.enforce(KillPolicy(grace: .zero, killWait: .seconds(600)), on: target) == .killed)
        #expect(await target.signals == Array(repeating: KillPolicy.killSignal, count: 3))
    }

    @Test func aTargetStillThereWhenTheWaitEndsSurvives() async {
        let target = Target(honours: [])
        #expect(await Self.enforce(KillPolicy(grace: .zero, killWait: .zero), on: target) == .survived)
        #expect(await target.signals == [KillPolicy.killSignal])
    }

    @Test func negativeDurationsCountAsZero() {
        let policy = KillPolicy(grace: .seconds(-1), killWait: .seconds(-1))
        #expect(policy.grace == .zero && policy.killWait == .zero)
    }

    @Test func aCancelledCallerSkipsTheGraceAndDoesNotWait() async {
        let target = Target(honours: [])
        let outcome = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await Self.enforce(KillPolicy(grace: .seconds(3600), killWait: .seconds(3600)), on: target)
        }.value
        #expect(outcome == .survived)
        #expect(await target.signals == [KillPolicy.killSignal])
    }
}
