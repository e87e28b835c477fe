import PaddockCore
import PaddockInitProtocol
import PaddockSandbox

/// paddock-init answered in memory from a `FakeProvider`'s state: each connection decodes what `InitClient`
/// sends and replies as the real init would. Commands exit 0 at once and print their argv, except `sleep`, which
/// runs until it is signalled; files live in the provider; nothing listens on any port and no process can be
/// attached to.
actor FakeInit: InitWriter {
    struct Transport: InitTransport {
        let provider: FakeProvider
        let id: SessionID

        func withConnection<T: Sendable>(_ body: (any InitConnection) async throws -> T) async throws -> T {
            let (replies, sink) = AsyncStream<[UInt8]>.makeStream()
            let connection = Connection(replies: replies, writer: FakeInit(provider: provider, id: id, replies: sink))
            defer { sink.finish() }
            return try await body(connection)
        }
    }

    final class Connection: InitConnection {
        private var replies: AsyncStream<[UInt8]>.Iterator
        let writer: any InitWriter

        init(replies: AsyncStream<[UInt8]>, writer: FakeInit) {
            self.replies = replies.makeAsyncIterator()
            self.writer = writer
        }

        func read() async throws -> [UInt8]? { await replies.next() }
    }

    private let provider: FakeProvider
    private let id: SessionID
    private let replies: AsyncStream<[UInt8]>.Continuation
    private var decoder = FrameDecoder()
    /// A `writeFile` whose data is still arriving.
    private var upload: (path: String, bytes: [UInt8])?

    init(provider: FakeProvider, id: SessionID, replies: AsyncStream<[UInt8]>.Continuation) {
        self.provider = provider
        self.id = id
        self.replies = replies
    }

    func write(_ bytes: [UInt8]) async throws {
        decoder.append(bytes)
        while let payload = try decoder.next() {
            let message = try WireMessage(decoding: payload)
            do { try await handle(message) } catch let error as PaddockError where error.code == .unavailable {
                replies.finish()  // a stopped sandbox's init does not answer
            } catch let error as PaddockError {
                reply(.failure(code: Self.wireCode(error.code).rawValue, errno: 0, message: error.message), last: true)
            }
        }
    }

    nonisolated func finish() {}

    private func reply(_ message: WireMessage, last: Bool = false) {
        replies.yield(message.framed())
        if last { replies.finish() }
    }

    private func handle(_ message: WireMessage) async throws {
        if let upload {
            switch message {
            case .data(let bytes): self.upload?.bytes += bytes
            case .end:
                try await provider.setFile(id, upload.path, upload.bytes)
                reply(.ok, last: true)
            default: throw PaddockError.invalidArgument("\(message) in the middle of a file upload")
            }
            return
        }
        let files = try await provider.files(of: id)
        switch message {
        case .hello: reply(.helloReply(version: wireProtocolVersion, pid: 1), last: true)
        case .spawn(let request):
            reply(.started(pid: 2))
            if request.argv.first == "sleep" { return }  // a long-running command: it ends when signalled
            let output = Array(request.argv.joined(separator: " ").utf8)
            if !output.isEmpty { reply(.stdout(output)) }
            reply(.exited(code: 0, signal: 0), last: true)
        case .signal(let signal): reply(.exited(code: 128 + signal, signal: signal), last: true)
        case .stdin, .closeStdin, .resize: break
        case .attach(let pid), .signalProcess(let pid, _): throw PaddockError.notFound("no process with pid \(pid)")
        case .listProcesses: reply(.processes([]), last: true)
        case .dial(let port), .dialHandoff(let port): throw PaddockError.notFound("nothing listens on port \(port)")
        case .readFile(let path, _):
            guard let bytes = files[path] else { throw PaddockError.notFound("\(path) does not exist") }
            if !bytes.isEmpty { reply(.data(bytes)) }
            reply(.end, last: true)
        case .writeFile(let path, _, let append, _):
            upload = (path, append ? files[path] ?? [] : [])
        case .stat(let path, _):
            if await provider.isDirectory(id, path) {
                var info = FakeProvider.info(path, size: 0)
                info.kind = .directory
                reply(.files([info]), last: true)
                return
            }
            guard let bytes = files[path] else { throw PaddockError.notFound("\(path) does not exist") }
            reply(.files([FakeProvider.info(path, size: bytes.count)]), last: true)
        case .listDir(let path, _, _):
            let prefix = path.hasSuffix("/") ? path : path + "/"
            let entries = files.filter { $0.key.hasPrefix(prefix) }.map {
                FakeProvider.info($0.key, size: $0.value.count)
            }
            reply(.files(entries), last: true)
        case .makeDir(let path, _):
            guard try await provider.addDirectory(id, path) else {
                throw PaddockError(.alreadyExists, "\(path) exists")
            }
            reply(.ok, last: true)
        case .remove(let path, _):
            guard files[path] != nil else { throw PaddockError.notFound("\(path) does not exist") }
            try await provider.setFile(id, path, nil)
            reply(.ok, last: true)
        case .rename(let from, let to, _):
            guard let bytes = files[from] else { throw PaddockError.notFound("\(from) does not exist") }
            try await provider.setFile(id, from, nil)
            try await provider.setFile(id, to, bytes)
            reply(.ok, last: true)
        case .enableSudo:
            reply(.ok, last: true)  // a fake sandbox has no sudo to switch on; E2B's base template asks for it
        default: throw PaddockError.invalidArgument("\(message) is not a request")
        }
    }

    private static func wireCode(_ code: PaddockError.Code) -> WireErrorCode {
        switch code {
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
        case .invalidArgument: .invalidArgument
        case .alreadyExists: .alreadyExists
        case .resourceExhausted: .resourceExhausted
        default: .internal
        }
    }
}
