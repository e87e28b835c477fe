/// The one error type shared by every Paddock module.
///
/// `code` decides the HTTP status and the stable JSON body the API returns; `message` is written for the
/// person reading it and says what to do next; `underlying` keeps the low-level cause for logs only —
/// it never reaches a client.
public struct PaddockError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidArgument = Code(rawValue: "invalid_argument")
        public static let notFound = Code(rawValue: "not_found")
        public static let alreadyExists = Code(rawValue: "already_exists")
        public static let conflict = Code(rawValue: "conflict")
        public static let permissionDenied = Code(rawValue: "permission_denied")
        public static let unauthenticated = Code(rawValue: "unauthenticated")
        public static let resourceExhausted = Code(rawValue: "resource_exhausted")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let timeout = Code(rawValue: "timeout")
        public static let `internal` = Code(rawValue: "internal")

        /// The HTTP status every door (the API, the E2B API, the web pages) answers this code with: part of the
        /// API's error contract, so it is kept with the codes.
        public var httpStatusCode: Int {
            switch self {
            case .invalidArgument: 400
            case .notFound: 404
            case .alreadyExists, .conflict: 409
            case .permissionDenied: 403
            case .unauthenticated: 401
            case .resourceExhausted: 429
            case .payloadTooLarge: 413
            case .unavailable: 503
            case .timeout: 504
            default: 500
            }
        }
    }

    public var code: Code
    public var message: String
    /// A description of the low-level cause, for logs. Never sent to clients.
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }

    public static func == (a: PaddockError, b: PaddockError) -> Bool { a.code == b.code && a.message == b.message }
}

extension PaddockError {
    public static func invalidArgument(_ m: String) -> PaddockError { .init(.invalidArgument, m) }
    public static func notFound(_ m: String) -> PaddockError { .init(.notFound, m) }
    public static func permissionDenied(_ m: String) -> PaddockError { .init(.permissionDenied, m) }
    public static func conflict(_ m: String) -> PaddockError { .init(.conflict, m) }
    public static func unavailable(_ m: String, underlying: (any Error)? = nil) -> PaddockError {
        .init(.unavailable, m, underlying: underlying)
    }
    public static func `internal`(_ m: String, underlying: (any Error)? = nil) -> PaddockError {
        .init(.internal, m, underlying: underlying)
    }

    /// A request body over the server's limit (`limit` bytes, when the caller knows it).
    public static func bodyTooLarge(limit: Int?) -> PaddockError {
        let size = limit.map { " of \(ByteSize(bytes: UInt64(max($0, 0))))" } ?? ""
        return .init(
            .payloadTooLarge,
            "the request body is over the limit\(size); send less (files go through the files API, which "
                + "streams them)")
    }

    /// Wraps anything thrown into a PaddockError, keeping it if it already is one.
    public static func wrap(_ error: any Error, _ message: @autoclosure () -> String) -> PaddockError {
        if let e = error as? PaddockError { return e }
        return .internal(message(), underlying: error)
    }
}
