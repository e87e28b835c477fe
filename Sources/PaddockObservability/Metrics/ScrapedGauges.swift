import CoreMetrics
import Synchronization

/// A family of gauges whose values are read at scrape time (sessions by state, pool sizes, per-session
/// resources). Each `update` sets the label sets given and removes the series of those that were there last time
/// and are gone now, so a session that stops running leaves no series behind.
public final class ScrapedGauges: Sendable {
    public let name: String
    private let previous = Mutex<[[String]: Meter]>([:])
    let labelNames: [String]

    public init(name: String, labels: [String]) {
        self.name = name
        self.labelNames = labels
    }

    /// `values` maps label values (in the order of `labels`) to the gauge's value.
    public func update(_ values: [[String]: Double]) {
        let stale: [Meter] = previous.withLock { previous in
            var next: [[String]: Meter] = [:]
            for (labels, value) in values {
                let meter =
                    previous[labels]
                    ?? Meter(label: name, dimensions: Array(zip(labelNames, labels)))
                meter.set(value)
                next[labels] = meter
            }
            let gone = previous.filter { next[$0.key] == nil }.map(\.value)
            previous = next
            return gone
        }
        for meter in stale { meter.destroy() }
    }
}
