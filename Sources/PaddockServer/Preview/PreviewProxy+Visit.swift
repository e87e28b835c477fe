import Foundation
import NIOCore
import PaddockCore
import PaddockSandbox
import PaddockServices

/// One request to a preview host: who it is for, whether they may, and its way to the app and back.
struct Visit {
    let proxy: PreviewProxy
    let head: PreviewHTTPHead
    let remote: String?
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    /// The connection's watch on the shares it was let in by.
    let revocations: PreviewRevocationWatch

    var previews: PreviewService { proxy.previews }

    func send(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: bytes)) }

    /// A browser navigating (it is shown pages and sent through sign-in), as opposed to a script or API client.
    var isNavigation: Bool {
        (head.method == "GET" || head.method == "HEAD") && (head.value("Accept") ?? "").contains("text/html")
    }

    /// Answers the request; returns whether the browser's connection carries another one.
    func answer(_ client: inout ClientBytes, _ kept: inout KeptUpstream?, _ admission: inout PreviewAdmission?)
        async throws -> Bool
    {
        guard let (session, port) = previews.address.target(ofHost: head.value("Host") ?? "") else {
            try await send(
                PreviewPages.message(
                    404, "Not Found", "Not a preview address",
                    "Preview addresses look like PORT-SESSION.\(previews.address.domain)."))
            return false
        }
        let framing = head.framing()
        // Answers made here never read a body; a request that has one closes the connection after.
        let keepsAlive = head.keepsAlive && framing == .none
        let path = head.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        if path == PreviewService.exchangePath {
            try await exchange(session: session, port: port)
            return keepsAlive
        }
        let (clean, shareSecret) = PreviewRewrite.removingParameter(PreviewService.shareParameter, from: head.target)
        if let shareSecret {
            try await openShare(shareSecret, clean: clean, session: session, port: port)
            return keepsAlive
        }
        var grant: PreviewGrant?
        var bearer = false
        if let cookie = PreviewRewrite.cookie(PreviewProxy.cookieName, in: head) {
            grant = try await previews.admit(cookie: cookie, session: session, port: port, cached: &admission)
        }
        if grant == nil, let authorization = head.value("Authorization"), authorization.hasPrefix("Bearer ") {
            bearer = true
            let token = ASCII.trimmed(authorization.dropFirst("Bearer ".count))
            guard let principal = try await proxy.tokens.authenticate(token) else {
                try await send(
                    PreviewPages.message(
                        401, "Unauthorized", "Not signed in", "The token is not valid (unknown, revoked or expired)."))
                return keepsAlive
            }
            do { grant = try await previews.admit(principal: principal, session: session, port: port) } catch let e
                as PaddockError
            {
                try await refuse(e)
                return keepsAlive
            }
        }
        guard let grant else {
            if isNavigation, let url = proxy.signInURL(session: session, port: port, next: head.target, share: nil) {
                try await send(PreviewPages.redirect(url))
            } else {
                try await send(
                    PreviewPages.message(
                        401, "Unauthorized", "This preview is private",
                        "Open it in a browser signed in to Paddock, use a share link, or send a bearer token."))
            }
            return keepsAlive
        }
        return try await forward(grant, bearer: bearer, framing: framing, client: &client, kept: &kept)
    }

    func refuse(_ error: PaddockError) async throws {
        switch error.code {
        case .notFound: try await send(PreviewPages.message(404, "Not Found", "No such preview", error.message))
        case .unauthenticated: try await send(PreviewPages.message(401, "Unauthorized", "Not signed in", error.message))
        default: try await send(PreviewPages.message(403, "Forbidden", "Not allowed", error.message))
        }
    }

    /// `/__paddock/exchange?t=TOKEN&next=PATH`: the UI sent a signed-in browser back with a one-use token.
    func exchange(session: SessionID, port: UInt16) async throws {
        var next = PreviewRewrite.parameter("next", in: head.target) ?? "/"
        if !next.hasPrefix("/") || next.hasPrefix("//") || next.contains("\\") { next = "/" }
        do {
            let grant = try await previews.redeem(
                exchange: PreviewRewrite.parameter("t", in: head.target) ?? "", session: session, port: port)
            try await send(PreviewPages.redirect(next, setCookie: try proxy.cookie(for: grant)))
        } catch let error as PaddockError {
            try await refuse(error)
        }
    }

    /// A share link's first visit: public links set the cookie at once; others go through sign-in.
    func openShare(_ secret: String, clean target: String, session: SessionID, port: UInt16) async throws {
        // Only a path on this host (an absolute-form target would make this an open redirect).
        let clean = target.hasPrefix("/") && !target.hasPrefix("//") ? target : "/"
        switch try await previews.open(shareSecret: secret, session: session, port: port) {
        case .granted(let grant):
            try await send(PreviewPages.redirect(clean, setCookie: try proxy.cookie(for: grant)))
        case .signInNeeded:
            guard let url = proxy.signInURL(session: session, port: port, next: clean, share: secret) else {
                try await send(
                    PreviewPages.message(
                        403, "Forbidden", "Sign-in needed",
                        "This link is for people signed in to Paddock, and this server has no web sign-in."))
                return
            }
            try await send(PreviewPages.redirect(url))
        case .refused(let message):
            try await send(PreviewPages.message(403, "Forbidden", "This link does not open the preview", message))
        }
    }

    /// Passes an admitted request to the app and its answer back; a revoked share cuts it off at once. The
    /// connection to the app is kept for the browser's next request to the same preview when both ends allow it.
    func forward(
        _ admitted: PreviewGrant, bearer: Bool, framing: PreviewHTTPHead.Framing, client: inout ClientBytes,
        kept: inout KeptUpstream?
    ) async throws -> Bool {
        switch framing {
        case .invalid:
            try await send(PreviewPages.message(400, "Bad Request", "Bad request", "The body's length is ambiguous."))
            return false
        case .length(let n) where n > proxy.configuration.maxUploadBytes:
            try await send(
                PreviewPages.message(
                    413, "Content Too Large", "Too large",
                    "Request bodies up to \(proxy.configuration.maxUploadBytes) bytes are passed on."))
            return false
        default: break
        }
        var grant = admitted
        var readiness = try await previews.readiness(of: grant.session)
        if readiness == .ended {
            // `previews: {restart: true}`: a session restarted in its place serves the same address.
            switch try await previews.restart(for: grant) {
            case .replacement(let id):
                grant.session = id
                readiness = try await previews.readiness(of: id)
            case .starting:
                try await send(PreviewPages.restarting(session: grant.session.rawValue))
                return head.keepsAlive && framing == .none
            case .ended(let reason):
                try await send(PreviewPages.ended(session: grant.session.rawValue, reason: reason))
                return head.keepsAlive && framing == .none
            }
        }
        // A kept connection serves only a running session's same port; a paused one is resumed by a new dial.
        var reuse = kept.flatMap { $0.serves(grant) && readiness == .running ? $0 : nil }
        if reuse == nil, let stale = kept { await stale.connection.close() }
        kept = nil
        switch readiness {
        case .missing:
            try await send(PreviewPages.message(404, "Not Found", "No such preview", "The session does not exist."))
            return head.keepsAlive && framing == .none
        case .ended:
            try await send(PreviewPages.ended(session: grant.session.rawValue))
            return head.keepsAlive && framing == .none
        case .paused, .running: break
        }
        if head.tokens("Expect").contains("100-continue") {
            try await send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while true {
            var upstream: KeptUpstream
            if let reused = reuse {
                upstream = reused
            } else {
                do {
                    guard let connected = try await connect(grant) else {
                        try await send(PreviewPages.waking())
                        return head.keepsAlive && framing == .none
                    }
                    upstream = KeptUpstream(connection: connected, session: grant.session, port: grant.port)
                } catch let error as PaddockError where error.code == .notFound {
                    // A restarted session's app may still be starting: the page reloads until it listens.
                    let starting = grant.session != admitted.session ? await previews.isStarting(grant.session) : false
                    try await send(
                        starting
                            ? PreviewPages.restarting(session: admitted.session.rawValue)
                            : PreviewPages.notListening(
                                port: grant.port, listening: await previews.listeningPorts(grant.session)))
                    return head.keepsAlive && framing == .none
                } catch let error as PaddockError {
                    try await send(
                        PreviewPages.message(
                            503, "Service Unavailable", "The preview is not available", error.message))
                    return false
                }
            }
            do {
                let outcome = try await watchingRevocation(grant, upstream.connection) {
                    try await exchangeMessages(
                        grant, bearer: bearer, framing: framing, &upstream, reused: reuse != nil, &client)
                }
                if outcome.keepUpstream && outcome.keepClient {
                    kept = upstream
                } else {
                    await upstream.connection.close()
                }
                return outcome.keepClient
            } catch is StaleUpstream {
                // The app closed a kept connection while it sat idle; the request had not reached it: once more
                // on a new connection.
                await upstream.connection.close()
                reuse = nil
            } catch {
                await upstream.connection.close()
                throw error
            }
        }
    }

    /// Runs `body` while the connection watches the grant's share: its revocation closes both sides at once.
    func watchingRevocation<T: Sendable>(
        _ grant: PreviewGrant, _ upstream: any SandboxConnection, _ body: () async throws -> T
    ) async throws -> T {
        guard let share = grant.share else { return try await body() }
        await revocations.watch(share, previews: previews)
        revocations.serving(upstream)
        defer { revocations.serving(nil) }
        return try await body()
    }

    /// Connects, resuming a paused session. A browser navigating waits at most a second before it is shown a
    /// page that reloads itself (nil), while the resume goes on.
    func connect(_ grant: PreviewGrant) async throws -> (any SandboxConnection)? {
        let previews = self.previews
        // On this connection's event loop (`ConnectionAffinity`), so the app's socket is put on it too.
        let attempt = Task(executorPreference: ConnectionAffinity.executor) { try await previews.connect(grant) }
        guard isNavigation, try await previews.readiness(of: grant.session) == .paused else {
            return try await attempt.value
        }
        // The contract's one second: quicker wakes show nothing, slower ones a holding page while the wake runs on.
        if await finishes(attempt, within: .seconds(1)) { return try await attempt.value }
        Task {
            // The browser reloads and connects anew; this connection only served to wake the session.
            if case .success(let connection) = await attempt.result { await connection.close() }
        }
        return nil
    }

    struct Outcome: Sendable {
        var keepClient: Bool
        var keepUpstream: Bool
    }

    func exchangeMessages(
        _ grant: PreviewGrant, bearer: Bool, framing: PreviewHTTPHead.Framing, _ upstream: inout KeptUpstream,
        reused: Bool, _ client: inout ClientBytes
    ) async throws -> Outcome {
        let rewritten = PreviewRewrite.request(
            head, stripAuthorization: bearer, forwardedFor: remote, proto: previews.address.scheme,
            viewer: try previews.viewerHeader(grant, at: Date()))
        // Only a request without a body can be sent again when a kept connection turns out closed.
        let retriable = reused && framing == .none
        do { try await upstream.connection.write(rewritten.serialized) } catch  where retriable {
            throw StaleUpstream()
        }
        try await passBody(framing, from: &client, to: upstream.connection)
        var first = true
        while true {
            let bytes = try await upstream.answer.readHead()
            if bytes == nil && first && retriable && upstream.answer.buffer.isEmpty { throw StaleUpstream() }
            first = false
            guard let bytes, let response = PreviewHTTPHead(bytes), response.isResponse else {
                try await send(
                    PreviewPages.message(
                        502, "Bad Gateway", "The app gave no answer",
                        "The app on port \(grant.port) closed the connection without an HTTP answer."))
                return Outcome(keepClient: false, keepUpstream: false)
            }
            if response.status == 101 && head.isWebSocketUpgrade {
                try await send(PreviewRewrite.response(response, keepAlive: false).serialized)
                try await tunnel(upstream.connection, answer: &upstream.answer, client: &client)
                return Outcome(keepClient: false, keepUpstream: false)
            }
            // 1xx answers (103 Early Hints) come before the real one.
            if response.status / 100 == 1 {
                try await send(response.serialized)
                continue
            }
            let framing = response.framing(requestMethod: head.method)
            let keep = head.keepsAlive && framing != .close && framing != .invalid
            let complete = try await passAnswer(
                framing, after: PreviewRewrite.response(response, keepAlive: keep).serialized, from: &upstream.answer)
            return Outcome(
                keepClient: complete && keep,
                keepUpstream: complete && response.keepsAlive && framing != .close && framing != .invalid)
        }
    }

    /// The request body as framed, no more: what follows is the browser's next request.
    func passBody(
        _ framing: PreviewHTTPHead.Framing, from client: inout ClientBytes, to upstream: any SandboxConnection
    ) async throws {
        switch framing {
        case .none, .close, .invalid: return
        case .length(var left):
            while left > 0 {
                guard let chunk = try await client.next() else {
                    throw PreviewProxyError.malformed("the browser closed in the middle of a request body")
                }
                let take = min(left, chunk.count)
                try await upstream.write(Array(chunk[..<take]))
                client.unread(chunk[take...])
                left -= take
            }
        case .chunked:
            var scanner = ChunkedBodyScanner()
            var total = 0
            while true {
                guard let chunk = try await client.next() else {
                    throw PreviewProxyError.malformed("the browser closed in the middle of a request body")
                }
                if let end = try scanner.consume(chunk[...]) {
                    try await upstream.write(Array(chunk[..<end]))
                    client.unread(chunk[end...])
                    return
                }
                total += chunk.count
                guard total <= proxy.configuration.maxUploadBytes else {
                    throw PreviewProxyError.malformed("the request body is larger than the upload limit")
                }
                try await upstream.write(chunk)
            }
        }
    }

    /// The answer's head, then its body as framed (or up to the app's close); false when it was cut short. The
    /// head goes out with the body's first bytes, in one write, when the app sent them together.
    func passAnswer(_ framing: PreviewHTTPHead.Framing, after head: [UInt8], from answer: inout UpstreamBytes)
        async throws -> Bool
    {
        var head = head
        func send(_ bytes: ArraySlice<UInt8>) async throws {
            if head.isEmpty {
                try await self.send(Array(bytes))
            } else {
                head += bytes
                try await self.send(head)
                head = []
            }
        }
        switch framing {
        case .none:
            try await send([])
            return true
        case .length(var left):
            if !answer.buffer.isEmpty || left == 0 {
                let take = min(left, answer.buffer.count)
                try await send(answer.buffer[..<take])
                answer.buffer.removeFirst(take)
                left -= take
            } else {
                try await send([])
            }
            while left > 0 {
                guard let chunk = try await answer.next() else { return false }
                let take = min(left, chunk.count)
                try await send(chunk[..<take])
                left -= take
            }
            return true
        case .chunked:
            try await send([])
            var scanner = ChunkedBodyScanner()
            while let chunk = try await answer.next() {
                if let end = try scanner.consume(chunk[...]) {
                    try await send(chunk[..<end])
                    return true
                }
                try await send(chunk[...])
            }
            return false
        case .close, .invalid:
            try await send([])
            while let chunk = try await answer.next() { try await send(chunk[...]) }
            return false
        }
    }

    /// After a WebSocket upgrade: bytes both ways until either side closes.
    func tunnel(_ upstream: any SandboxConnection, answer: inout UpstreamBytes, client: inout ClientBytes)
        async throws
    {
        let early = answer.takeBuffered()
        if !early.isEmpty { try await send(early) }
        let outbound = self.outbound
        let channel = self.channel
        let inbound = upstream.inbound
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await chunk in inbound { try await outbound.write(ByteBuffer(bytes: chunk)) }
                // The app closed: so does the browser's side.
                channel.close(promise: nil)
            }
            while let chunk = try await client.next() { try await upstream.write(chunk) }
            await upstream.close()
            try await group.waitForAll()
        }
    }
}

