import Foundation

/// A parsed `multipart/form-data` body (RFC 7578): the parts in order, each with its headers' form name,
/// filename and content.
struct MultipartFormData: Sendable {
    struct Part: Sendable, Equatable {
        var name: String?
        var filename: String?
        var contentType: String?
        var body: [UInt8]
    }

    var parts: [Part]

    enum ParseError: Error, Equatable {
        case missingBoundary
        case malformed(String)
    }

    /// The boundary named by a `Content-Type` header value.
    static func boundary(contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1]
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2
                ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    init(body: [UInt8], boundary: String) throws(ParseError) {
        guard !boundary.isEmpty else { throw .missingBoundary }
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = Self.find(delimiter, in: body, from: 0) else {
            throw .malformed("the body does not contain the boundary")
        }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter ends the body.
            if body.count >= position + 2 && body[position] == 0x2D && body[position + 1] == 0x2D { break }
            guard let headerStart = Self.skipLineBreak(body, position) else {
                throw .malformed("a boundary is not followed by a line break")
            }
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: headerStart) else {
                throw .malformed("a part's headers do not end")
            }
            let headerText = String(decoding: body[headerStart..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = Self.find(Array("\r\n".utf8) + delimiter, in: body, from: contentStart) else {
                throw .malformed("a part does not end with the boundary")
            }
            var part = Part(body: Array(body[contentStart..<next]))
            for line in headerText.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                switch pair[0].lowercased() {
                case "content-disposition":
                    part.name = Self.parameter("name", in: value)
                    part.filename = Self.parameter("filename", in: value)
                case "content-type": part.contentType = value
                default: break
                }
            }
            parts.append(part)
            position = next + 2
        }
        self.parts = parts
    }

    /// A `key="value"` parameter of a header value; quoted values may contain `;` and escaped quotes.
    static func parameter(_ key: String, in value: String) -> String? {
        var rest = Substring(value)
        while let semicolon = rest.firstIndex(of: ";") {
            rest = rest[rest.index(after: semicolon)...].drop { $0 == " " }
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var after = rest[rest.index(after: equals)...]
            var parsed = ""
            if after.first == "\"" {
                after = after.dropFirst()
                var escaped = false
                var end = after.endIndex
                for index in after.indices {
                    let c = after[index]
                    if escaped {
                        parsed.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        end = index
                        break
                    } else {
                        parsed.append(c)
                    }
                }
                rest = end < after.endIndex ? after[after.index(after: end)...] : after[after.endIndex...]
            } else {
                let end = after.firstIndex(of: ";") ?? after.endIndex
                parsed = after[..<end].trimmingCharacters(in: .whitespaces)
                rest = after[end...]
            }
            if name == key.lowercased() { return parsed }
        }
        return nil
    }

    private static func skipLineBreak(_ body: [UInt8], _ at: Int) -> Int? {
        if body.count >= at + 2 && body[at] == 0x0D && body[at + 1] == 0x0A { return at + 2 }
        if body.count >= at + 1 && body[at] == 0x0A { return at + 1 }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
