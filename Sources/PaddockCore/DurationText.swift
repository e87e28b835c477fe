/// Parses and prints durations such as `30s`, `10m`, `1h30m`, `250ms`, `2d`.
public enum DurationText {
    /// The longest duration any field accepts: 100 years. Every deadline computed from one stays a date a
    /// store, a JSON encoder and a client can all read back.
    public static let maximum = Duration.seconds(InputLimits.maxDurationSeconds)

    private static let unitMilliseconds: [String: Double] = [
        "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
    ]

    /// A duration of at least zero and at most `maximum`. Only decimal digits, one optional `.` per number, and
    /// the units `ms`, `s`, `m`, `h`, `d`: no sign, exponent, `nan` or `inf`, so every accepted text is a finite
    /// value that converts without overflow.
    public static func parse(_ text: String) throws(PaddockError) -> Duration {
        let s = text.trimmingWhitespace().lowercased()
        let example = "write something like 500ms, 30s, 10m, 1h30m or 2d"
        guard !s.isEmpty else {
            throw .invalidArgument("empty duration; write a number with a unit, such as 30s or 10m")
        }
        guard s.utf8.count <= 64 else {
            throw .invalidArgument("'\(text.prefix(32))…' is too long to be a duration; \(example)")
        }
        var totalMilliseconds: Double = 0
        var bytes = s.utf8[...]
        while !bytes.isEmpty {
            let digits = bytes.prefix {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
            }
            bytes = bytes.dropFirst(digits.count)
            let unitBytes = bytes.prefix { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
            bytes = bytes.dropFirst(unitBytes.count)
            let number = String(decoding: digits, as: UTF8.self)
            let unit = String(decoding: unitBytes, as: UTF8.self)
            // A bare number is seconds, as most CLIs treat it; only as the whole text (`10m5` is a typo).
            let factor = unit.isEmpty && bytes.isEmpty && totalMilliseconds == 0 ? 1000 : unitMilliseconds[unit]
            guard !digits.isEmpty, digits.filter({ $0 == UInt8(ascii: ".") }).count <= 1,
                let value = Double(number), value.isFinite, let factor
            else {
                if unit.isEmpty, !digits.isEmpty, bytes.isEmpty {
                    throw .invalidArgument("'\(text)' ends without a unit; write something like 30s or 10m")
                }
                throw .invalidArgument("'\(text)' is not a duration; \(example)")
            }
            totalMilliseconds += value * factor
            guard totalMilliseconds <= Double(InputLimits.maxDurationSeconds) * 1000 else {
                throw .invalidArgument(
                    "'\(text)' is longer than the maximum of \(format(maximum)) (100 years); write a shorter duration")
            }
        }
        return .milliseconds(Int64(totalMilliseconds.rounded()))
    }

    public static func format(_ d: Duration) -> String {
        let ms = d.milliseconds
        if ms % 1000 != 0 { return "\(ms)ms" }
        var s = ms / 1000
        var out = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where s >= size {
            out += "\(s / size)\(unit)"
            s %= size
        }
        if s > 0 || out.isEmpty { out += "\(s)s" }
        return out
    }
}

extension Duration {
    /// Whole milliseconds, rounded down; saturates at `Int64.min`/`Int64.max` for durations beyond them
    /// (about 292 million years), so no duration traps here.
    public var milliseconds: Int64 {
        let (s, atto) = components
        let (scaled, overflow) = s.multipliedReportingOverflow(by: 1000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, overflowSum) = scaled.addingReportingOverflow(atto / 1_000_000_000_000_000)
        if overflowSum { return s < 0 ? .min : .max }
        return sum
    }
    public var seconds: Double { Double(milliseconds) / 1000 }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
