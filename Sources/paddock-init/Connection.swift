import Glibc
import PaddockInitProtocol

typealias ConnectionID = Int

/// One accepted client connection. It carries one operation, chosen by its first frame.
final class Connection {
    /// What the connection is doing after its first frame.
    enum Operation {
        case awaitingRequest
        /// Streaming a supervised process (after `spawn` or `attach`).
        case process(pid_t)
        case readingFile(FileReader)
        case writingFile(FileWriter)
        /// A `writeFile` failed; swallow the rest of its data until `end` so the host sees the failure.
        case discardingUntilEnd
        /// After `dial`: raw bytes between the host and a port inside the sandbox.
        case relay(PortRelay)
        /// After `watch`: inotify events of a directory, until the client closes or the directory goes.
        case watching(DirectoryWatcher)
        /// The reply is queued; the connection closes once it is written.
        case finished
    }

    /// Above this many queued outgoing bytes the producers feeding the connection pause.
    static let highWater = 1024 * 1024

    let id: ConnectionID
    let fd: Int32
    var decoder = FrameDecoder()
    var outgoing = ByteQueue()
    var operation = Operation.awaitingRequest
    /// The peer shut down its sending side; keep writing, stop reading.
    var inputClosed = false
    /// Accepted on the sudo socket, which any process in the sandbox may reach: only `spawn` is served, as root.
    let restricted: Bool

    init(id: ConnectionID, fd: Int32, restricted: Bool = false) {
        self.id = id
        self.fd = fd
        self.restricted = restricted
    }

    var isFinished: Bool {
        if case .finished = operation { return true }
        return false
    }

    var isBackedUp: Bool { outgoing.count >= Connection.highWater }

    func send(_ message: WireMessage) {
        outgoing.append(message.framed())
    }

    /// Queues the last message of the operation; the connection closes once it is flushed.
    func finish(with message: WireMessage) {
        send(message)
        operation = .finished
    }

    func fail(_ failure: InitFailure) {
        finish(with: failure.wireMessage)
    }
}
