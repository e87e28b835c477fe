import AsyncHTTPClient
import PaddockCore

extension Benchmarks {
    /// GETs `url` with `headers` (replacing any the client would send, such as `Host`), drains the body and
    /// returns its size; anything but 200 is an error, since a benchmark must not time failures.
    static func get(_ client: HTTPClient, _ url: String, headers: [(String, String)]) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(120))
        guard response.status == .ok else {
            throw PaddockError.internal("\(url) answered \(response.status) during the benchmark")
        }
        var size = 0
        for try await chunk in response.body { size += chunk.readableBytes }
        return size
    }
}
