import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week), as crontab(5) reads it:
/// `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday names (`jan`, `mon`),
/// Sunday as 0 or 7. When both day fields are restricted a day matches if either does (Vixie cron's rule).
///
/// Parsed by hand: the package mirror has no cron library, and the grammar is small.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    public let daysOfWeek: Set<Int>
    let domRestricted: Bool
    let dowRestricted: Bool
    public let description: String

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(_ text: String) throws(PaddockError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw .invalidArgument(
                "cron expression '\(InputLimits.printable(text))' has \(fields.count) fields; write five: minute hour "
                    + "day-of-month month day-of-week, e.g. '0 9 * * 1-5' (09:00 on weekdays)")
        }
        minutes = try Self.field(fields[0], "minute", 0...59, names: [])
        hours = try Self.field(fields[1], "hour", 0...23, names: [])
        daysOfMonth = try Self.field(fields[2], "day of month", 1...31, names: [])
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames, nameBase: 1)
        let dow = try Self.field(fields[4], "day of week", 0...7, names: Self.dayNames)
        daysOfWeek = Set(dow.map { $0 % 7 })
        domRestricted = !fields[2].hasPrefix("*")
        dowRestricted = !fields[4].hasPrefix("*")
        description = fields.joined(separator: " ")
    }

    private static func field(
        _ text: String, _ what: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0
    ) throws(PaddockError) -> Set<Int> {
        func bad(_ why: String) -> PaddockError {
            .invalidArgument(
                "cron \(what) '\(InputLimits.printable(text))': \(why); use *, N, A-B, */N, A-B/N or a list A,B "
                    + "(\(what) is \(range.lowerBound)-\(range.upperBound))")
        }
        func number(_ s: Substring) throws(PaddockError) -> Int {
            if let i = names.firstIndex(of: s.lowercased()) { return i + nameBase }
            guard let n = Int(s), range.contains(n) else { throw bad("'\(s)' is not a \(what)") }
            return n
        }
        var out: Set<Int> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw bad("an empty list entry") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw bad("more than one '/'") }
            var step = 1
            if stepParts.count == 2 {
                guard let s = Int(stepParts[1]), s >= 1, s <= range.upperBound else { throw bad("a bad step") }
                step = s
            }
            let base = stepParts[0]
            var low: Int
            var high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try number(base[..<dash])
                high = try number(base[base.index(after: dash)...])
                guard low <= high else { throw bad("a range that runs backwards") }
            } else {
                low = try number(base)
                // `5/15` means 5, 20, 35, 50 (as in Vixie cron).
                high = stepParts.count == 2 ? range.upperBound : low
            }
            out.formUnion(stride(from: low, through: high, by: step))
        }
        return out
    }

    /// Whether the day (in the schedule's calendar) is one the expression runs on.
    func matchesDay(dayOfMonth: Int, month: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let dom = daysOfMonth.contains(dayOfMonth)
        let dow = daysOfWeek.contains(weekday)
        if domRestricted && dowRestricted { return dom || dow }
        return dom && dow
    }

    /// The first tick strictly after `date`, in `zone`; nil if none comes within eight years (31 February).
    /// A time that a daylight-saving change skips does not occur that day; one that occurs twice fires once.
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // The first whole minute after `date`.
        let floor = (date.timeIntervalSinceReferenceDate / 60).rounded(.down) * 60
        let start = Date(timeIntervalSinceReferenceDate: floor + 60)
        guard var day = calendar.date(from: calendar.dateComponents([.year, .month, .day], from: start)) else {
            return nil
        }
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        for _ in 0..<(366 * 8) {
            let c = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let dom = c.day, let month = c.month, let weekday = c.weekday,
                matchesDay(dayOfMonth: dom, month: month, weekday: weekday - 1)
            {
                for hour in sortedHours {
                    for minute in sortedMinutes {
                        var want = DateComponents()
                        (want.year, want.month, want.day, want.hour, want.minute) = (c.year, month, dom, hour, minute)
                        guard let tick = calendar.date(from: want), tick >= start else { continue }
                        // A skipped local time (spring forward) comes back shifted: it is not a tick that day.
                        let got = calendar.dateComponents([.day, .hour, .minute], from: tick)
                        guard got.day == dom, got.hour == hour, got.minute == minute else { continue }
                        return tick
                    }
                }
            }
            guard let following = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = following
        }
        return nil
    }
}
