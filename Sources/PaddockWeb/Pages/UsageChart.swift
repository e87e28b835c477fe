import Foundation
import PaddockCore

/// Agent spending per day over recent weeks, one row of daily bars per team or project, laid out on the
/// server as SVG: the page needs no script to draw it, and every row shares one scale so rows compare.
struct UsageChart: Sendable {
    struct Row: Sendable {
        var label: String
        var total: String
        var textY: Int
        /// Where the row's bars stand: days without use show as the bare line.
        var baseline: Int
        var bars: [Column]
    }

    struct Column: Sendable {
        var x: Int
        var y: Int
        var height: Int
        /// The day and its amount, shown as the bar's tooltip and read by screen readers.
        var title: String
    }

    var rows: [Row]
    var hasRows: Bool
    var height: Int
    var from: String
    var to: String

    static let rowHeight = 40
    static let barArea = (left: 130, width: 300, height: 30)

    /// `runs` grouped by `key`, one bar per UTC day from `days` days before `until` to `until`. Bars measure
    /// dollars; when no run had a price (a server without a price table), they measure runs instead.
    init(runs: [Run], days: Int, until: Date, key: (Run) -> String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let last = calendar.startOfDay(for: until)
        let first = calendar.date(byAdding: .day, value: -(days - 1), to: last) ?? last
        let byDollars = runs.contains { $0.costUSD > 0 }
        func amount(_ group: [Run]) -> Double { byDollars ? group.reduce(0) { $0 + $1.costUSD } : Double(group.count) }
        func text(_ value: Double) -> String {
            byDollars ? String(format: "$%.2f", value) : "\(Int(value)) run\(value == 1 ? "" : "s")"
        }
        let grouped = Dictionary(grouping: runs.filter { $0.createdAt >= first }, by: key)
        var daily: [String: [Double]] = [:]
        for (label, group) in grouped {
            var perDay = [Double](repeating: 0, count: days)
            for (day, runs) in Dictionary(grouping: group, by: { calendar.startOfDay(for: $0.createdAt) }) {
                let index = calendar.dateComponents([.day], from: first, to: day).day ?? -1
                if perDay.indices.contains(index) { perDay[index] = amount(runs) }
            }
            daily[label] = perDay
        }
        let most = daily.values.flatMap { $0 }.max() ?? 0
        let step = Self.barArea.width / max(1, days)
        let dayText = Self.dayFormatter
        rows = daily.keys.sorted().enumerated().map { index, label in
            let top = index * Self.rowHeight
            let bars = daily[label, default: []].enumerated().compactMap { day, value -> Column? in
                guard value > 0 else { return nil }
                let height = max(2, Int((value / most * Double(Self.barArea.height)).rounded()))
                let date = calendar.date(byAdding: .day, value: day, to: first) ?? first
                return Column(
                    x: Self.barArea.left + day * step, y: top + Self.barArea.height - height, height: height,
                    title: "\(dayText.string(from: date)): \(text(value))")
            }
            return Row(
                label: label, total: text(daily[label, default: []].reduce(0, +)), textY: top + 20,
                baseline: top + Self.barArea.height, bars: bars)
        }
        hasRows = !rows.isEmpty
        height = max(1, rows.count) * Self.rowHeight
        from = dayText.string(from: first)
        to = dayText.string(from: last)
    }

    private static var dayFormatter: DateFormatter {
        let f = DateFormatter()
        f.dateFormat = "MMM d"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        return f
    }
}
