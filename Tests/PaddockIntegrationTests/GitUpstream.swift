import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PaddockHost

/// A git remote over smart HTTP: `git http-backend` (CGI) behind a loopback HTTPS server, serving one bare
/// repository `repo.git` with a README.
struct GitUpstream {
    let upstream: LoopbackUpstream
    let directory: String

    static func start() async throws -> GitUpstream {
        let directory = "/tmp/paddock-git-remote-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/work", withIntermediateDirectories: true)
        try "hello from the loopback remote\n".write(
            toFile: directory + "/work/README", atomically: true, encoding: .utf8)
        for args in [
            ["-C", directory + "/work", "init", "-q", "-b", "main"],
            ["-C", directory + "/work", "add", "README"],
            [
                "-C", directory + "/work", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm",
                "init",
            ],
            ["clone", "-q", "--bare", directory + "/work", directory + "/repo.git"],
        ] {
            let r = try await runHost("/usr/bin/git", args, environment: [:], input: Data())
            guard r.status == 0 else {
                throw CGIError("git \(args) failed: \(String(decoding: r.stderr, as: UTF8.self))")
            }
        }
        let root = directory
        let upstream = try await LoopbackUpstream.start { router in
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                let body = try await request.body.collect(upTo: 64 << 20)
                var env = [
                    "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": request.uri.path,
                    "REQUEST_METHOD": request.method.rawValue, "QUERY_STRING": request.uri.query ?? "",
                    "CONTENT_LENGTH": String(body.readableBytes), "REMOTE_ADDR": "127.0.0.1",
                    "CONTENT_TYPE": request.headers[.contentType] ?? "",
                ]
                if let encoding = request.headers[.contentEncoding] { env["HTTP_CONTENT_ENCODING"] = encoding }
                if let name = HTTPField.Name("Git-Protocol"), let protocolHeader = request.headers[name] {
                    env["GIT_PROTOCOL"] = protocolHeader
                }
                let r = try await runHost(
                    "/usr/bin/git", ["http-backend"], environment: env, input: Data(body.readableBytesView))
                return cgiResponse(r.stdout)
            }
            router.get("/repo.git/**", use: handler)
            router.post("/repo.git/**", use: handler)
        }
        return GitUpstream(upstream: upstream, directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

struct CGIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Splits CGI output into a response: headers up to the blank line (`Status:` sets the status), then the body.
func cgiResponse(_ output: Data) -> Response {
    let bytes = Array(output)
    var split = bytes.count
    var bodyStart = bytes.count
    for i in 0..<bytes.count {
        if bytes[i...].starts(with: [13, 10, 13, 10]) {
            split = i
            bodyStart = i + 4
            break
        }
        if bytes[i...].starts(with: [10, 10]) {
            split = i
            bodyStart = i + 2
            break
        }
    }
    var status = HTTPResponse.Status.ok
    var headers = HTTPFields()
    for line in String(decoding: bytes[0..<split], as: UTF8.self).split(whereSeparator: \.isNewline) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if name.lowercased() == "status", let code = Int(value.prefix(3)) {
            status = .init(code: code)
        } else if let field = HTTPField.Name(name) {
            headers[field] = value
        }
    }
    return Response(
        status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes[bodyStart...])))
}

/// Runs a host program with `input` on stdin; collects stdout and stderr. Input and stderr go through
/// temporary files, so neither side can block the other.
func runHost(_ path: String, _ arguments: [String], environment: [String: String], input: Data) async throws
    -> (status: Int32, stdout: Data, stderr: Data)
{
    let base = "/tmp/paddock-cgi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    FileManager.default.createFile(atPath: base + ".in", contents: input)
    FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: base + ".in")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a } }
    process.standardInput = FileHandle(forReadingAtPath: base + ".in")
    process.standardError = FileHandle(forWritingAtPath: base + ".err")
    let stdout = Pipe()
    process.standardOutput = stdout
    try process.run()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let err = FileManager.default.contents(atPath: base + ".err") ?? Data()
    return (process.terminationStatus, out, err)
}
