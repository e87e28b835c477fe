import Foundation
import Glibc
import PaddockInitProtocol
import Testing

@Suite("paddock-init file operations")
struct FileTests {
    let user = RunningInit.user

    private func write(
        _ bytes: [UInt8], to path: String, mode: UInt32 = 0o644, append: Bool = false, on initProcess: RunningInit,
        as user: WireUser = RunningInit.user
    ) throws -> WireMessage? {
        let client = try initProcess.connect()
        try client.send(.writeFile(path: path, mode: mode, append: append, user: user))
        var offset = 0
        repeat {
            let end = min(offset + 100_000, bytes.count)
            try client.send(.data(Array(bytes[offset..<end])))
            offset = end
        } while offset < bytes.count
        try client.send(.end)
        return try client.receive()
    }

    private func read(_ path: String, on initProcess: RunningInit) throws -> (bytes: [UInt8], last: WireMessage?) {
        let client = try initProcess.connect()
        try client.send(.readFile(path: path, user: user))
        var bytes: [UInt8] = []
        while let message = try client.receive() {
            guard case .data(let chunk) = message else { return (bytes, message) }
            #expect(chunk.count <= wireChunkSize)
            bytes += chunk
        }
        return (bytes, nil)
    }

    private func failureCode(_ message: WireMessage?) -> String? {
        if case .failure(let code, _, _) = message { return code }
        return nil
    }

    @Test func writeCreatesParentsAndReadReturnsTheSameBytes() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        var generator = SystemRandomNumberGenerator()
        let content = (0..<(3 * 1024 * 1024 + 17)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let path = initProcess.directory + "/new/nested/file.bin"
        #expect(try write(content, to: path, mode: 0o640, on: initProcess) == .ok)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        let (bytes, last) = try read(path, on: initProcess)
        #expect(last == .end)
        #expect(bytes == content)
        // No temporary file is left next to it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: initProcess.directory + "/new/nested") == ["file.bin"])
    }

