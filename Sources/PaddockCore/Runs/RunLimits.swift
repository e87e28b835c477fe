/// What one run may use before it is stopped, and what a team may spend in a calendar month (UTC).
public struct RunLimits: Sendable, Equatable, Codable {
    /// US dollars per run.
    public var maxCostUSD: Double?
    /// Tokens of every kind per run.
    public var maxTokens: Int?
    /// Seconds per run; past it the run is `timed_out`.
    public var maxSeconds: Int?
    /// US dollars of model calls per session, all its runs together (metered at the gateway).
    public var maxSessionCostUSD: Double?

    public init(
        maxCostUSD: Double? = nil, maxTokens: Int? = nil, maxSeconds: Int? = nil, maxSessionCostUSD: Double? = nil
    ) {
        self.maxCostUSD = maxCostUSD
        self.maxTokens = maxTokens
        self.maxSeconds = maxSeconds
        self.maxSessionCostUSD = maxSessionCostUSD
    }

    /// Why a run with this usage and cost is over its limit, or nil.
    public func exceeded(usage: TokenUsage, costUSD: Double) -> String? {
        if let maxTokens, usage.total > maxTokens {
            return "the run used \(usage.total) tokens, over its limit of \(maxTokens)"
        }
        if let maxCostUSD, costUSD > maxCostUSD {
            return "the run cost $\(Self.dollars(costUSD)), over its limit of $\(Self.dollars(maxCostUSD))"
        }
        return nil
    }

    public static func dollars(_ value: Double) -> String {
        let cents = (value * 10000).rounded() / 10000
        return String(cents)
    }
}
