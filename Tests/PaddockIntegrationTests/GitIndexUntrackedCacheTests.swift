import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// A layer's untracked cache is made on the host and moved to where sandboxes see the worktree; real git must then
/// take it as its own (and it must refuse an index it was not moved for).
struct GitIndexUntrackedCacheTests {
    @Test(
        arguments: [
            (0, [0x00]), (127, [0x7F]), (128, [0x80, 0x00]), (255, [0x80, 0x7F]), (16511, [0xFF, 0x7F]),
            (16512, [0x80, 0x80, 0x00]),
        ] as [(Int, [UInt8])])
    func varintsAreGits(value: Int, bytes: [UInt8]) {
        #expect(GitIndexUntrackedCache.encodeVarint(value) == bytes)
        let decoded = GitIndexUntrackedCache.decodeVarint(bytes, at: 0)
        #expect(decoded?.value == value && decoded?.end == bytes.count)
    }

    @Test func anIndexThatIsNotOneIsLeftAlone() {
        #expect(GitIndexUntrackedCache.rewrite(Array("DIRC but not an index".utf8), ident: "x") == nil)
        #expect(GitIndexUntrackedCache.rewrite([], ident: "x") == nil)
    }

    /// The inode of the worktree's index: git replaces the file whenever it writes it.
    static func indexInode(_ worktree: String) -> UInt64 {
        var st = stat()
        return lstat("\(worktree)/.git/index", &st) == 0 ? UInt64(st.st_ino) : 0
    }

    /// Moved durably or not (a delta's first move is not synced: git rewrites the index after it).
    @Test(arguments: [(true, true), (true, false), (false, true)])
    func gitUsesAMovedCacheWhereItWasMovedTo(relocated: Bool, durable: Bool) throws {
        var files: [String: String] = [:]
        for i in 0..<50 { files["d\(i % 5)/long-name-to-make-the-path-longer-\(i).txt"] = "\(i)\n" }
        let fixture = try GitFixture.make("untracked-cache", files: files)
        defer { fixture.remove() }
        // A ctime changes when the worktree is renamed; sandboxes' git is told not to trust it either.
        let options = ["-c", "core.untrackedCache=true", "-c", "core.trustctime=false"]
        // Directories changed in the second the index is written are "racily" valid, which git checks again.
        var past = timespec()
        clock_gettime(CLOCK_REALTIME, &past)
        past.tv_sec -= 10
        let times = [past, past]
        for path in try FileManager.default.subpathsOfDirectory(atPath: fixture.work) + [""]
        where !path.hasPrefix(".git") {
            #expect(utimensat(AT_FDCWD, "\(fixture.work)/\(path)", times, AT_SYMLINK_NOFOLLOW) == 0)
        }
        for _ in 0..<2 { try fixture.git(options + ["status", "--porcelain"]) }
        let moved = fixture.directory + "/" + String(repeating: "moved-", count: 20) + "here"
        try FileManager.default.moveItem(atPath: fixture.work, toPath: moved)
        if relocated {
            #expect(try GitIndexUntrackedCache.relocate(index: "\(moved)/.git/index", to: moved, durable: durable))
        }
        let before = Self.indexInode(moved)
        #expect(try fixture.git(options + ["status", "--porcelain"], in: moved).isEmpty)
        let after = Self.indexInode(moved)
        if relocated {
            #expect(before == after, "git kept the moved cache: nothing to write")
        } else {
            #expect(before != after, "git dropped the cache made elsewhere and wrote a new one")
        }
        // Still a working cache: a new file is seen, in an old directory and a new one.
        try Data("u\n".utf8).write(to: URL(fileURLWithPath: "\(moved)/d1/untracked.txt"))
        try FileManager.default.createDirectory(atPath: "\(moved)/new", withIntermediateDirectories: true)
        try Data("n\n".utf8).write(to: URL(fileURLWithPath: "\(moved)/new/file.txt"))
        #expect(try fixture.git(options + ["status", "--porcelain"], in: moved) == "?? d1/untracked.txt\n?? new/\n")
    }
}
