import PaddockCore
import Testing

@testable import PaddockCLI

/// `paddock runs list` and `paddock usage` show the gateway's metered cost beside the agent's, marked when the two
/// disagree (more than a cent and 5 %): an agent that under-reports, or calls the gateway could not read.
struct UsageColumnsTests {
    @Test(arguments: [
        (reported: 0.50, metered: 0.50, calls: 3, marked: false),
        (reported: 0.50, metered: 0.52, calls: 3, marked: false),
        (reported: 0.10, metered: 0.50, calls: 3, marked: true),
        (reported: 0.50, metered: 0.0, calls: 2, marked: true),
        (reported: 0.50, metered: 0.0, calls: 0, marked: false),
    ])
    func theMeteredColumnIsMarkedWhenTheFiguresDisagree(
        reported: Double, metered: Double, calls: Int, marked: Bool
    ) {
        let usage = MeteredUsage(calls: calls, costUSD: metered)
        #expect(UsageCommand.differs(usage, reported) == marked)
        let column = UsageCommand.metered(usage, reported)
        #expect(column.hasPrefix("$" + RunLimits.dollars(metered)))
        #expect(column.contains("!") == marked, "\(column)")
        #expect(UsageCommand.metered(nil, reported).trimmingCharacters(in: .whitespaces) == "-")
    }
}
