import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import PaddockCore

/// Opens a pull request for each submitted review whose origin is on GitHub, through the REST API
/// (`POST /repos/{owner}/{repo}/pulls`). The token is a vault secret, read on the server for each call.
public struct GitHubPullRequests: Sendable {
    /// The REST API root: `https://api.github.com`, or a GitHub Enterprise `https://HOST/api/v3`.
    public var apiURL: String
    /// The vault secret (default team) holding the token.
    public var tokenSecret: String
    /// Origin URL prefixes that mean "this repository is on GitHub"; owner and name follow the prefix.
    public var origins: [String]
    /// CAs trusted for the API besides the system's.
    public var extraTrustRoots: [NIOSSLCertificate]

    public static let defaultOrigins = ["https://github.com/", "git@github.com:", "ssh://git@github.com/"]

    public init(
        apiURL: String = "https://api.github.com", tokenSecret: String = "GITHUB_TOKEN",
        origins: [String] = GitHubPullRequests.defaultOrigins, extraTrustRoots: [NIOSSLCertificate] = []
    ) throws(PaddockError) {
        guard let url = URL(string: apiURL), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw .invalidArgument("--github-api '\(apiURL)' is not an http(s) URL; use https://api.github.com")
        }
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.tokenSecret = tokenSecret
        self.origins = origins
        self.extraTrustRoots = extraTrustRoots
    }

    /// `owner/name` of a GitHub origin, or nil when the origin is not on GitHub.
    func repository(of origin: String) -> (owner: String, name: String)? {
        guard let prefix = origins.first(where: { origin.hasPrefix($0) }) else { return nil }
        var rest = String(origin.dropFirst(prefix.count))
        if rest.hasSuffix("/") { rest.removeLast() }
        if rest.hasSuffix(".git") { rest.removeLast(4) }
        let parts = rest.split(separator: "/")
        guard parts.count >= 2 else { return nil }
        let allowed: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        let (owner, name) = (String(parts[parts.count - 2]), String(parts[parts.count - 1]))
        guard owner.allSatisfy(allowed), name.allSatisfy(allowed) else { return nil }
        return (owner, name)
    }

    private struct Request: Encodable {
        var title: String
        var head: String
        var base: String
        var body: String
    }

    private struct Created: Decodable {
        var html_url: String
    }

    /// Opens the pull request and returns its web URL.
    func open(_ review: Review, owner: String, name: String, token: String) async throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !extraTrustRoots.isEmpty { tls.additionalTrustRoots = [.certificates(extraTrustRoots)] }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
        defer { _ = client.shutdown() }
        let lines = review.message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let payload = Request(
            title: String(lines.first ?? "Changes from Paddock"), head: review.branch, base: review.targetBranch,
            body: (lines.count > 1 ? String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines) + "\n\n" : "")
                + "Submitted from Paddock session \(review.session) (review \(review.id)); it passed the "
                + "repository's checks and secret scan.")
        var request = HTTPClientRequest(url: "\(apiURL)/repos/\(owner)/\(name)/pulls")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/vnd.github+json")
        request.headers.add(name: "X-GitHub-Api-Version", value: "2022-11-28")
        request.headers.add(name: "User-Agent", value: "paddock")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(payload))))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(30))
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw PaddockError.unavailable("cannot reach the GitHub API at \(apiURL)", underlying: error)
        }
        guard response.status.code == 201 else {
            let text = String(buffer: bytes).prefix(300)
            throw PaddockError.unavailable(
                "GitHub refused the pull request (HTTP \(response.status.code)): \(text)")
        }
        do { return try JSONDecoder().decode(Created.self, from: Data(bytes.readableBytesView)).html_url } catch {
            throw PaddockError.unavailable("GitHub answered the pull request without an html_url", underlying: error)
        }
    }
}
