import Foundation
import PaddockCore
import Testing

struct RunTests {
    @Test(arguments: [
        ("claude-sonnet-4-5-20250929", 3.0, 15.0), ("claude-opus-4-1", 15, 75), ("claude-opus-4-5", 5, 25),
        ("claude-haiku-4-5", 1, 5), ("gpt-unknown", 3, 15), ("claude-3-5-haiku-latest", 0.8, 4),
    ])
    func pricesMatchTheLongestModelPrefix(model: String, input: Double, output: Double) {
        let price = PriceTable.default.price(for: model)
        #expect(price.input == input && price.output == output)
    }

    @Test func costCountsEveryKindOfToken() throws {
        let usage = TokenUsage(input: 1_000_000, output: 100_000, cacheRead: 2_000_000, cacheWrite: 400_000)
        // 3 + 1.5 + 0.6 + 1.5
        #expect(abs(PriceTable.default.cost(of: usage, model: "claude-sonnet-4-5") - 6.6) < 1e-9)
        let custom = try PriceTable.Price(parsing: "2, 10, 0.5, 4")
        #expect(custom.cacheRead == 0.5 && custom.cacheWrite == 4)
        #expect(throws: PaddockError.self) { try PriceTable.Price(parsing: "2") }
        #expect(throws: PaddockError.self) { try PriceTable.Price(parsing: "-1,2") }
    }

    @Test func limitsSayWhichOneWasCrossed() {
        let limits = RunLimits(maxCostUSD: 1, maxTokens: 1000)
        #expect(limits.exceeded(usage: TokenUsage(input: 900), costUSD: 0.5) == nil)
        #expect(
            limits.exceeded(usage: TokenUsage(input: 900, output: 200), costUSD: 0.5)?.contains("1100 tokens") == true)
        #expect(limits.exceeded(usage: TokenUsage(input: 10), costUSD: 1.25)?.contains("$1.25") == true)
    }

    @Test func statusesAndIDs() throws {
        #expect(
            Run.Status.allCases.filter(\.isFinished) == [.completed, .failed, .timedOut, .cancelled, .budgetExceeded])
        #expect(Run.Status.awaitingApproval.rawValue == "awaiting_approval")
        #expect(Run.Status.budgetExceeded.rawValue == "budget_exceeded")
        let id = Run.makeID()
        #expect(id.hasPrefix("run_") && id.count == 20)
        let decoded = try JSONDecoder().decode(Run.Status.self, from: Data(#""timed_out""#.utf8))
        #expect(decoded == .timedOut)
    }
}
