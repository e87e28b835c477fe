/// Parses and prints durations such as `30s`, `10m`, `1h30m`, `250ms`, `2d`.
public enum DurationText {
    public static func parse(_ text: String) throws(PaddockError) -> Duration {
        let s = text.trimmingWhitespace().lowercased()
        guard !s.isEmpty else {
            throw .invalidArgument("empty duration; write a number with a unit, such as 30s or 10m")
        }
        if let plain = Double(s) {
            // A bare number is seconds, as most CLIs treat it.
            return .milliseconds(Int64((plain * 1000).rounded()))
        }
        var total: Double = 0
        var number = ""
        var index = s.startIndex
        while index < s.endIndex {
            let ch = s[index]
            if ch.isNumber || ch == "." {
                number.append(ch)
                index = s.index(after: index)
                continue
            }
            var unit = ""
            while index < s.endIndex, s[index].isLetter {
                unit.append(s[index])
                index = s.index(after: index)
            }
            let seconds: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400]
            guard let value = Double(number), let factor = seconds[unit] else {
                throw .invalidArgument(
                    "'\(text)' is not a duration; write something like 500ms, 30s, 10m, 1h30m or 2d")
            }
            total += value * factor
            number = ""
        }
        guard number.isEmpty else {
            throw .invalidArgument("'\(text)' ends without a unit; write something like 30s or 10m")
        }
        return .milliseconds(Int64((total * 1000).rounded()))
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
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
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
