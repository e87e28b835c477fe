import Foundation
import NIOCore

/// A remote MCP server a session's agents may call (a URL in `agent.mcp_servers`): the gateway intercepts its
/// host and reads the JSON-RPC requests sent to its endpoint, so every `tools/call` reaches the audit trail from
/// what went over the wire, not from what the agent reports.
public struct GatewayMCPServer: Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: UInt16
    /// The endpoint's path (`/mcp`); requests to other paths of the host are not read.
    public var path: String

    public init(name: String, host: String, port: UInt16, path: String) {
        self.name = name
        self.host = host.lowercased()
        self.port = port
        self.path = path.isEmpty ? "/" : path
    }

    /// The server a request to `host:port` `path` (query and all) goes to, if it is one of `servers`.
    static func matching(_ servers: [GatewayMCPServer], host: String, port: UInt16, path: String) -> GatewayMCPServer? {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        return servers.first { $0.host == host.lowercased() && $0.port == port && $0.path == bare }
    }
}

/// One `tools/call` seen by the gateway: the server (by its name in the policy), the tool, and its arguments as
/// JSON text, cut at `MCPCallReader.maxArguments` bytes. The audit trail redacts every vault secret's value.
public struct GatewayMCPCall: Sendable, Codable, Equatable {
    public var server: String
    public var tool: String
    public var arguments: String?
    public var truncated: Bool

    public init(server: String, tool: String, arguments: String?, truncated: Bool) {
        self.server = server
        self.tool = tool
        self.arguments = arguments
        self.truncated = truncated
    }
}

/// Reads a request body bound for an MCP endpoint as it passes (the body itself goes on untouched) and, at its
/// end, finds the JSON-RPC `tools/call` requests in it (one message or a batch).
struct MCPCallReader {
    let server: String
    private var body: [UInt8] = []
    private var overflowed = false
    /// JSON-RPC messages larger than this are not read (they still go through): tool calls are small, and the
    /// gateway does not hold large bodies.
    static let maxBody = 1 << 20
    static let maxArguments = 4096

    init(server: String) { self.server = server }

    mutating func read(_ buffer: ByteBuffer) {
        guard !overflowed else { return }
        guard body.count + buffer.readableBytes <= Self.maxBody else {
            overflowed = true
            body = []
            return
        }
        body.append(contentsOf: buffer.readableBytesView)
    }

    /// The tool calls in the body; a body too large or not JSON-RPC gives one call named `?` when it mentions
    /// `tools/call`, so an unreadable call is still on record.
    func end() -> [GatewayMCPCall] {
        if overflowed {
            return [GatewayMCPCall(server: server, tool: "?", arguments: nil, truncated: true)]
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            let mentionsCall = String(decoding: body, as: UTF8.self).contains("tools/call")
            return mentionsCall ? [GatewayMCPCall(server: server, tool: "?", arguments: nil, truncated: false)] : []
        }
        let messages = (parsed as? [Any]) ?? [parsed]
        return messages.compactMap { message in
            guard let object = message as? [String: Any], object["method"] as? String == "tools/call" else {
                return nil
            }
            let params = object["params"] as? [String: Any]
            let tool = params?["name"] as? String ?? "?"
            var arguments: String?
            var truncated = false
            if let value = params?["arguments"] {
                do {
                    let data = try JSONSerialization.data(
                        withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
                    truncated = data.count > Self.maxArguments
                    arguments = String(decoding: data.prefix(Self.maxArguments), as: UTF8.self)
                } catch {
                    // What was just parsed serializes again; should it not, the call is recorded without them.
                    truncated = true
                }
            }
            return GatewayMCPCall(server: server, tool: tool, arguments: arguments, truncated: truncated)
        }
    }
}
