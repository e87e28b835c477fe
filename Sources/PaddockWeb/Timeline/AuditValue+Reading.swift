import PaddockCore

/// Reading an audit event's fields for display: a field of another type than expected reads as absent.
extension AuditValue {
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var int: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var strings: [String]? {
        if case .list(let items) = self { return items.compactMap(\.stringValue) }
        return nil
    }
}
