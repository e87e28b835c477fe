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

struct WatchEventTests {
    @Test func inotifyChangesUseEnvdNames() {
        let names = [WireFileEventKind.create, .write, .remove, .rename, .chmod].map {
            EnvdFilesystem.EventType($0).rawValue
        }
        #expect(
            names == [
                "EVENT_TYPE_CREATE", "EVENT_TYPE_WRITE", "EVENT_TYPE_REMOVE", "EVENT_TYPE_RENAME", "EVENT_TYPE_CHMOD",
            ])
    }
}
