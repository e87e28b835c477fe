import PaddockCore
import PaddockServices

extension PaddockRequestContext {
    /// A path parameter that must be present, such as a snapshot or template name.
    func requiredParameter(_ key: String, _ what: String) throws -> String {
        guard let value = parameters.get(key), !value.isEmpty else {
            throw PaddockError.invalidArgument("missing \(what) in the path")
        }
        return value
    }
}
