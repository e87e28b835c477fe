/// `paddock-init --socket PATH [--ready-fd N]`.
struct Options {
    static let usage = "usage: paddock-init --socket PATH [--ready-fd N]"

    /// The unix socket to serve on (bind-mounted from the host).
    var socketPath: String
    /// A descriptor to write "ready\n" to and close once the socket accepts connections.
    var readyFD: Int32?

    enum Parsed {
        case run(Options)
        case help
        case invalid(String)
    }

    static func parse(_ arguments: [String]) -> Parsed {
        var socketPath: String?
        var readyFD: Int32?
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
            default:
                return .invalid("unknown argument '\(argument)'")
            }
        }
        guard let socketPath else { return .invalid("--socket is required") }
        return .run(Options(socketPath: socketPath, readyFD: readyFD))
    }
}