    @Test func writeReplacesAndAppends() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let path = initProcess.directory + "/f.txt"
        #expect(try write(Array("old content".utf8), to: path, on: initProcess) == .ok)
        #expect(try write(Array("new".utf8), to: path, on: initProcess) == .ok)
        #expect(try write(Array("+more".utf8), to: path, append: true, on: initProcess) == .ok)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new+more")
    }

    @Test func uploadCutShortLeavesNothingBehind() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let path = initProcess.directory + "/f.txt"
        #expect(try write(Array("kept".utf8), to: path, on: initProcess) == .ok)
        let client = try initProcess.connect()
        try client.send(.writeFile(path: path, mode: 0o644, append: false, user: user))
        try client.send(.data(Array("partial".utf8)))
        // A round trip on another connection proves init has handled the frames above.
        _ = try initProcess.connect().request(.hello)
        client.close()
        #expect(
            eventually {
                (try? FileManager.default.contentsOfDirectory(atPath: initProcess.directory).sorted()) == [
                    "f.txt", "init.sock",
                ]
            })
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "kept")
    }

    @Test func readingADirectoryIsInvalid() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        #expect(failureCode(try read(initProcess.directory, on: initProcess).last) == "invalid_argument")
    }

    @Test func writingOverADirectoryIsInvalid() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        #expect(failureCode(try write([1], to: initProcess.directory, on: initProcess)) == "invalid_argument")
    }

    /// Every request that takes a path, with a relative path and with a missing one.
    static let requests: [(String, @Sendable (String) -> WireMessage)] = [
        ("readFile", { .readFile(path: $0, user: RunningInit.user) }),
        ("stat", { .stat(path: $0, user: RunningInit.user) }),
        ("listDir", { .listDir(path: $0, depth: 1, user: RunningInit.user) }),
        ("remove", { .remove(path: $0, user: RunningInit.user) }),
        ("rename", { .rename(from: $0, to: "/tmp/paddock-init-test-unused", user: RunningInit.user) }),
        ("makeDir", { .makeDir(path: $0, user: RunningInit.user) }),
        ("writeFile", { .writeFile(path: $0, mode: 0o644, append: false, user: RunningInit.user) }),
    ]

    @Test(arguments: requests.map(\.0))
    func relativePathsAreInvalid(_ name: String) throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let make = try #require(FileTests.requests.first { $0.0 == name }?.1)
        #expect(failureCode(try initProcess.connect().request(make("relative/path"))) == "invalid_argument")
    }

    @Test(arguments: ["readFile", "stat", "listDir", "remove", "rename"])
    func missingPathsAreNotFound(_ name: String) throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let make = try #require(FileTests.requests.first { $0.0 == name }?.1)
        let reply = try initProcess.connect().request(make(initProcess.directory + "/missing"))
        #expect(failureCode(reply) == "not_found")
        if case .failure(_, let errno, let message) = reply {
            #expect(errno == ENOENT)
            #expect(message.contains(initProcess.directory + "/missing"))
        }
    }

    @Test func statDescribesFilesDirectoriesAndSymlinks() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let file = initProcess.directory + "/file"
        let link = initProcess.directory + "/link"
        #expect(try write(Array("12345".utf8), to: file, mode: 0o600, on: initProcess) == .ok)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "file")

        guard case .files(let fileInfo) = try initProcess.connect().request(.stat(path: file, user: user)) else {
            Issue.record("stat failed")
            return
        }
        #expect(fileInfo.count == 1)
        #expect(fileInfo.first?.kind == .file)
        #expect(fileInfo.first?.size == 5)
        #expect(fileInfo.first?.mode == UInt32(S_IFREG) | 0o600)
        #expect(fileInfo.first?.name == "file")
        #expect(fileInfo.first?.path == file)
        #expect(fileInfo.first?.uid == user.uid)
        #expect(abs(Double(fileInfo.first?.mtimeNanos ?? 0) / 1e9 - Date().timeIntervalSince1970) < 60)

        guard case .files(let linkInfo) = try initProcess.connect().request(.stat(path: link, user: user)) else {
            Issue.record("stat failed")
            return
        }
        #expect(linkInfo.first?.kind == .symlink)
        #expect(linkInfo.first?.symlinkTarget == "file")

        guard
            case .files(let dirInfo) = try initProcess.connect().request(
                .stat(path: initProcess.directory + "/", user: user))
        else {
            Issue.record("stat failed")
            return
        }
        #expect(dirInfo.first?.kind == .directory)
        #expect(dirInfo.first?.path == initProcess.directory)
    }

    @Test func listDirHonoursDepthAndSortsByPath() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let root = initProcess.directory + "/tree"
        for file in ["b.txt", "a/x.txt", "a/deep/y.txt", "c/z.txt"] {
            #expect(try write(Array(file.utf8), to: root + "/" + file, on: initProcess) == .ok)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "a")

        func list(_ depth: UInt32) throws -> [WireFileInfo] {
            guard
                case .files(let entries) = try initProcess.connect().request(
                    .listDir(path: root, depth: depth, user: user))
            else { throw HarnessError("listDir failed") }
            return entries
        }
        #expect(try list(1).map(\.path) == ["a", "b.txt", "c", "link"].map { root + "/" + $0 })
        let two = try list(2)
        #expect(two.map(\.path) == ["a", "a/deep", "a/x.txt", "b.txt", "c", "c/z.txt", "link"].map { root + "/" + $0 })
        #expect(two.first { $0.name == "link" }?.kind == .symlink)
        #expect(two.first { $0.name == "deep" }?.kind == .directory)
        #expect(try list(3).count == 8)
        let onFile = try initProcess.connect().request(.listDir(path: root + "/b.txt", depth: 1, user: user))
        #expect(failureCode(onFile) == "invalid_argument")
    }

    @Test func makeDirCreatesParentsAndReportsAnExistingDirectory() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let path = initProcess.directory + "/a/b/c"
        #expect(try initProcess.connect().request(.makeDir(path: path, user: user)) == .ok)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
        let again = try initProcess.connect().request(.makeDir(path: path, user: user))
        #expect(failureCode(again) == "already_exists")
    }

    @Test func removeIsRecursiveAndDoesNotFollowSymlinks() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let outside = initProcess.directory + "/outside/keep.txt"
        let tree = initProcess.directory + "/tree"
        #expect(try write([1], to: outside, on: initProcess) == .ok)
        #expect(try write([2], to: tree + "/a/b/c.txt", on: initProcess) == .ok)
        try FileManager.default.createSymbolicLink(
            atPath: tree + "/a/escape", withDestinationPath: initProcess.directory + "/outside")
        #expect(try initProcess.connect().request(.remove(path: tree, user: user)) == .ok)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect(FileManager.default.fileExists(atPath: outside))
        // A single file, too.
        #expect(try initProcess.connect().request(.remove(path: outside, user: user)) == .ok)
        #expect(!FileManager.default.fileExists(atPath: outside))
    }

    @Test func metadataIsStoredAsUserE2BAttributesAndReplacedWhole() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let file = initProcess.directory + "/labelled.txt"
        #expect(try write(Array("x".utf8), to: file, on: initProcess) == .ok)
        let stored = try initProcess.connect().request(
            .setMetadata(path: file, metadata: ["author": "mish", "stage": "one"], user: user))
        guard stored == .ok else {
            // Some file systems (an old tmpfs) keep no user attributes; init says so instead of pretending.
            guard case .failure(_, let code, _) = stored, code == ENOTSUP else {
                Issue.record("unexpected answer \(stored)")
                return
            }
            return
        }
        guard case .files(let infos) = try initProcess.connect().request(.stat(path: file, user: user)) else {
            Issue.record("stat gave no file")
            return
        }
        #expect(infos.first?.metadata == ["author": "mish", "stage": "one"])
        #expect(
            try initProcess.connect().request(.setMetadata(path: file, metadata: ["stage": "two"], user: user)) == .ok)
        guard case .files(let again) = try initProcess.connect().request(.stat(path: file, user: user)) else {
            Issue.record("stat gave no file")
            return
        }
        #expect(again.first?.metadata == ["stage": "two"])
    }

    @Test func renameCreatesTheDestinationParentAndReplaces() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let from = initProcess.directory + "/from.txt"
        let to = initProcess.directory + "/new/dir/to.txt"
        #expect(try write(Array("one".utf8), to: from, on: initProcess) == .ok)
        #expect(try initProcess.connect().request(.rename(from: from, to: to, user: user)) == .ok)
        #expect(try String(contentsOfFile: to, encoding: .utf8) == "one")
        #expect(!FileManager.default.fileExists(atPath: from))
        #expect(try write(Array("two".utf8), to: from, on: initProcess) == .ok)
        #expect(try initProcess.connect().request(.rename(from: from, to: to, user: user)) == .ok)
        #expect(try String(contentsOfFile: to, encoding: .utf8) == "two")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to act as another user"))
    func operationsRunAsTheRequestedUser() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let nobody = WireUser(uid: 65534, gid: 65534)
        chmod(initProcess.directory, 0o755)
        let shared = initProcess.directory + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o777)
        let file = shared + "/sub/owned.txt"
        #expect(try write([1, 2, 3], to: file, on: initProcess, as: nobody) == .ok)
        var info = stat()
        #expect(stat(file, &info) == 0)
        #expect(info.st_uid == 65534 && info.st_gid == 65534)
        #expect(stat(shared + "/sub", &info) == 0)
        #expect(info.st_uid == 65534)
        // The user's permission checks apply: a root-only directory is off limits.
        let secret = initProcess.directory + "/secret"
        try FileManager.default.createDirectory(atPath: secret, withIntermediateDirectories: false)
        chmod(secret, 0o700)
        let denied = try write([1], to: secret + "/x", on: initProcess, as: nobody)
        #expect(failureCode(denied) == "permission_denied")
        // And init is root again afterwards.
        #expect(try write([1], to: secret + "/x", on: initProcess) == .ok)
    }
}
