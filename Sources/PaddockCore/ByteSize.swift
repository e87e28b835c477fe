/// A size in bytes, parsed from text such as `512MiB`, `1GiB`, `100M`, `4096`.
///
/// Binary (`KiB`, `MiB`, `GiB`, `TiB`) and decimal (`KB`, `MB`, `GB`, `TB`) suffixes are both accepted; a bare
/// `K`/`M`/`G`/`T` is binary, as in `docker --memory 512m`.
public struct ByteSize: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }
    public static func mebibytes(_ n: UInt64) -> ByteSize { ByteSize(bytes: n << 20) }
    public static func gibibytes(_ n: UInt64) -> ByteSize { ByteSize(bytes: n << 30) }

    public init(parsing text: String) throws(PaddockError) {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace().lowercased()
        guard let value = Double(digits), value.isFinite, value >= 0 else {
            throw .invalidArgument("'\(text)' is not a size; write a number with a unit, such as 512MiB or 2GiB")
        }
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1024, "ki": 1024, "kib": 1024, "kb": 1000,
            "m": 1_048_576, "mi": 1_048_576, "mib": 1_048_576, "mb": 1e6,
            "g": 1_073_741_824, "gi": 1_073_741_824, "gib": 1_073_741_824, "gb": 1e9,
            "t": 1_099_511_627_776, "ti": 1_099_511_627_776, "tib": 1_099_511_627_776, "tb": 1e12,
        ]
        guard let m = multipliers[unit] else {
            throw .invalidArgument(
                "'\(text)' has an unknown unit '\(unit)'; use B, KiB, MiB, GiB or TiB (or KB, MB, GB, TB)")
        }
        let total = value * m
        // Below 2^64 with room for rounding, so the conversion cannot trap.
        guard total.isFinite, total < 1.8e19 else {
            throw .invalidArgument("'\(text)' is too large to be a size; write something like 512MiB, 4GiB or 1TiB")
        }
        bytes = UInt64(total.rounded())
    }

    public var description: String {
        let units: [(String, UInt64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (name, size) in units where bytes >= size && bytes % size == 0 { return "\(bytes / size)\(name)" }
        return "\(bytes)B"
    }

    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(UInt64.self) {
            bytes = n
        } else {
            bytes = try ByteSize(parsing: try c.decode(String.self)).bytes
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(bytes)
    }
}
