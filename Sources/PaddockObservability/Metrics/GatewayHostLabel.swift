import Synchronization

/// Keeps the gateway's `host` label bounded: an agent can ask for any number of made-up hosts, and each new
/// label value is a new series in every scrape. The first `limit` hosts seen keep their name; later ones are
/// counted as `other` (their names stay in the audit trail).
public final class GatewayHostLabel: Sendable {
    public static let shared = GatewayHostLabel(limit: 500)

    let limit: Int
    private let seen = Mutex<Set<String>>([])

    public init(limit: Int) { self.limit = limit }

    public func label(for host: String) -> String {
        seen.withLock { seen in
            if seen.contains(host) { return host }
            guard seen.count < limit else { return "other" }
            seen.insert(host)
            return host
        }
    }
}
