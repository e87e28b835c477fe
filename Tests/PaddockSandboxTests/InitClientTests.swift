import PaddockCore
import PaddockInitProtocol
import Testing

@testable import PaddockSandbox

/// `InitClient` against a scripted init: what it sends, how it reads replies, how init's failures become errors.
struct InitClientTests {
    static func client(_ serve: @escaping @Sendable (ScriptedInit.Peer) async throws -> Void) -> InitClient {
        InitClient(transport: ScriptedInit(serve: serve))
    }

    @Test func execStreamsEventsInOrderAndEndsAtTheExit() async throws {
        let client = Self.client { peer in
            guard case .spawn(let request) = try await peer.receive() else { return }
            #expect(request.argv == ["echo", "hi"])
            #expect(request.env == ["A=1", "B=2"])
            #expect(request.user == WireUser(uid: 0, gid: 0))
            peer.send(.started(pid: 7))
            peer.send(.stdout(Array("hi\n".utf8)))
            peer.send(.stderr(Array("warn".utf8)))
            peer.send(.exited(code: 3, signal: 0))
            // Init keeps the connection open past the exit; the stream must end anyway.
            _ = try await peer.receive()
        }
        let handle = try await client.exec(
            ExecRequest(argv: ["echo", "hi"], env: ["B": "2", "A": "1"], cwd: "/", user: .root))
        var events: [ExecEvent] = []
        for try await event in handle.events { events.append(event) }
        #expect(
            events == [
                .started(pid: 7), .stdout(Array("hi\n".utf8)), .stderr(Array("warn".utf8)),
                .exited(ExitStatus(code: 3)),
            ])
    }

    @Test func stdinAndControlsReachInitAndLateOnesAreDropped() async throws {
        let client = Self.client { peer in
            guard case .spawn = try await peer.receive() else { return }
            peer.send(.started(pid: 9))
            guard case .stdin(let bytes) = try await peer.receive() else { return }
            peer.send(.stdout(bytes))
            guard case .signal(let signal) = try await peer.receive() else { return }
            peer.send(.exited(code: 128 + signal, signal: signal))
        }
        let handle = try await client.exec(ExecRequest(argv: ["cat"], env: [:], cwd: "/", stdin: true))
        var events = handle.events.makeAsyncIterator()
        #expect(try await events.next() == .started(pid: 9))
        try await handle.sendStdin(Array("abc".utf8))
        #expect(try await events.next() == .stdout(Array("abc".utf8)))
        try await handle.signal(15)
        #expect(try await events.next() == .exited(ExitStatus(code: 143, signal: 15)))
        #expect(try await events.next() == nil)
        // A close_stdin that arrives after the exit is no error; after cancel, a control is one.
        try await handle.closeStdin()
        await handle.cancel()
        await #expect(throws: PaddockError.self) { try await handle.closeStdin() }
    }

    @Test func aFailedStartIsThrownWithItsCode() async throws {
        let client = Self.client { peer in
            _ = try await peer.receive()
            peer.send(.failure(code: WireErrorCode.notFound.rawValue, errno: 2, message: "nope: not found"))
        }
        let error = await #expect(throws: PaddockError.self) {
            _ = try await client.exec(ExecRequest(argv: ["nope"], env: [:], cwd: "/"))
        }
        #expect(error?.code == .notFound)
    }

    @Test func anEmptyCommandIsRefusedBeforeConnecting() async throws {
        let client = Self.client { _ in Issue.record("no connection expected") }
        let error = await #expect(throws: PaddockError.self) {
            _ = try await client.exec(ExecRequest(argv: [], env: [:], cwd: "/"))
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func readFileThrowsBeforeStreamingAndStreamsItsChunks() async throws {
        let client = Self.client { peer in
            guard case .readFile(let path, _) = try await peer.receive() else { return }
            if path == "/missing" {
                peer.send(.failure(code: WireErrorCode.notFound.rawValue, errno: 2, message: "no such file"))
                return
            }
            peer.send(.data([1, 2]))
            peer.send(.data([3]))
            peer.send(.end)
        }
        await #expect(throws: PaddockError.self) { _ = try await client.readFile(path: "/missing", user: .user) }
        var bytes: [UInt8] = []
        for try await chunk in try await client.readFile(path: "/f", user: .user) { bytes += chunk }
        #expect(bytes == [1, 2, 3])
    }

    @Test func writeFileChunksForTheWire() async throws {
        let sizes = Sizes()
        let client = Self.client { peer in
            guard case .writeFile(let path, let mode, let append, _) = try await peer.receive() else { return }
            #expect(path == "/big" && mode == 0o600 && !append)
            while case .data(let bytes) = try await peer.receive() { await sizes.add(bytes.count) }
            peer.send(.ok)
        }
        let total = wireChunkSize * 2 + 5
        try await client.writeFile(
            path: "/big", mode: 0o600, user: .user, append: false,
            data: BackpressuredStream { await $0.send([UInt8](repeating: 7, count: total)) })
        #expect(await sizes.all == [wireChunkSize, wireChunkSize, 5])
    }

    @Test func makeDirectoryReportsAnExistingOne() async throws {
        let client = Self.client { peer in
            guard case .makeDir(let path, _) = try await peer.receive() else { return }
            peer.send(
                path == "/exists"
                    ? .failure(code: WireErrorCode.alreadyExists.rawValue, errno: 17, message: "exists") : .ok)
        }
        #expect(try await client.makeDirectory(path: "/new", user: .user))
        #expect(try await client.makeDirectory(path: "/exists", user: .user) == false)
    }

    @Test func aClosedConnectionIsUnavailable() async throws {
        let client = Self.client { peer in _ = try await peer.receive() }
        let error = await #expect(throws: PaddockError.self) { _ = try await client.stat(path: "/", user: .user) }
        #expect(error?.code == .unavailable)
    }

    @Test func dialDeliversBytesSentWithTheOkAndCarriesBothWays() async throws {
        let client = Self.client { peer in
            guard case .dial(let port) = try await peer.receive(), port == 8080 else { return }
            peer.send(.ok)
            peer.sendRaw(Array("early".utf8))
            guard let request = await peer.receiveRaw() else { return }
            peer.sendRaw(request.reversed())
        }
        let connection = try await client.dial(port: 8080)
        var inbound = connection.inbound.makeAsyncIterator()
        #expect(try await inbound.next() == Array("early".utf8))
        try await connection.write([1, 2, 3])
        #expect(try await inbound.next() == [3, 2, 1])
        #expect(try await inbound.next() == nil)
        await connection.close()
    }
}

/// Collects chunk sizes from the script's task.
actor Sizes {
    var all: [Int] = []
    func add(_ size: Int) { all.append(size) }
}
