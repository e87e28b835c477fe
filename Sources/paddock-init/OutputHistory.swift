import PaddockInitProtocol

/// Which output stream bytes came from.
enum OutputStream {
    case stdout, stderr

    func message(_ bytes: [UInt8]) -> WireMessage {
        switch self {
        case .stdout: .stdout(bytes)
        case .stderr: .stderr(bytes)
        }
    }
}

/// The most recent output of a detached process, bounded in bytes, so a client that attaches later sees
/// what it missed. The oldest bytes are dropped first.
struct OutputHistory {
    private(set) var chunks: [(stream: OutputStream, bytes: [UInt8])] = []
    private var head = 0
    private(set) var byteCount = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The retained chunks, oldest first.
    var retained: ArraySlice<(stream: OutputStream, bytes: [UInt8])> { chunks[head...] }

    mutating func record(_ stream: OutputStream, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        // Coalesce small writes (a shell echoing keystrokes) so the chunk count stays small.
        if let last = chunks.indices.last, last >= head, chunks[last].stream == stream,
            chunks[last].bytes.count + bytes.count <= wireChunkSize
        {
            chunks[last].bytes.append(contentsOf: bytes)
        } else {
            chunks.append((stream, bytes))
        }
        byteCount += bytes.count
        while byteCount > limit, head < chunks.count {
            let excess = byteCount - limit
            let oldest = chunks[head].bytes.count
            if oldest <= excess {
                byteCount -= oldest
                chunks[head].bytes = []
                head += 1
            } else {
                chunks[head].bytes.removeFirst(excess)
                byteCount -= excess
            }
        }
        if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}
