import PaddockCore
import PaddockInitProtocol

extension PaddockError {
    /// Maps an init failure onto the shared error codes.
    init(wireCode: String, message: String) {
        let code: PaddockError.Code =
            switch WireErrorCode(rawValue: wireCode) {
            case .notFound: .notFound
            case .permissionDenied: .permissionDenied
            case .invalidArgument: .invalidArgument
            case .alreadyExists: .alreadyExists
            case .resourceExhausted: .resourceExhausted
            case .internal, nil: .internal
            }
        self.init(code, message)
    }
}
