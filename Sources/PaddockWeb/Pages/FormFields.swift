import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, as the pages' forms send it.
struct FormFields: Sendable {
    /// Forms carry prompts and notes, not files.
    static let maxBytes = 256 << 10
    private var values: [String: [String]] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            values[key, default: []].append(value)
        }
    }

    static func decode(_ part: Substring) -> String {
        part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
    }

    subscript(_ name: String) -> String? { values[name]?.first }

    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// A required, non-empty field, or an error that says which one is missing.
    func required(_ name: String, _ what: String) throws -> String {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            throw HTTPError(.badRequest, message: "\(what) is empty; fill it in and send the form again.")
        }
        return value
    }

    static func read(_ request: Request) async throws -> FormFields {
        var request = request
        let body = try await request.collectBody(upTo: maxBytes)
        return FormFields(String(buffer: body))
    }
}
