import Crypto
import Foundation
import PaddockCore
import PaddockStore

/// What a webhook request brings besides its body, as the door read it.
public struct WebhookRequest: Sendable {
    public var body: Data
    /// Header names in lower case.
    public var headers: [String: String]

    public init(body: Data, headers: [String: String]) {
        self.body = body
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    }
}

extension AutomationService {
    /// The largest webhook body accepted; PagerDuty and Sentry send a few KiB.
    public static let maxWebhookBytes = 256 << 10
    /// How far a signed request's timestamp may be from the server's clock.
    public static let signatureTolerance: TimeInterval = 300

    /// Authenticates a webhook request for the automation and stores its event (`receive`). It must carry the
    /// automation's secret as `Authorization: Bearer <secret>`, or sign the body: `X-Paddock-Timestamp: <unix
    /// seconds>` and `X-Paddock-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, within five
    /// minutes. Anything else is `unauthenticated` (401) and recorded in the org trail; an automation that does
    /// not exist or is not a webhook answers the same, so ids cannot be probed.
    public func receiveWebhook(_ id: String, _ request: WebhookRequest) async throws -> Invocation {
        let automation = try await authenticateHook(id, request)
        let event = try JSONDocument.parse(request.body)
        let key = try Self.dedupeKey(automation.spec, request, event)
        return try await receive(event, automation: id, dedupeKey: key, trigger: "webhook")
    }

    /// An invocation of the automation, for the webhook's sender (`GET /hooks/<id>/invocations/<invocation>`,
    /// authenticated like the event, the body being empty).
    public func hookStatus(_ id: String, invocation: String, _ request: WebhookRequest) async throws -> InvocationRecord
    {
        _ = try await authenticateHook(id, request)
        guard let found = try await store.invocation(invocation), found.automation == id else {
            throw PaddockError.notFound("invocation \(InputLimits.printable(invocation)) does not exist")
        }
        return InvocationRecord(invocation: found, outbox: try await store.outbox(invocation: invocation))
    }

    func authenticateHook(_ id: String, _ request: WebhookRequest) async throws -> Automation {
        let refused = PaddockError(
            .unauthenticated,
            "the request is not signed for this hook; send the automation's secret as Authorization: Bearer, or sign "
                + "the body (X-Paddock-Timestamp, X-Paddock-Signature: sha256=HMAC of \"timestamp.body\")")
        guard Automation.looksLikeID(id), let automation = try await store.automation(id),
            automation.spec.source == .webhook, let stored = try await store.automationSecret(id)
        else {
            throw refused
        }
        let secret = try await opened(stored, automation: id)
        if let why = Self.checkSignature(request, secret: secret, scheme: automation.spec.signature, now: clock()) {
            logger.notice("a webhook request was refused", metadata: ["automation.id": "\(id)", "reason": "\(why)"])
            try await sessions.orgTrail.record(
                "automation.hook_refused", ["automation": .string(id), "reason": .string(why)], by: .system)
            throw refused
        }
        return automation
    }

    /// Nil when the request carries the secret or a valid fresh signature; otherwise why not (for the trail,
    /// never holding the secret or the signature).
    static func checkSignature(_ request: WebhookRequest, secret: String, scheme: String?, now: Date) -> String? {
        let key = SymmetricKey(data: Data(secret.utf8))
        func bodyMAC(_ hex: Substring) -> Bool {
            guard let mac = Data(hex: String(hex)) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: request.body, using: key)
        }
        // PagerDuty may send several signatures (while it rotates secrets): any one that matches will do.
        if scheme == "pagerduty", let header = request.headers["x-pagerduty-signature"] {
            let signatures = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return signatures.contains { $0.hasPrefix("v1=") && bodyMAC($0.dropFirst(3)) }
                ? nil : "an X-PagerDuty-Signature that does not match the body"
        }
        if scheme == "sentry", let header = request.headers["sentry-hook-signature"] {
            return bodyMAC(Substring(header)) ? nil : "a Sentry-Hook-Signature that does not match the body"
        }
        if let authorization = request.headers["authorization"] {
            guard authorization.hasPrefix("Bearer ") else { return "an Authorization header that is not Bearer" }
            // Digests compared, not the strings: swift-crypto compares digests in constant time.
            return SHA256.hash(data: Data(authorization.dropFirst(7).utf8)) == SHA256.hash(data: Data(secret.utf8))
                ? nil : "a wrong bearer secret"
        }
        guard let stamp = request.headers["x-paddock-timestamp"], let signature = request.headers["x-paddock-signature"]
        else {
            return "no Authorization and no X-Paddock-Signature"
        }
        guard let seconds = Double(stamp), abs(now.timeIntervalSince1970 - seconds) <= signatureTolerance else {
            return "a timestamp more than five minutes from the server's clock"
        }
        guard signature.hasPrefix("sha256="), let mac = Data(hex: String(signature.dropFirst(7))) else {
            return "a signature that is not sha256=<hex>"
        }
        var signed = Data("\(stamp).".utf8)
        signed.append(request.body)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key)
            ? nil : "a signature that does not match the body"
    }

    /// The event's idempotency key: from where the automation says, else the `Idempotency-Key` header, else the
    /// body's hash (the same body twice is the same event).
    static func dedupeKey(_ spec: AutomationSpec, _ request: WebhookRequest, _ event: JSONDocument) throws(PaddockError)
        -> String
    {
        if let source = spec.idempotencyKey {
            switch try IdempotencyKeySource(source) {
            case .header(let name):
                guard let value = request.headers[name.lowercased()], !value.isEmpty else {
                    throw .invalidArgument(
                        "the request has no \(name) header, which this hook takes its idempotency key from")
                }
                return "header:" + value.prefix(256)
            case .json(let path):
                guard let value = event[try JSONPath(path)], value != .null, !value.text.isEmpty else {
                    throw .invalidArgument(
                        "the event has no value at \(path), which this hook takes its idempotency key from")
                }
                return "json:" + value.text.prefix(256)
            }
        }
        if let key = request.headers["idempotency-key"], !key.isEmpty { return "header:" + key.prefix(256) }
        return "body:" + SHA256.hash(data: request.body).map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    /// Bytes from lowercase or uppercase hex; nil for anything else.
    init?(hex: String) {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
