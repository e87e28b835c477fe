import Foundation
import PaddockCore
import Yams

/// Walks a composed YAML tree and collects every problem with its location, instead of stopping at the first.
///
/// Yams' node API is used rather than `Decodable` because only nodes carry their `Mark` (line and column), and
/// because a decoder cannot report unknown keys.
struct ConfigReader {
    /// The key/value pairs of one mapping, in file order.
    struct Fields {
        var pairs: [(key: String, keyNode: Node, value: Node)]

        subscript(key: String) -> Node? { pairs.first { $0.key == key }?.value }
    }

    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    // MARK: Reporting

    mutating func report(_ message: String, at node: Node) {
        report(message, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    mutating func report(_ message: String, at origin: RuleOrigin?) {
        report(message, line: origin?.line ?? 1, column: origin?.column ?? 1)
    }

    mutating func report(_ message: String, line: Int, column: Int) {
        errors.append(ConfigError(file: file, line: line, column: column, message: message))
    }

    /// All problems as one error (the first, with the rest attached), or nil when there were none.
    var error: ConfigError? {
        let sorted = errors.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        guard var first = sorted.first else { return nil }
        first.additionalErrors = Array(sorted.dropFirst())
        return first
    }

    func origin(of node: Node) -> RuleOrigin {
        RuleOrigin(file: file, line: node.mark?.line, column: node.mark?.column)
    }

    // MARK: Shapes

    /// Whether a node is YAML null (`key:` with nothing after it, `~`, `null`).
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// `a mapping`, `a list`, `'text'` — for "found …" in messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): isNull(node) ? "nothing" : "'\(scalar.string)'"
        case .alias: "an alias"
        }
    }

    /// `in guardrails` or `at the top level`.
    static func place(_ path: String) -> String { path.isEmpty ? "at the top level" : "in \(path)" }

    /// `guardrails.commands` from `guardrails` and `commands`.
    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The pairs of a mapping, reporting a non-mapping and every key not in `allowed` (nil allows any key, as
    /// for secret and team names). Null reads as an empty mapping.
    mutating func mapping(_ node: Node, _ path: String, allowed: [String]?, expected: String) -> Fields? {
        if Self.isNull(node) { return Fields(pairs: []) }
        guard case .mapping(let mapping) = node else {
            report("\(path.isEmpty ? "the file" : path) must be \(expected); found \(Self.describe(node))", at: node)
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                report("keys \(Self.place(path)) must be plain names; found \(Self.describe(keyNode))", at: keyNode)
                continue
            }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                let message = "unknown key '\(key)' \(Self.place(path))"
                let keys = allowed.joined(separator: ", ")
                if let suggestion = Spelling.suggestion(for: key, among: allowed) {
                    report("\(message); did you mean '\(suggestion)'? (allowed keys: \(keys))", at: keyNode)
                } else {
                    report("\(message); allowed keys: \(keys)", at: keyNode)
                }
                continue
            }
            pairs.append((key, keyNode, value))
        }
        return Fields(pairs: pairs)
    }

    /// The text of a scalar, reporting anything else; nil for null or a reported problem.
    mutating func scalar(_ node: Node, _ path: String, expected: String) -> String? {
        if Self.isNull(node) { return nil }
        guard case .scalar(let scalar) = node else {
            report("\(path) must be \(expected); found \(Self.describe(node))", at: node)
            return nil
        }
        return scalar.string
    }

    /// The items of a list of scalars with their nodes. Leniently, a single scalar is a list of one and null
    /// is an empty list.
    mutating func scalars(_ node: Node, _ path: String, expected: String) -> [(text: String, node: Node)] {
        if Self.isNull(node) { return [] }
        switch node {
        case .scalar(let scalar):
            return [(scalar.string, node)]
        case .sequence(let sequence):
            var items: [(text: String, node: Node)] = []
            for item in sequence {
                guard case .scalar(let scalar) = item, !Self.isNull(item) else {
                    report("each item of \(path) must be \(expected); found \(Self.describe(item))", at: item)
                    continue
                }
                items.append((scalar.string, item))
            }
            return items
        default:
            report("\(path) must be a list of \(expected); found \(Self.describe(node))", at: node)
            return []
        }
    }

    /// A whole number within `range`.
    mutating func integer(_ node: Node, _ path: String, range: ClosedRange<Int>, example: String) -> Sourced<Int>? {
        guard let text = scalar(node, path, expected: "a whole number such as \(example)") else { return nil }
        let digits = text.replacingOccurrences(of: "_", with: "")
        guard let value = Int(digits), range.contains(value) else {
            report(
                "\(path) must be a whole number from \(range.lowerBound) to \(range.upperBound), such as \(example); "
                    + "found '\(text)'", at: node)
            return nil
        }
        return Sourced(value, origin: origin(of: node))
    }

    /// A value parsed by one of PaddockCore's parsers, its error message prefixed with the key.
    mutating func parsed<Value>(
        _ node: Node, _ path: String, expected: String, _ parse: (String) throws(PaddockError) -> Value
    ) -> Sourced<Value>? {
        guard let text = scalar(node, path, expected: expected) else { return nil }
        do {
            return Sourced(try parse(text), origin: origin(of: node))
        } catch {
            report("\(path): \(error.message)", at: node)
            return nil
        }
    }
}
