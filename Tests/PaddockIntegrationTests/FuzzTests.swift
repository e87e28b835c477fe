import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Random and mutated request bodies against the routes that create sessions, run commands and touch files,
/// on `/v1` and the E2B API. Whatever comes in: no crash, no 5xx, and nothing left behind.
///
/// Deterministic: `PADDOCK_FUZZ_SEED` and `PADDOCK_FUZZ_ITERATIONS` reproduce a run; a failure prints the seed,
/// the iteration and the input.
struct FuzzTests {
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["PADDOCK_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x00C0_FFEE
    }
    static var iterations: Int {
        ProcessInfo.processInfo.environment["PADDOCK_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 3000
    }

    enum Door: CaseIterable {
        case create, exec, upload, stat, token, e2bCreate, e2bTimeout, e2bConnect, e2bProcess, e2bFiles
    }

    @Test func fuzzedRequestsNeverCrashFailOrLeaveAnythingBehind() async throws {
        let seed = Self.seed
        let iterations = Self.iterations
        print("fuzz: seed \(seed), \(iterations) requests (PADDOCK_FUZZ_SEED, PADDOCK_FUZZ_ITERATIONS)")
        try await FakeStack.with("fuzz") { stack, v1, e2b in
            var rng = SeededGenerator(seed: seed)
            let target = try await stack.session()
            let sandbox = try await stack.sessions.create(
                {
                    var spec = SessionSpec(name: "e2b:base", workdir: "/home/user")
                    spec.autoResume = true
                    return spec
                }())
            var envd = stack.e2bAuth
            if let header = HTTPField.Name("e2b-sandbox-id") { envd[header] = sandbox.id.rawValue }
            var failures = 0
            var statuses: [Int: Int] = [:]
            for iteration in 0..<iterations where failures < 5 {
                let door = Door.allCases.randomElement(using: &rng) ?? .create
                let request = Self.request(door, target: target.id.rawValue, sandbox: sandbox.id.rawValue, &rng)
                let client = door.isE2B ? e2b : v1
                var headers = door == .e2bProcess || door == .e2bFiles ? envd : door.isE2B ? stack.e2bAuth : stack.auth
                if door == .upload || door == .e2bFiles { headers[.contentType] = "application/octet-stream" }
                let response = try await client.execute(
                    uri: request.uri, method: request.method, headers: headers, body: ByteBuffer(bytes: request.body))
                statuses[response.status.code, default: 0] += 1
                if response.status.code >= 500 {
                    failures += 1
                    Issue.record(
                        """
                        fuzz seed \(seed) iteration \(iteration): \(request.method) \(request.uri.prefix(300)) answered \
                        \(response.status.code) \(String(buffer: response.body).prefix(500))
                        body: \(String(decoding: request.body.prefix(2000), as: UTF8.self))
                        """)
                }
                // What a create made is removed again (through the API), so the run stays small.
                if response.status == .created, door == .create || door == .e2bCreate {
                    let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                    let object = json as? [String: Any]
                    if let id = object?["id"] as? String {
                        _ = try await v1.execute(uri: "/v1/sessions/\(id)", method: .delete, headers: stack.auth)
                    } else if let id = object?["sandboxID"] as? String {
                        _ = try await e2b.execute(uri: "/sandboxes/\(id)", method: .delete, headers: stack.e2bAuth)
                    }
                }
                if iteration % 500 == 499 {
                    let problems = try await stack.leftovers()
                    #expect(problems.isEmpty, "fuzz seed \(seed) after iteration \(iteration): \(problems)")
                }
            }
            print("fuzz: answers by status \(statuses.sorted { $0.key < $1.key })")
            #expect(try await stack.leftovers().isEmpty, "fuzz seed \(seed)")
            // The lists every client and a restart rely on still read.
            try await v1.execute(uri: "/v1/sessions?all=true", method: .get, headers: stack.auth) { r in
                #expect(r.status == .ok, "fuzz seed \(seed): \(r.text.prefix(300))")
            }
            try await v1.execute(uri: "/v1/tokens", method: .get, headers: stack.auth) { r in
                #expect(r.status == .ok, "fuzz seed \(seed): \(r.text.prefix(300))")
            }
            try await e2b.execute(uri: "/v2/sandboxes", method: .get, headers: stack.e2bAuth) { r in
                #expect(r.status == .ok, "fuzz seed \(seed): \(r.text.prefix(300))")
            }
            try await stack.sessions.recover()
            #expect(try await stack.leftovers().isEmpty, "fuzz seed \(seed) after recovery")
        }
    }

    struct Request {
        var method: HTTPRequest.Method
        var uri: String
        var body: [UInt8]
    }

    static func request(_ door: Door, target: String, sandbox: String, _ rng: inout SeededGenerator) -> Request {
        switch door {
        case .create:
            return Request(method: .post, uri: "/v1/sessions", body: JSONValue.mutated(createSeed, &rng))
        case .exec:
            return Request(method: .post, uri: "/v1/sessions/\(target)/exec", body: JSONValue.mutated(execSeed, &rng))
        case .upload:
            return Request(
                method: .put, uri: "/v1/sessions/\(target)/files?path=\(path(&rng))",
                body: Array(JSONValue.randomString(&rng).utf8))
        case .stat:
            return Request(method: .get, uri: "/v1/sessions/\(target)/files/stat?path=\(path(&rng))", body: [])
        case .token:
            return Request(method: .post, uri: "/v1/tokens", body: JSONValue.mutated(tokenSeed, &rng))
        case .e2bCreate:
            return Request(method: .post, uri: "/sandboxes", body: JSONValue.mutated(e2bCreateSeed, &rng))
        case .e2bTimeout:
            return Request(
                method: .post, uri: "/sandboxes/\(sandbox)/timeout", body: JSONValue.mutated(timeoutSeed, &rng))
        case .e2bConnect:
            return Request(
                method: .post, uri: "/sandboxes/\(sandbox)/connect", body: JSONValue.mutated(timeoutSeed, &rng))
        case .e2bProcess:
            return Request(method: .post, uri: "/process.Process/Start", body: JSONValue.mutated(processSeed, &rng))
        case .e2bFiles:
            return Request(
                method: .post, uri: "/files?path=\(path(&rng))", body: Array(JSONValue.randomString(&rng).utf8))
        }
    }

    /// A path query parameter: interesting text, percent-encoded (so a NUL arrives as one).
    static func path(_ rng: inout SeededGenerator) -> String {
        let text = JSONValue.randomString(&rng)
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "x"
    }

    static let createSeed = JSONValue.object([
        ("name", .string("fuzz")), ("template", .string("host")), ("provider", .string("local")),
        ("env", .object([("A", .string("b"))])), ("memory", .string("256MiB")), ("cpus", .number("1")),
        ("pids", .number("64")), ("disk", .string("1GiB")), ("ttl", .string("10m")), ("idle", .string("5m")),
        ("workdir", .string("/workspace")),
    ])
    /// Not `repo`: a repository session clones over the network (its validation has its own tests).
    static let createKeys = [
        "name", "template", "provider", "env", "memory", "cpus", "pids", "disk", "ttl", "idle", "workdir", "snapshot",
        "secrets", "allow", "deny", "team", "policy",
    ]
    static let execSeed = JSONValue.object([
        ("cmd", .array([.string("echo"), .string("hi")])), ("env", .object([("A", .string("b"))])),
        ("cwd", .string("/workspace")), ("user", .string("user")), ("timeout", .string("10s")),
        ("tty", .object([("rows", .number("24")), ("cols", .number("80"))])),
    ])
    static let tokenSeed = JSONValue.object([
        ("name", .string("fuzz")), ("scopes", .array([.string("read")])), ("expires_in", .string("1h")),
    ])
    static let e2bCreateSeed = JSONValue.object([
        ("templateID", .string("base")), ("timeout", .number("300")), ("envVars", .object([("A", .string("b"))])),
        ("metadata", .object([("k", .string("v"))])), ("autoPause", .bool(false)),
    ])
    static let timeoutSeed = JSONValue.object([("timeout", .number("60"))])
    static let processSeed = JSONValue.object([
        (
            "process",
            .object([
                ("cmd", .string("echo")), ("args", .array([.string("hi")])), ("envs", .object([("A", .string("b"))])),
                ("cwd", .string("/home/user")),
            ])
        ),
        ("stdin", .bool(false)),
    ])
}

extension FuzzTests.Door {
    var isE2B: Bool { [.e2bCreate, .e2bTimeout, .e2bConnect, .e2bProcess, .e2bFiles].contains(self) }
}

/// A JSON value that keeps numbers as text, so a body can carry `1e309`, `-0` or a 30-digit integer exactly as a
/// hostile client would write them.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Rendered straight to bytes: bodies run to hundreds of kilobytes, thousands of times.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        render(into: &out)
        return out
    }

    private func render(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n): out += Array(n.utf8)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.render(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(pair.0, into: &out)
                out.append(UInt8(ascii: ":"))
                pair.1.render(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static let strings = [
        "", "nan", "NaN", "inf", "-inf", "1e309", "99999999999999999999d", "3000000d", "100000000h", "0", "0s", "-1s",
        "1.5", "10m", "30s", "1h30m", "\u{0}", "a\u{0}b", "/proc/1/root", "/proc", "/sys/kernel", "/dev/null", "..",
        "../..", "relative/dir", "/", "/workspace", "/workspace/../..", "A=B", "=", "💥", "\n", "%00", "-", "--help",
        "host", "local", "gvisor", "base", "user", "root", "512MiB", "0.0001", "1e-400", "16EiB", "99999999TiB", "read",
        "write", "admin", "https://example.com/repo.git", "main", "/tmp/x",
    ]
    static let numbers = [
        "0", "-0", "-1", "1", "1.5", "0.0001", "0.009", "1e309", "-1e309", "1e-400", "99999999999999999999",
        "400000000000", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "65536", "4294967296",
        "3153600001", "1024.5", "100000000000000000000000000000000000000",
    ]

    static func randomString(_ rng: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: return String(repeating: "a", count: Int.random(in: 100...300_000, using: &rng))
        case 1:
            let scalars = (0..<Int.random(in: 0...40, using: &rng)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2FF, using: &rng))
            }
            return String(String.UnicodeScalarView(scalars))
        default: return strings.randomElement(using: &rng) ?? ""
        }
    }

    static func random(_ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 2 ? 4 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(numbers.randomElement(using: &rng) ?? "0")
        case 3: return .string(randomString(&rng))
        case 4:
            return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in random(&rng, depth: depth + 1) })
        case 5:
            // An environment-like object: sometimes with thousands of keys or bad names.
            let count =
                Bool.random(using: &rng) ? Int.random(in: 0...4, using: &rng) : Int.random(in: 900...1500, using: &rng)
            return .object(
                (0..<count).map { i in
                    // Short values: the size limits are reached by the long strings elsewhere.
                    let key =
                        Int.random(in: 0..<50, using: &rng) == 0 ? strings.randomElement(using: &rng) ?? "" : "K\(i)"
                    return (key, .string(strings.randomElement(using: &rng) ?? ""))
                })
        default:
            return .object(
                (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    (randomString(&rng), random(&rng, depth: depth + 1))
                })
        }
    }

    /// The seed with one to three structural mutations, then sometimes a byte-level one.
    static func mutated(_ seed: JSONValue, _ rng: inout SeededGenerator) -> [UInt8] {
        var value = seed
        for _ in 0..<Int.random(in: 1...3, using: &rng) { value = value.mutatedOnce(&rng) }
        var bytes = value.bytes
        if Int.random(in: 0..<5, using: &rng) == 0, !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &rng)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
            case 2: bytes.remove(at: index)
            default: bytes = Array(bytes[..<index])
            }
        }
        return bytes
    }

    func mutatedOnce(_ rng: inout SeededGenerator) -> JSONValue {
        guard case .object(var pairs) = self, !pairs.isEmpty else { return JSONValue.random(&rng) }
        let index = Int.random(in: 0..<pairs.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: pairs[index].1 = JSONValue.random(&rng)
        case 1: pairs.remove(at: index)
        case 2:
            let keys = FuzzTests.createKeys + ["timeout", "envVars", "cwd", "cmd", "expires_in", "templateID", "args"]
            pairs.append((keys.randomElement(using: &rng) ?? "x", JSONValue.random(&rng)))
        case 3: pairs[index].1 = pairs[index].1.mutatedOnce(&rng)
        default:
            if case .string = pairs[index].1 { pairs[index].1 = .string(JSONValue.randomString(&rng)) }
            if case .number = pairs[index].1 {
                pairs[index].1 = .number(JSONValue.numbers.randomElement(using: &rng) ?? "0")
            }
            if case .array(var items) = pairs[index].1 {
                items.append(.string(JSONValue.randomString(&rng)))
                pairs[index].1 = .array(items)
            }
        }
        return .object(pairs)
    }
}
