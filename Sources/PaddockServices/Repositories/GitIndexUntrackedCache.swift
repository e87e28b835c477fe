import Crypto
import Foundation
import PaddockCore

/// Moves the untracked cache of a git index (its `UNTR` extension) from the worktree where it was made to the path
/// the worktree is seen at elsewhere.
///
/// Git keeps, in the index, which directories hold no untracked file; with an fsmonitor hook that says a directory
/// did not change, `git status` then reads no directory at all instead of every one of the repository's. But git
/// trusts that cache only on the worktree it was made on: it records "Location <worktree>, system <uname>" and
/// drops the cache when those differ. A layer is sealed on the host under a staging path and used in sandboxes at
/// `/workspace`, so the ident is rewritten: on the host before git works on the layer, to /workspace after.
///
/// Only the index formats git writes by default are touched (versions 2 and 3, SHA-1, one `UNTR` extension whose
/// ident is git's); anything else is left as it is and reported, which costs speed, never correctness: git then
/// reads the directories itself.
enum GitIndexUntrackedCache {
    /// The ident git records for a worktree on Linux.
    static func ident(worktree: String) -> String { "Location \(worktree), system Linux" }

    /// Rewrites the untracked cache's ident of the index at `path` to `worktree`'s, and makes it durable unless
    /// `durable` is false (an index git rewrites again before the layer is published). Returns false, changing
    /// nothing, when the index has no untracked cache or is in a form this does not read.
    ///
    /// Only the tail is written, in place: a layer's index has an entry per file, and everything before the
    /// `UNTR` extension stays as it is. That is safe because the index is the sealing layer's own file (git wrote
    /// it, or it was copied up or unshared from the base's), and nothing reads it before the layer is published.
    static func relocate(index path: String, to worktree: String, durable: Bool = true) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PaddockError.internal("cannot read the git index \(path)")
        }
        guard let tail = tail([UInt8](data), ident: ident(worktree: worktree)) else { return false }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PaddockError.internal("cannot open the git index \(path) (errno \(errno))") }
        defer { close(fd) }
        let written = tail.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(tail.offset)) }
        guard written == tail.bytes.count, ftruncate(fd, off_t(tail.offset + tail.bytes.count)) == 0,
            !durable || fsync(fd) == 0
        else { throw PaddockError.internal("rewriting the git index \(path) failed (errno \(errno))") }
        return true
    }

    /// The index `bytes` with its untracked cache's ident replaced by `ident`; nil when there is nothing to replace
    /// or the bytes are not an index this reads.
    static func rewrite(_ bytes: [UInt8], ident: String) -> [UInt8]? {
        tail(bytes, ident: ident).map { Array(bytes[0..<$0.offset]) + $0.bytes }
    }

    /// What changes in an index when its untracked cache's ident does: the extensions from `UNTR` on, at `offset`,
    /// and the checksum.
    struct Tail {
        var offset: Int
        var bytes: [UInt8]
    }

    static func tail(_ bytes: [UInt8], ident: String) -> Tail? {
        let hashLength = 20
        guard bytes.count >= 12 + hashLength, bytes[0..<4] == [0x44, 0x49, 0x52, 0x43] else { return nil }  // "DIRC"
        let end = bytes.count - hashLength
        let version = be32(bytes, 4)
        guard version == 2 || version == 3 else { return nil }
        guard var offset = endOfEntries(bytes, count: be32(bytes, 8), version: version, end: end) else { return nil }
        var untracked: Int?
        var tail: [UInt8] = []
        while offset + 8 <= end {
            let signature = bytes[offset..<(offset + 4)]
            let size = be32(bytes, offset + 4)
            let start = offset + 8
            guard start + size <= end else { return nil }
            if signature.elementsEqual("UNTR".utf8) {
                guard untracked == nil, let payload = replaceIdent(Array(bytes[start..<(start + size)]), with: ident)
                else { return nil }
                untracked = offset
                tail += signature
                tail += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: payload.count >> $0) }
                tail += payload
            } else if untracked != nil {
                tail += bytes[offset..<(start + size)]
            }
            offset = start + size
        }
        guard let untracked, offset == end else { return nil }
        // The checksum git wrote is checked, and the new one made, from one pass over what both share.
        var shared = Insecure.SHA1()
        shared.update(data: bytes[0..<untracked])
        var old = shared
        old.update(data: bytes[untracked..<end])
        guard old.finalize().elementsEqual(bytes[end...]) else { return nil }
        shared.update(data: tail)
        tail += shared.finalize()
        return Tail(offset: untracked, bytes: tail)
    }

    /// Where the entries end: each is 62 bytes of stat data, object id and flags (64 with v3's extended flags), the
    /// path (its length in the flags, or NUL-terminated when 0xFFF or more), and NUL padding to a multiple of 8.
    /// Read through a raw buffer: a layer's index has an entry per file of the repository.
    private static func endOfEntries(_ bytes: [UInt8], count: Int, version: Int, end: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            var offset = 12
            for _ in 0..<count {
                guard offset + 62 <= end else { return nil }
                let flags = Int(buffer[offset + 60]) << 8 | Int(buffer[offset + 61])
                let fixed = version == 3 && flags & 0x4000 != 0 ? 64 : 62
                var length = flags & 0xFFF
                if length == 0xFFF {
                    var index = offset + fixed
                    while index < end, buffer[index] != 0 { index += 1 }
                    length = index - offset - fixed
                }
                offset += (fixed + length + 8) & ~7
            }
            return offset <= end ? offset : nil
        }
    }

    /// The `UNTR` payload with another ident: it starts with the ident's length (git's varint), then the ident
    /// itself, NUL-terminated; the rest does not depend on where the worktree is.
    private static func replaceIdent(_ payload: [UInt8], with ident: String) -> [UInt8]? {
        guard let (length, start) = decodeVarint(payload, at: 0), start + length <= payload.count else { return nil }
        let old = payload[start..<(start + length)]
        guard old.last == 0, old.starts(with: "Location ".utf8) else { return nil }
        let new = Array(ident.utf8) + [0]
        return encodeVarint(new.count) + new + payload[(start + length)...]
    }

    /// Git's varint (varint.c): seven bits a byte, most significant first, each continuation adding one.
    static func decodeVarint(_ bytes: [UInt8], at offset: Int) -> (value: Int, end: Int)? {
        var index = offset
        guard index < bytes.count else { return nil }
        var byte = bytes[index]
        index += 1
        var value = Int(byte & 0x7F)
        while byte & 0x80 != 0 {
            guard index < bytes.count, value < 1 << 48 else { return nil }
            byte = bytes[index]
            index += 1
            value = ((value + 1) << 7) | Int(byte & 0x7F)
        }
        return (value, index)
    }

    static func encodeVarint(_ value: Int) -> [UInt8] {
        var value = value
        var out = [UInt8(value & 0x7F)]
        value >>= 7
        while value > 0 {
            value -= 1
            out.insert(0x80 | UInt8(value & 0x7F), at: 0)
            value >>= 7
        }
        return out
    }

    private static func be32(_ bytes: [UInt8], _ offset: Int) -> Int {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
}
