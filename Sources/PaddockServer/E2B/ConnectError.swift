import Foundation
import PaddockCore
import PaddockServices

/// A Connect protocol error: a code by name and a message. Unary calls answer it as the JSON body of a
/// non-200 response; streams carry it in their end-of-stream envelope.
struct ConnectError: Error, Equatable, Sendable, Codable {
    /// Connect's error codes. Decoded leniently: an unknown name is kept as it came.
    struct Code: RawRepresentable, Hashable, Sendable, Codable {
        let rawValue: String
        init(rawValue: String) { self.rawValue = rawValue }
        init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(rawValue)
        }

        static let canceled = Code(rawValue: "canceled")
        static let unknown = Code(rawValue: "unknown")
        static let invalidArgument = Code(rawValue: "invalid_argument")
        static let deadlineExceeded = Code(rawValue: "deadline_exceeded")
        static let notFound = Code(rawValue: "not_found")
        static let alreadyExists = Code(rawValue: "already_exists")
        static let permissionDenied = Code(rawValue: "permission_denied")
        static let resourceExhausted = Code(rawValue: "resource_exhausted")
        static let failedPrecondition = Code(rawValue: "failed_precondition")
        static let unimplemented = Code(rawValue: "unimplemented")
        static let `internal` = Code(rawValue: "internal")
        static let unavailable = Code(rawValue: "unavailable")
        static let unauthenticated = Code(rawValue: "unauthenticated")

        /// The HTTP status a unary error answers with (Connect's table).
        var httpStatus: Int {
            switch self {
            case .canceled: 499
            case .invalidArgument, .failedPrecondition: 400
            case .deadlineExceeded: 504
            case .notFound: 404
            case .alreadyExists: 409
            case .permissionDenied: 403
            case .resourceExhausted: 429
            case .unimplemented: 501
            case .unavailable: 503
            case .unauthenticated: 401
            default: 500
            }
        }
    }

    var code: Code
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The Connect error closest to a Paddock error; internal causes stay out of the message.
    init(_ error: PaddockError) {
        let code: Code =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .conflict: .failedPrecondition
            case .permissionDenied: .permissionDenied
            case .unauthenticated: .unauthenticated
            case .resourceExhausted, .payloadTooLarge: .resourceExhausted
            case .unavailable: .unavailable
            case .timeout: .deadlineExceeded
            default: .internal
            }
        self.init(code, error.message)
    }

    /// The JSON of the error alone (a unary error body).
    func json() -> [UInt8] {
        (try? ProtoJSON.encoder().encode(self)).map(Array.init) ?? Array(#"{"code":"internal"}"#.utf8)
    }

    /// The end-of-stream envelope that ends a stream with this error.
    func endStreamEnvelope() -> ConnectEnvelope {
        ConnectEnvelope(flags: ConnectEnvelope.endStreamFlag, payload: Array(#"{"error":"#.utf8) + json() + [0x7D])
    }

    /// The end-of-stream envelope of a stream that ended well.
    static let successEndStream = ConnectEnvelope(flags: ConnectEnvelope.endStreamFlag, payload: Array("{}".utf8))
}