/// A request to a kept connection that the app had closed meanwhile; it is sent again on a new one.
struct StaleUpstream: Error {}

/// A connection to the app, kept between the browser's requests to the same preview.
struct KeptUpstream {
    let connection: any SandboxConnection
    let session: SessionID
    let port: UInt16
    var answer: UpstreamBytes

    init(connection: any SandboxConnection, session: SessionID, port: UInt16) {
        self.connection = connection
        self.session = session
        self.port = port
        answer = UpstreamBytes(stream: connection.inbound)
    }

    func serves(_ grant: PreviewGrant) -> Bool { grant.session == session && grant.port == port }
}

/// Bytes from the app: what was read past the answer's head, then the connection.
struct UpstreamBytes {
    var iterator: BackpressuredStream<[UInt8]>.AsyncIterator
    var buffer: [UInt8] = []

    init(stream: BackpressuredStream<[UInt8]>) { iterator = stream.makeAsyncIterator() }

    mutating func readHead() async throws -> [UInt8]? {
        while true {
            if let end = PreviewHTTPHead.end(in: buffer) {
                let head = Array(buffer[..<end])
                buffer.removeFirst(end)
                return head
            }
            guard buffer.count <= PreviewHTTPHead.maxBytes, let next = try await iterator.next() else { return nil }
            buffer += next
        }
    }

    mutating func next() async throws -> [UInt8]? {
        if !buffer.isEmpty { return takeBuffered() }
        return try await iterator.next()
    }

    mutating func takeBuffered() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }
}
