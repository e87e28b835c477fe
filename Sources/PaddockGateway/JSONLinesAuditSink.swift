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

    public func record(_ event: GatewayAuditEvent) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var line: Data
        do { line = try encoder.encode(event) } catch {
            throw PaddockError.internal("could not encode a gateway audit event", underlying: error)
        }
        line.append(0x0A)
        let file = path(for: event.session)
        try lock.withLock {
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw PaddockError.unavailable(
                    "cannot open the gateway audit file \(file): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count else {
                let why = written < 0 ? String(cString: strerror(errno)) : "\(written) of \(line.count) bytes written"
                throw PaddockError.unavailable("cannot append to the gateway audit file \(file): \(why)")
            }
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
