import Foundation
import Hummingbird
import NIOCore

/// A `text/event-stream` response: each message is `event: NAME` and one `data:` line of JSON. Browsers'
/// `EventSource` reconnects by itself when the connection drops.
enum ServerSentEvents {
    static var headers: HTTPFields {
        var fields = SecurityHeaders.common
        fields[.contentType] = "text/event-stream; charset=utf-8"
        return fields
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func message(_ event: String, _ value: some Encodable) throws -> ByteBuffer {
        // JSON never contains a raw newline, so one `data:` line holds the whole message.
        let json = String(decoding: try encoder.encode(value), as: UTF8.self)
        return ByteBuffer(string: "event: \(event)\ndata: \(json)\n\n")
    }

    /// Calls `tick` with 1, 2, 3… every `period` until cancelled: the live streams' one timer. A period, not a
    /// poll: a quiet stream must still show the browser and proxies it is alive, and a sandbox's usage has no
    /// event to wait on.
    static func every(_ period: Duration, _ tick: @Sendable (Int) -> Void) async throws {
        var count = 0
        while true {
            try await Task.sleep(for: period)
            count += 1
            tick(count)
        }
    }

    /// A comment line: keeps proxies from closing a quiet stream.
    static let heartbeat = ByteBuffer(string: ": still here\n\n")
}
