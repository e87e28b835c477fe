import Foundation

/// Model prices in US dollars per million tokens, matched by model-name prefix (longest first). The default
/// table holds Anthropic's list prices; a server's config replaces or extends it (`--price MODEL=IN,OUT`).
public struct PriceTable: Sendable, Equatable, Codable {
    public struct Price: Sendable, Equatable, Codable {
        public var input: Double
        public var output: Double
        public var cacheRead: Double
        public var cacheWrite: Double

        public init(input: Double, output: Double, cacheRead: Double? = nil, cacheWrite: Double? = nil) {
            self.input = input
            self.output = output
            // Anthropic's ratios: cache reads cost a tenth of input, 5-minute cache writes 1.25×.
            self.cacheRead = cacheRead ?? input / 10
            self.cacheWrite = cacheWrite ?? input * 1.25
        }

        /// Parses `IN,OUT[,CACHE_READ,CACHE_WRITE]` (dollars per million tokens).
        public init(parsing text: String) throws(PaddockError) {
            let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2 || parts.count == 4, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw .invalidArgument(
                    "a price is IN,OUT or IN,OUT,CACHE_READ,CACHE_WRITE in dollars per million tokens, not '\(text)'")
            }
            let v = parts.map { $0 ?? 0 }
            self.init(
                input: v[0], output: v[1], cacheRead: v.count == 4 ? v[2] : nil, cacheWrite: v.count == 4 ? v[3] : nil)
        }

        public func cost(of usage: TokenUsage) -> Double {
            (Double(usage.input) * input + Double(usage.output) * output + Double(usage.cacheRead) * cacheRead
                + Double(usage.cacheWrite) * cacheWrite) / 1_000_000
        }
    }

    /// Prefix → price.
    public var prices: [String: Price]
    /// For models no prefix matches.
    public var fallback: Price

    public init(prices: [String: Price], fallback: Price) {
        self.prices = prices
        self.fallback = fallback
    }

    /// List prices per million tokens (input, output): Opus 4.x $15/$75 (Opus 4.5 and later $5/$25),
    /// Sonnet $3/$15, Haiku 4.5 $1/$5, Haiku 3.5 $0.80/$4. Unknown models are priced as Sonnet.
    public static let `default` = PriceTable(
        prices: [
            "claude-opus-4-5": Price(input: 5, output: 25), "claude-opus-4-6": Price(input: 5, output: 25),
            "claude-opus-4": Price(input: 15, output: 75), "claude-sonnet-4": Price(input: 3, output: 15),
            "claude-3-7-sonnet": Price(input: 3, output: 15), "claude-haiku-4": Price(input: 1, output: 5),
            "claude-3-5-haiku": Price(input: 0.8, output: 4),
        ],
        fallback: Price(input: 3, output: 15))

    public func price(for model: String?) -> Price {
        guard let model else { return fallback }
        let match = prices.keys.filter { model.hasPrefix($0) }.max { $0.count < $1.count }
        return match.flatMap { prices[$0] } ?? fallback
    }

    public func cost(of usage: TokenUsage, model: String?) -> Double { price(for: model).cost(of: usage) }
}
