import Foundation
import PaddockLinux
import PaddockStore
import Testing

/// What lives in the data directory is private to the server's user, and sandboxes' state goes where they can
/// reach it. No sandbox is started here, and no root is needed.
struct DataDirectoryTests {
    static func scratch(_ label: String) throws -> String {
        let dir = "/tmp/paddock-test-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func mode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }

    @Test func theDatabaseIsReadableByItsOwnerOnly() throws {
        let dir = try Self.scratch("db-mode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SQLiteStore(path: dir + "/fresh.sqlite")
        #expect(try Self.mode(dir + "/fresh.sqlite") == 0o600)
        // A database left world-readable by an older version is narrowed when it is opened.
        FileManager.default.createFile(atPath: dir + "/old.sqlite", contents: nil)
        chmod(dir + "/old.sqlite", 0o644)
        _ = try SQLiteStore(path: dir + "/old.sqlite")
        #expect(try Self.mode(dir + "/old.sqlite") == 0o600)
        for file in ["fresh.sqlite-wal", "old.sqlite-wal"]
        where FileManager.default.fileExists(atPath: "\(dir)/\(file)") {
            #expect(try Self.mode("\(dir)/\(file)") == 0o600, "\(file)")
        }
    }

    @Test func aReachableDataDirectoryIsItsOwnStateDirectoryAndAChoiceIsKept() throws {
        let dir = try Self.scratch("state-dir")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o711)
        #expect(try StateDirectory.resolve(dataDirectory: dir, explicit: nil) == dir)
        #expect(!FileManager.default.fileExists(atPath: dir + "/state-dir"), "nothing to record")
        // An explicit --state-dir is recorded, and later starts without the flag keep it.
        let chosen = dir + "/elsewhere"
        #expect(try StateDirectory.resolve(dataDirectory: dir, explicit: chosen) == chosen)
        #expect(try StateDirectory.resolve(dataDirectory: dir, explicit: nil) == chosen)
        #expect(throws: (any Error).self) { try StateDirectory.resolve(dataDirectory: dir, explicit: "relative/path") }
    }
}
