/// Splits a byte stream into lines as it arrives: feed it chunks, take the complete lines, and it keeps the
/// unfinished rest for the next chunk. Newlines (`\n`) are not part of the lines; a `\r` before one is kept.
///
/// A line never holds more than `maxLineLength` bytes, because the stream's other end decides what it sends:
/// a longer one is handed over cut at the limit, marked `truncated`, as soon as it passes the limit, and the
/// rest of it (up to its newline) is dropped. So a peer that never sends a newline cannot grow the buffer.
public struct LineSplitter: Sendable {
    /// One line of the stream, without its newline.
    public struct Line: Sendable, Hashable {
        public var bytes: [UInt8]
        /// The line was longer than the splitter's limit: `bytes` is its beginning only.
        public var truncated: Bool

        public init(_ bytes: [UInt8], truncated: Bool = false) {
            self.bytes = bytes
            self.truncated = truncated
        }

        /// The line as text (invalid UTF-8 is replaced, never refused).
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    public static let newline = UInt8(ascii: "\n")

    public let maxLineLength: Int
    /// The unfinished line so far (never longer than `maxLineLength`).
    private var pending: [UInt8] = []
    /// Inside a line that was already handed over truncated: its bytes are dropped until its newline.
    private var discarding = false

    /// `maxLineLength` below 1 counts as 1.
    public init(maxLineLength: Int) {
        self.maxLineLength = max(1, maxLineLength)
    }

    /// Bytes held for a line that has not ended yet.
    public var pendingCount: Int { pending.count }

    /// The lines `chunk` completes, in order. Scans only the new bytes, so a long line arriving in many small
    /// chunks costs linear time.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [Line] {
        var lines: [Line] = []
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: Self.newline) {
            let segment = chunk[start..<newline]
            start = chunk.index(after: newline)
            if discarding {
                discarding = false
                continue
            }
            if pending.count + segment.count > maxLineLength {
                pending.append(contentsOf: segment.prefix(maxLineLength - pending.count))
                lines.append(Line(take(), truncated: true))
            } else {
                pending.append(contentsOf: segment)
                lines.append(Line(take()))
            }
        }
        guard !discarding else { return lines }
        let rest = chunk[start...]
        if pending.count + rest.count > maxLineLength {
            pending.append(contentsOf: rest.prefix(maxLineLength - pending.count))
            lines.append(Line(take(), truncated: true))
            discarding = true
        } else {
            pending.append(contentsOf: rest)
        }
        return lines
    }

    /// Ends the stream: the last line when it had no newline (nil when there is none), and a fresh start.
    public mutating func finish() -> Line? {
        defer { discarding = false }
        guard !discarding, !pending.isEmpty else { return nil }
        return Line(take())
    }

    private mutating func take() -> [UInt8] {
        defer { pending = [] }
        return pending
    }
}
