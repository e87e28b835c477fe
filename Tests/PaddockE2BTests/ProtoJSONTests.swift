import Foundation
import PaddockCore
import PaddockInitProtocol
import PaddockServices
import Testing

@testable import PaddockServer

struct ProtoJSONTests {
    private func json(_ value: some Encodable) throws -> String {
        String(decoding: try ProtoJSON.encode(value), as: UTF8.self)
    }

    @Test func int64IsAStringOutAndEitherIn() throws {
        #expect(try json(ProtoInt64(9_007_199_254_740_993)) == #""9007199254740993""#)
        #expect(try ProtoJSON.decode(ProtoInt64.self, from: Array(#""-5""#.utf8)) == ProtoInt64(-5))
        #expect(try ProtoJSON.decode(ProtoInt64.self, from: Array("42".utf8)) == ProtoInt64(42))
        #expect(throws: ConnectError.self) { try ProtoJSON.decode(ProtoInt64.self, from: Array(#""x1""#.utf8)) }
    }

    @Test func bytesAreBase64InBothAlphabets() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0x00, 0x41]
        #expect(try json(ProtoBytes(bytes)) == #""+/8AQQ==""#)
        #expect(try ProtoJSON.decode(ProtoBytes.self, from: Array(#""+/8AQQ==""#.utf8)).bytes == bytes)
        #expect(try ProtoJSON.decode(ProtoBytes.self, from: Array(#""-_8AQQ""#.utf8)).bytes == bytes)
    }

    @Test func enumsByNameOrNumber() throws {
        let byName = try ProtoJSON.decode(EnvdProcess.Signal.self, from: Array(#""SIGNAL_SIGKILL""#.utf8))
        #expect(byName.number == 9)
        let byNumber = try ProtoJSON.decode(EnvdProcess.Signal.self, from: Array("15".utf8))
        #expect(byNumber.rawValue == "SIGNAL_SIGTERM")
        let unknown = try ProtoJSON.decode(EnvdProcess.Signal.self, from: Array(#""SIGNAL_SIGWHAT""#.utf8))
        #expect(unknown.rawValue == "SIGNAL_UNSPECIFIED")
        #expect(try json(EnvdFilesystem.FileType.directory) == #""FILE_TYPE_DIRECTORY""#)
    }

    @Test func processEventsAreOneofs() throws {
        #expect(
            String(decoding: try EnvdProcess.Event.start(pid: 7).json(), as: UTF8.self)
                == #"{"event":{"start":{"pid":7}}}"#)
        #expect(
            String(decoding: try EnvdProcess.Event.stdout(Array("hi".utf8)).json(), as: UTF8.self)
                == #"{"event":{"data":{"stdout":"aGk="}}}"#)
        #expect(
            String(decoding: try EnvdProcess.Event.pty([1]).json(), as: UTF8.self)
                == #"{"event":{"data":{"pty":"AQ=="}}}"#)
        #expect(
            String(decoding: try EnvdProcess.Event.end(exitCode: 3, status: "exit status 3").json(), as: UTF8.self)
                == #"{"event":{"end":{"exitCode":3,"exited":true,"status":"exit status 3"}}}"#)
        #expect(
            String(decoding: try EnvdProcess.Event.keepalive.json(), as: UTF8.self) == #"{"event":{"keepalive":{}}}"#)
    }

    @Test func requestsDecodeFromTheSDKShape() throws {
        let start = try ProtoJSON.decode(
            EnvdProcess.StartRequest.self,
            from: Array(
                #"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"],"envs":{"A":"1"}},"stdin":false}"#.utf8))
        #expect(start.process.args == ["-l", "-c", "echo hi"])
        #expect(start.process.envs == ["A": "1"])
        let input = try ProtoJSON.decode(
            EnvdProcess.SendInputRequest.self, from: Array(#"{"process":{"pid":12},"input":{"stdin":"aGk="}}"#.utf8))
        #expect(input.process?.pid == 12)
        #expect(input.input?.bytes == Array("hi".utf8))
        let byTag = try ProtoJSON.decode(EnvdProcess.ConnectRequest.self, from: Array(#"{"process":{"tag":"t"}}"#.utf8))
        #expect(byTag.process?.pid == nil && byTag.process?.tag == "t")
        #expect(try ProtoJSON.decode(EnvdProcess.Empty.self, from: []) == EnvdProcess.Empty())
    }

    @Test func malformedRequestsAreInvalidArgument() {
        do {
            _ = try ProtoJSON.decode(EnvdFilesystem.PathRequest.self, from: Array(#"{"path":3}"#.utf8))
            Issue.record("a number was accepted as a path")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("path"))
        }
    }

    @Test func entryInfoMapsAFileInfo() throws {
        let info = WireFileInfo(
            name: "a.txt", path: "/home/user/a.txt", kind: .file, size: 5, mode: 0o100644, uid: 1000, gid: 1000,
            mtimeNanos: 1_700_000_000_123_456_789)
        let entry = EnvdFilesystem.EntryInfo(info)
        #expect(entry.permissions == "-rw-r--r--")
        #expect(entry.mode == 0o644)
        #expect(entry.owner == "user")
        #expect(entry.modifiedTime == "2023-11-14T22:13:20.123456789Z")
        let text = try json(entry)
        #expect(text.contains(#""size":"5""#))
        #expect(text.contains(#""type":"FILE_TYPE_FILE""#))
        #expect(text.contains(#""isSymlink":false"#))
    }

    @Test func timestampsWithoutFractionAndBeforeTheEpoch() {
        #expect(ProtoTimestamp.format(nanosecondsSinceEpoch: 0) == "1970-01-01T00:00:00Z")
        #expect(ProtoTimestamp.format(nanosecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func paddockErrorsMapOntoConnectCodes() {
        #expect(ConnectError(PaddockError.notFound("x")).code == .notFound)
        #expect(ConnectError(PaddockError(.timeout, "x")).code == .deadlineExceeded)
        #expect(ConnectError(PaddockError.internal("secret detail", underlying: nil)).message == "secret detail")
    }

    @Test func relativePathsResolveAgainstHome() {
        #expect(E2BPaths.resolve("a/b.txt", user: .user) == "/home/user/a/b.txt")
        #expect(E2BPaths.resolve("~/x", user: .user) == "/home/user/x")
        #expect(E2BPaths.resolve("x", user: .root) == "/home/user/x")
        #expect(E2BPaths.resolve("/etc/hosts", user: .user) == "/etc/hosts")
    }
}
