/// `paddock-init --socket PATH [--ready-fd N]`.
struct Options {
    static let usage = "usage: paddock-init --socket PATH [--ready-fd N] [--egress-port N --egress-socket PATH]"

    /// The unix socket to serve on (bind-mounted from the host).
    var socketPath: String
    /// A descriptor to write "ready\n" to and close once the socket accepts connections.
    var readyFD: Int32?
    /// The sandbox's proxy port on 127.0.0.1, relayed to `egressSocket` (the gateway).
    var egressPort: UInt16?
    var egressSocket: String?

    enum Parsed {
        case run(Options)
        case help
        case invalid(String)
    }

    static func parse(_ arguments: [String]) -> Parsed {
        var socketPath: String?
        var readyFD: Int32?
        /// The sandbox's proxy port on 127.0.0.1, relayed to `egressSocket` (the gateway).
        var egressPort: UInt16?
        var egressSocket: String?
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "-h", "--help":
                return .help
            case "--socket":
                guard let value = remaining.popFirst(), !value.isEmpty else { return .invalid("--socket needs a path") }
                socketPath = value
            case "--ready-fd":
                guard let value = remaining.popFirst(), let fd = Int32(value), fd >= 0 else {
                    return .invalid("--ready-fd needs a descriptor number")
                }
                readyFD = fd
            case "--egress-port":
                guard let value = remaining.popFirst(), let port = UInt16(value), port > 0 else {
                    return .invalid("--egress-port needs a port number")
                }
                egressPort = port
            case "--egress-socket":
                guard let value = remaining.popFirst(), !value.isEmpty else {
                    return .invalid("--egress-socket needs a path")
                }
                egressSocket = value
            default:
                return .invalid("unknown argument '\(argument)'")
            }
        }
        guard let socketPath else { return .invalid("--socket is required") }
        guard (egressPort == nil) == (egressSocket == nil) else {
            return .invalid("--egress-port and --egress-socket go together")
        }
        return .run(
            Options(socketPath: socketPath, readyFD: readyFD, egressPort: egressPort, egressSocket: egressSocket))
    }
}
