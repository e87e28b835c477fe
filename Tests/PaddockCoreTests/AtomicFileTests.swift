import Foundation
import Testing

@testable import PaddockCore

/// A file is written whole or not at all, with exactly the mode asked for, and nothing is left beside it.
struct AtomicFileTests {
    static func scratch(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "paddock-atomic-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    static func mode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    @Test(arguments: [0o600, 0o644, 0o755, 0o000])
    func writesTheBytesWithExactlyTheMode(mode: Int) throws {
        let dir = try Self.scratch("mode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/token"
        try AtomicFile.write(Array("secret\n".utf8), to: path, mode: mode_t(mode))
        #expect(FileManager.default.contents(atPath: path) == Data("secret\n".utf8))
        #expect(try Self.mode(path) == mode)
        #expect(try Self.names(dir) == ["token"], "no temporary file is left beside it")
    }

    /// Durable or not, the file is replaced whole, with its mode, and nothing is left beside it.
    @Test(arguments: [true, false])
    func replacesAnExistingFileWhole(durable: Bool) throws {
        let dir = try Self.scratch("replace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state"
        try AtomicFile.write(Array(repeating: 0x61, count: 100_000), to: path, durable: durable)
        try AtomicFile.write("short".utf8, to: path, mode: 0o600, durable: durable)
        #expect(FileManager.default.contents(atPath: path) == Data("short".utf8))
        #expect(try Self.mode(path) == 0o600)
        try AtomicFile.write([UInt8](), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data())
        #expect(try Self.names(dir) == ["state"])
    }

    @Test func aFailedRenameLeavesTheTargetAndNoTemporaryFile() throws {
        let dir = try Self.scratch("fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A non-empty directory where the file should go: everything succeeds up to the rename, which fails.
        let path = dir + "/occupied"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        #expect {
            try AtomicFile.write("new".utf8, to: path)
        } throws: { error in
            let message = (error as? PaddockError)?.message ?? ""
            return message.contains(path) && message.contains("check that")
        }
        #expect(try Self.names(dir) == ["occupied"])
        #expect(try Self.names(path) == ["inside"])
    }

    @Test func aMissingDirectoryIsAnErrorNamingThePath() throws {
        let dir = try Self.scratch("missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/no/such/dir/file"
        #expect {
            try AtomicFile.write("x".utf8, to: path)
        } throws: { error in
            (error as? PaddockError)?.message.contains(path) == true
        }
        #expect(try Self.names(dir) == [])
    }

    @Test func concurrentWritersLeaveOneWholeVersion() async throws {
        let dir = try Self.scratch("race")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/shared"
        let versions = (0..<16).map { String(repeating: Character(UnicodeScalar(UInt8(65 + $0))), count: 50_000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for text in versions { group.addTask { try AtomicFile.write(text.utf8, to: path) } }
            try await group.waitForAll()
        }
        let final = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        #expect(versions.contains(final))
        #expect(try Self.names(dir) == ["shared"])
    }

    @Test(arguments: [("a/b", "a", "b"), ("/top", "/", "top"), ("name", ".", "name"), ("/x/y/z", "/x/y", "z")])
    func splitsADirectoryFromTheName(path: String, directory: String, name: String) {
        let split = AtomicFile.split(path)
        #expect(split.directory == directory && split.name == name)
    }
}
