import AsyncAlgorithms
import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

/// `GET /v1/resources` and `GET /v1/sessions/{id}/resources`: running sessions' CPU, memory, disk and network,
/// as one reading, or with `follow=1` as a stream of readings (one JSON object per line, every `interval`,
/// default 2s) until the client goes away — or, for one session, until it stops running.
struct ResourceController {
    let monitor: ResourceMonitor

    static let defaultInterval: Duration = .seconds(2)

    func addRoutes(to router: Router<PaddockRequestContext>, sessions group: RouterGroup<PaddockRequestContext>) {
        router.get("/v1/resources") { request, context in
            try await respond(request, context, session: nil)
        }
        group.get(":id/resources") { request, context in
            try await respond(request, context, session: try context.sessionID())
        }
    }

    func respond(_ request: Request, _ context: PaddockRequestContext, session: SessionID?) async throws -> Response {
        let caller = try context.caller()
        let q = request.uri.queryParameters
        let follow = q.get("follow").map { $0 == "1" || $0 == "true" } ?? false
        let interval = try q.get("interval").map { try DurationText.parse($0) } ?? Self.defaultInterval
        guard interval >= .milliseconds(250), interval <= .seconds(300) else {
            throw PaddockError.invalidArgument("interval must be between 250ms and 5m, such as 2s")
        }
        let encoder = APICoding.encoder()
        let first = try await monitor.snapshot(session: session, by: caller)
        guard follow else {
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(first))))
        }
        let monitor = self.monitor
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody { writer in
                var reading = first
                var ticks = AsyncTimerSequence(interval: interval, clock: .continuous).makeAsyncIterator()
                while true {
                    var line = try encoder.encode(reading)
                    line.append(0x0A)
                    try await writer.write(ByteBuffer(bytes: line))
                    // A reading per tick of the interval the client asked for; the timer ends when the client goes.
                    guard await ticks.next() != nil else { break }
                    if let session, try await !monitor.isRunning(session, by: caller) { break }
                    reading = try await monitor.snapshot(session: session, by: caller)
                }
                try await writer.finish(nil)
            })
    }
}
