/// Messages of envd's `process.Process` service, in their proto3 JSON form.
enum EnvdProcess {
    struct Config: Codable, Sendable, Equatable {
        var cmd: String
        var args: [String]?
        var envs: [String: String]?
        var cwd: String?
    }

    struct PTY: Codable, Sendable {
        struct Size: Codable, Sendable {
            var cols: UInt32?
            var rows: UInt32?
        }
        var size: Size?
    }

    /// `oneof selector { uint32 pid; string tag; }`
    struct Selector: Codable, Sendable {
        var pid: UInt32?
        var tag: String?
    }

    struct StartRequest: Codable, Sendable {
        var process: Config
        var pty: PTY?
        var tag: String?
        var stdin: Bool?
    }

    struct ConnectRequest: Codable, Sendable {
        var process: Selector?
    }

    /// `oneof input { bytes stdin; bytes pty; }`
    struct Input: Codable, Sendable {
        var stdin: ProtoBytes?
        var pty: ProtoBytes?
        var bytes: [UInt8] { stdin?.bytes ?? pty?.bytes ?? [] }
    }

    /// `oneof event { StartEvent start; DataEvent data; KeepAlive keepalive; }` of a StreamInput call.
    struct StreamInputRequest: Codable, Sendable {
        struct Start: Codable, Sendable { var process: Selector? }
        struct Data: Codable, Sendable { var input: Input? }
        var start: Start?
        var data: Data?
    }

    struct SendInputRequest: Codable, Sendable {
        var process: Selector?
        var input: Input?
    }

    struct Signal: ProtoEnum, Equatable {
        var rawValue: String
        init(rawValue: String) { self.rawValue = rawValue }
        static let names = [0: "SIGNAL_UNSPECIFIED", 15: "SIGNAL_SIGTERM", 9: "SIGNAL_SIGKILL"]
    }

    struct SendSignalRequest: Codable, Sendable {
        var process: Selector?
        var signal: Signal?
    }

    struct CloseStdinRequest: Codable, Sendable {
        var process: Selector?
    }

    struct UpdateRequest: Codable, Sendable {
        var process: Selector?
        var pty: PTY?
    }

    struct Info: Codable, Sendable {
        var config: Config
        var pid: UInt32
        var tag: String?
    }

    struct ListResponse: Codable, Sendable {
        var processes: [Info]
    }

    /// The empty message (`SendInputResponse`, `UpdateResponse`, …).
    struct Empty: Codable, Sendable, Equatable {}

    /// `ProcessEvent`, wrapped as the `event` field of `StartResponse`/`ConnectResponse`.
    enum Event: Sendable, Equatable {
        case start(pid: Int32)
        case stdout([UInt8])
        case stderr([UInt8])
        case pty([UInt8])
        case end(exitCode: Int32, status: String)
        case keepalive

        /// `{"event": {...}}` with exactly one member of the oneof set.
        func json() throws -> [UInt8] { try ProtoJSON.encode(Response(event: self)) }

        private struct Response: Encodable {
            let event: Event
            enum Keys: String, CodingKey { case event }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(Body(event), forKey: .event)
            }
        }

        private struct Body: Encodable {
            let event: Event
            init(_ event: Event) { self.event = event }
            enum Keys: String, CodingKey { case start, data, end, keepalive }
            enum DataKeys: String, CodingKey { case stdout, stderr, pty }
            enum StartKeys: String, CodingKey { case pid }
            enum EndKeys: String, CodingKey { case exitCode, exited, status }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                switch event {
                case .start(let pid):
                    var s = c.nestedContainer(keyedBy: StartKeys.self, forKey: .start)
                    try s.encode(UInt32(bitPattern: pid), forKey: .pid)
                case .stdout(let b):
                    var d = c.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
                    try d.encode(ProtoBytes(b), forKey: .stdout)
                case .stderr(let b):
                    var d = c.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
                    try d.encode(ProtoBytes(b), forKey: .stderr)
                case .pty(let b):
                    var d = c.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
                    try d.encode(ProtoBytes(b), forKey: .pty)
                case .end(let code, let status):
                    var e = c.nestedContainer(keyedBy: EndKeys.self, forKey: .end)
                    try e.encode(code, forKey: .exitCode)
                    try e.encode(true, forKey: .exited)
                    try e.encode(status, forKey: .status)
                case .keepalive:
                    _ = c.nestedContainer(keyedBy: EndKeys.self, forKey: .keepalive)
                }
            }
        }
    }
}
