import Foundation

/// Names the field behind Foundation's "not valid JSON" for a number that does not fit its type.
///
/// On Linux, `JSONDecoder` reports `1.5` or `1e20` for an `Int`, or `70000` for a `UInt16`, as data corruption
/// with an empty coding path, so the client would hear "malformed JSON" about a well-formed body. When the body
/// is valid JSON, each number (the first `maxAttempts`) is put back as `0` in turn and the body decoded again:
/// the first whose replacement gets the decode past it is the field that wants a whole number.
enum JSONNumberDiagnosis {
    static let maxAttempts = 64

    struct Finding: Equatable {
        /// The field as the client wrote it: `pids`, `tty.rows`, `process.args[2]`.
        var path: String
        var value: String
        var message: String { "\(path) must be a whole number in range, not \(value)" }
    }

    private enum Step {
        case key(String)
        case index(Int)
    }

    static func diagnose<T: Decodable>(_ type: T.Type, data: Data, decoder: JSONDecoder) -> Finding? {
        guard let tree = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return nil
        }
        var numbers: [[Step]] = []
        collectNumbers(tree, path: [], into: &numbers)
        for path in numbers.prefix(maxAttempts) {
            let replaced = replacing(tree, at: path[...])
            guard let patched = try? JSONSerialization.data(withJSONObject: replaced, options: [.fragmentsAllowed])
            else { continue }
            let text = describe(path)
            do {
                _ = try decoder.decode(T.self, from: patched)
            } catch let error as DecodingError {
                if case .dataCorrupted(let c) = error, c.codingPath.isEmpty { continue }
                if case .typeMismatch(_, let c) = error, describe(c.codingPath) == text { continue }
            } catch {
                continue
            }
            return Finding(path: text, value: "\(value(tree, at: path[...]) ?? "?")")
        }
        return nil
    }

    private static func isNumber(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        // JSONSerialization gives `true`/`false` as NSNumber too; their type is 'c' (char).
        return String(cString: number.objCType) != "c"
    }

    private static func collectNumbers(_ value: Any, path: [Step], into numbers: inout [[Step]]) {
        guard numbers.count < maxAttempts else { return }
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                collectNumbers(object[key] as Any, path: path + [.key(key)], into: &numbers)
            }
        } else if let array = value as? [Any] {
            for (index, item) in array.enumerated() {
                collectNumbers(item, path: path + [.index(index)], into: &numbers)
            }
        } else if isNumber(value) {
            numbers.append(path)
        }
    }

    private static func replacing(_ value: Any, at path: ArraySlice<Step>) -> Any {
        guard let step = path.first else { return NSNumber(value: 0) }
        switch step {
        case .key(let key):
            guard var object = value as? [String: Any], let inner = object[key] else { return value }
            object[key] = replacing(inner, at: path.dropFirst())
            return object
        case .index(let index):
            guard var array = value as? [Any], array.indices.contains(index) else { return value }
            array[index] = replacing(array[index], at: path.dropFirst())
            return array
        }
    }

    private static func value(_ value: Any, at path: ArraySlice<Step>) -> Any? {
        guard let step = path.first else { return value }
        switch step {
        case .key(let key): return (value as? [String: Any])?[key].flatMap { Self.value($0, at: path.dropFirst()) }
        case .index(let index):
            guard let array = value as? [Any], array.indices.contains(index) else { return nil }
            return Self.value(array[index], at: path.dropFirst())
        }
    }

    private static func describe(_ path: [Step]) -> String {
        var out = ""
        for step in path {
            switch step {
            case .key(let key): out += out.isEmpty ? key : ".\(key)"
            case .index(let index): out += "[\(index)]"
            }
        }
        return out
    }

    /// A decoder's coding path in the same form; keys converted from snake_case are written back as sent.
    private static func describe(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }
}
