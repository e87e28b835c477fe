import PaddockInitProtocol
import PaddockSandbox
import PaddockServices
import Testing

@testable import PaddockServer

struct MultipartFormDataTests {
    @Test func boundaryFromContentType() {
        #expect(MultipartFormData.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartFormData.boundary(contentType: #"multipart/form-data; boundary="a b""#) == "a b")
        #expect(MultipartFormData.boundary(contentType: "multipart/form-data") == nil)
    }

    @Test func partsWithPathsAsFilenames() throws {
        let body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/home/user/a.txt\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\nhello\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dir/b;c.bin\"\r\n\r\n"
            + "\r\n--X not the boundary\r\n"
            + "--XyZ--\r\n"
        let form = try MultipartFormData(body: Array(body.utf8), boundary: "XyZ")
        #expect(form.parts.count == 2)
        #expect(form.parts[0].filename == "/home/user/a.txt")
        #expect(form.parts[0].name == "file")
        #expect(form.parts[0].body == Array("hello".utf8))
        #expect(form.parts[0].contentType == "application/octet-stream")
        #expect(form.parts[1].filename == "dir/b;c.bin")
        #expect(form.parts[1].body == Array("\r\n--X not the boundary".utf8))
    }

    @Test func emptyPartAndEscapedQuotes() throws {
        let body =
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q\\\"x\"\r\n\r\n\r\n--b--"
        let form = try MultipartFormData(body: Array(body.utf8), boundary: "b")
        #expect(form.parts.count == 1)
        #expect(form.parts[0].filename == "q\"x")
        #expect(form.parts[0].body.isEmpty)
    }

    @Test func malformedBodiesAreRefused() {
        #expect(throws: MultipartFormData.ParseError.self) {
            try MultipartFormData(body: Array("no boundary here".utf8), boundary: "b")
        }
        #expect(throws: MultipartFormData.ParseError.self) {
            try MultipartFormData(body: Array("--b\r\nContent-Disposition: x\r\n\r\nunterminated".utf8), boundary: "b")
        }
    }
}

struct DirectorySnapshotTests {
    private func file(_ name: String, size: UInt64 = 1, mtime: Int64 = 1, mode: UInt32 = 0o100644) -> WireFileInfo {
        WireFileInfo(
            name: (name as String).split(separator: "/").last.map(String.init) ?? name, path: "/w/" + name,
            kind: .file, size: size, mode: mode, uid: 1000, gid: 1000, mtimeNanos: mtime)
    }

    @Test func createWriteChmodRemove() {
        let before = DirectorySnapshot(root: "/w", listing: [file("a"), file("b"), file("c")])
        let after = DirectorySnapshot(
            root: "/w/", listing: [file("a", size: 2), file("b", mode: 0o100600), file("d", size: 0), file("sub/e")])
        let events = after.events(since: before).map { "\($0.type.rawValue) \($0.name)" }
        #expect(
            events == [
                "EVENT_TYPE_WRITE a", "EVENT_TYPE_CHMOD b", "EVENT_TYPE_CREATE d", "EVENT_TYPE_CREATE sub/e",
                "EVENT_TYPE_WRITE sub/e", "EVENT_TYPE_REMOVE c",
            ])
        #expect(after.events(since: after).isEmpty)
    }
}
