import Foundation
import PaddockCore
import PaddockServices

/// Bodies of E2B's control-plane REST API (camelCase JSON, dates as RFC 3339).
enum E2B {
    /// The envd version reported for every sandbox. The SDK gates features on it: 0.6.4 enables default
    /// users, octet-stream uploads, file metadata and watch entries, all of which this server supports.
    static let envdVersion = "0.6.4"
    static let clientID = "paddock"
    /// E2B's default timeout when a create does not give one, in seconds.
    static let defaultTimeout: Int64 = 300
    static let daemonPort = 49983
    static let codeInterpreterPort = 49999

    struct NewSandbox: Decodable, Sendable {
        struct AutoResume: Decodable, Sendable { var enabled: Bool? }
        var templateID: String
        var timeout: Int64?
        var metadata: [String: String]?
        var envVars: [String: String]?
        var secure: Bool?
        var autoPause: Bool?
        var autoResume: AutoResume?
    }

    struct ConnectSandbox: Decodable, Sendable {
        var timeout: Int64?
    }

    struct TimeoutRequest: Decodable, Sendable {
        var timeout: Int64
    }

    /// `PUT /sandboxes/{id}/network` (`Sandbox.update_network`): the sandbox's whole egress configuration,
    /// replacing the one it had; an omitted field is cleared.
    struct NetworkUpdate: Decodable, Sendable {
        var allowOut: [String]?
        var denyOut: [String]?
        var allowInternetAccess: Bool?
        var egressProxy: JSONIgnored?
        var rules: JSONIgnored?
    }

    /// A field whose presence matters and whose content is not read.
    struct JSONIgnored: Decodable, Sendable {
        init(from decoder: any Decoder) throws {}
    }

    /// Answer of create and connect.
    struct Sandbox: Encodable, Sendable {
        var templateID: String
        var sandboxID: String
        var alias: String?
        var clientID: String = E2B.clientID
        var envdVersion: String = E2B.envdVersion
        var envdAccessToken: String?
        /// Sent back by the code-interpreter SDK as `E2B-Traffic-Access-Token` on `/contexts`; nil for a sandbox
        /// created with `secure: false`.
        var trafficAccessToken: String?
        var domain: String?
    }

    /// An item of the list and the answer of get.
    struct SandboxDetail: Encodable, Sendable {
        var templateID: String
        var alias: String?
        var sandboxID: String
        var clientID: String = E2B.clientID
        var startedAt: String
        var endAt: String
        var cpuCount: Int
        var memoryMB: Int
        var diskSizeMB: Int
        var metadata: [String: String]?
        var state: String
        var envdVersion: String = E2B.envdVersion
        var envdAccessToken: String?
        var domain: String?
    }

    struct SandboxMetric: Encodable, Sendable {
        var timestamp: String
        var timestampUnix: Int64
        var cpuCount: Int
        var cpuUsedPct: Double
        var memUsed: Int64
        var memTotal: Int64
        var memCache: Int64
        var diskUsed: Int64
        var diskTotal: Int64
    }

    struct SnapshotRequest: Decodable, Sendable {
        var name: String?
        /// Paddock's: `files` or `processes`; unset, processes where the provider keeps them.
        var keeps: String?
    }

    struct SnapshotInfo: Encodable, Sendable {
        var snapshotID: String
        var names: [String]
        init(_ snapshot: Snapshot) {
            snapshotID = snapshot.id
            names = snapshot.name.map { [$0] } ?? []
        }
    }

    struct TemplateAlias: Encodable, Sendable {
        var templateID: String
        var `public`: Bool
    }

    struct ForkRequest: Decodable, Sendable {
        var count: Int?
        var timeout: Int64?
        /// Paddock's: `files` (the default) or `processes` (gVisor sandboxes).
        var keeps: String?
    }

    struct ForkResult: Encodable, Sendable {
        var sandbox: Sandbox
    }

    /// `{"code": <http status>, "message": "…"}`, the control plane's error shape.
    struct ErrorBody: Codable, Sendable {
        var code: Int
        var message: String
    }

    /// E2B template names that map onto Paddock templates.
    static let templateAliases = [
        "base": SessionSpec.defaultTemplate, "code-interpreter-v1": SessionSpec.defaultTemplate,
    ]

    static func isTemplateName(_ name: String) -> Bool {
        templateAliases[name] != nil || name == SessionSpec.defaultTemplate
    }

    /// The Paddock template for an E2B template name or id.
    static func paddockTemplate(_ e2bName: String) throws(PaddockError) -> String {
        if let mapped = templateAliases[e2bName] { return mapped }
        if e2bName == SessionSpec.defaultTemplate { return e2bName }
        throw .notFound(
            "template '\(e2bName)' does not exist on this server; use 'base' or 'code-interpreter-v1' (both the "
                + "'\(SessionSpec.defaultTemplate)' template)")
    }

    /// RFC 3339 with any number of fractional digits (Python's `isoformat()` sends microseconds).
    static func parseRFC3339(_ text: String) -> Date? {
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." })
        {
            fraction = Double("0" + text[dot..<zone]) ?? 0
            whole = String(text[..<dot] + text[zone...])
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: whole).map { $0.addingTimeInterval(fraction) }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func rfc3339(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
