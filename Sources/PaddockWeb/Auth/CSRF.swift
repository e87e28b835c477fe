import Foundation
import Hummingbird

/// The CSRF token of a state-changing request: the `X-CSRF-Token` header (the pages' scripts) or the `_csrf`
/// field of a form. Reading the form consumes the body, so the request handed on carries it again.
enum CSRF {
    static let header = HTTPFields.Element.Name("X-CSRF-Token")

    static func token(in request: Request, context: some RequestContext) async throws -> (Request, String?) {
        if let header, let token = request.headers[header] { return (request, token) }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return (request, nil)
        }
        var request = request
        let body = try await request.collectBody(upTo: FormFields.maxBytes)
        let fields = FormFields(String(buffer: body))
        return (request, fields["_csrf"])
    }

    /// Compares in time independent of where the two differ.
    static func matches(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8)
        let b = Array(expected.utf8)
        guard a.count == b.count, !a.isEmpty else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
