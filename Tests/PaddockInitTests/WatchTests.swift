import Foundation
import Glibc
import PaddockInitProtocol
import Testing

/// `watch`: inotify inside the sandbox, in envd's terms, with the sync barrier the E2B door relies on.
@Suite("paddock-init directory watches")
struct WatchTests {
    let user = RunningInit.user

    private func upload(_ text: String, to path: String, on initProcess: RunningInit) throws {
        let client = try initProcess.connect()
        try client.send(.writeFile(path: path, mode: 0, append: false, user: user))
        try client.send(.data(Array(text.utf8)))
        try client.send(.end)
        #expect(try client.receive() == .ok)
    }

    /// Every change reported before the barrier's empty batch.
    private func synced(_ watch: InitClient) throws -> [String] {
        try watch.send(.hello)
        var seen: [String] = []
        while let message = try watch.receive() {
            guard case .fileEvents(let events) = message else {
                Issue.record("unexpected \(message)")
                break
            }
            if events.isEmpty { break }
            seen += events.map { "\($0.kind) \($0.path)" }
        }
        return seen
    }

    @Test func uploadsShowAsEnvdWould() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let root = initProcess.directory + "/watched"
        try FileManager.default.createDirectory(atPath: root + "/nested", withIntermediateDirectories: true)
        let watch = try initProcess.connect()
        try watch.send(.watch(path: root, recursive: true, user: user))
        #expect(try watch.receive() == .ok)

        // A new file: created, its mode set, written — and no temporary file in sight.
        try upload("first", to: root + "/nested/a.txt", on: initProcess)
        #expect(try synced(watch) == ["create nested/a.txt", "chmod nested/a.txt", "write nested/a.txt"])
        // Replacing it lands through a temporary file, which reads as a write of the file.
        try upload("second", to: root + "/nested/a.txt", on: initProcess)
        #expect(try synced(watch) == ["write nested/a.txt"])
        // A directory made after the watch started is followed too.
        try FileManager.default.createDirectory(atPath: root + "/later", withIntermediateDirectories: false)
        #expect(try synced(watch) == ["create later"])
        try upload("x", to: root + "/later/b.txt", on: initProcess)
        #expect(try synced(watch).first == "create later/b.txt")
        try FileManager.default.moveItem(atPath: root + "/later/b.txt", toPath: root + "/c.txt")
        try FileManager.default.removeItem(atPath: root + "/c.txt")
        #expect(try synced(watch) == ["rename later/b.txt", "create c.txt", "remove c.txt"])

        // The directory going away ends the stream.
        try FileManager.default.removeItem(atPath: root)
        var last: WireMessage?
        while let message = try watch.receive() { last = message }
        #expect(last == .end)
    }

    @Test func onlyDirectoriesAreWatched() throws {
        let initProcess = try RunningInit()
        defer { initProcess.stop() }
        let file = initProcess.directory + "/plain.txt"
        try upload("x", to: file, on: initProcess)
        for path in [file, initProcess.directory + "/missing"] {
            let watch = try initProcess.connect()
            try watch.send(.watch(path: path, recursive: false, user: user))
            guard case .failure(let code, _, _) = try watch.receive() else {
                Issue.record("watching \(path) did not fail")
                continue
            }
            #expect(code == (path == file ? "invalid_argument" : "not_found"))
        }
    }
}
