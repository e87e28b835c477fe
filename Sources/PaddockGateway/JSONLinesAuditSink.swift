import Foundation
import NIOConcurrencyHelpers
import PaddockCore

/// Appends each event as one JSON line to `<directory>/<session>.jsonl` (mode 0600).
public final class JSONLinesAuditSink: GatewayAuditSink {
    public let directory: String
    private let lock = NIOLock()

    public init(directory: String) throws(PaddockError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unavailable("cannot create the gateway audit directory \(directory)", underlying: error)
        }
    }

    public func path(for session: String) -> String { "\(directory)/\(session).jsonl" }

    public func record(_ event: GatewayAuditEvent) async {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        guard var line = try? encoder.encode(event) else { return }
        line.append(0x0A)
        let file = path(for: event.session)
        lock.withLock {
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// Every event recorded for `session`, oldest first.
    public func events(for session: String) -> [GatewayAuditEvent] {
        guard let data = FileManager.default.contents(atPath: path(for: session)) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(GatewayAuditEvent.self, from: $0) }
    }
}
