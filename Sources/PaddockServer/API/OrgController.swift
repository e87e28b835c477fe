import Foundation
import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices
import PaddockStore

/// Org-wide controls: the emergency stop (`/v1/stop-all`) and session limits (`/v1/limits`).
struct OrgController {
    let stops: EmergencyStopService
    let service: AccessService

    func addRoutes(to router: Router<PaddockRequestContext>) {
        router.post("/v1/stop-all", use: stopAll)
        router.get("/v1/stop-all", use: stops)
        router.delete("/v1/stop-all", use: lift)
        router.get("/v1/limits", use: limits)
        router.put("/v1/limits", use: setLimits)
    }

    @Sendable func stopAll(_ request: Request, context: PaddockRequestContext) async throws -> StopAllReportBody {
        let body = try await request.decode(as: StopAllBody.self, context: context)
        return StopAllReportBody(try await stops.stopAll(team: body.team, by: try context.caller()))
    }

    @Sendable func stops(_ request: Request, context: PaddockRequestContext) async throws -> EmergencyStopListBody {
        EmergencyStopListBody(
            stops: try await stops.stops().map { EmergencyStopBody(team: $0.team, by: $0.by, at: $0.at) })
    }

    @Sendable func lift(_ request: Request, context: PaddockRequestContext) async throws -> LiftBody {
        LiftBody(
            lifted: try await stops.lift(
                team: request.uri.queryParameters.get("team"), by: try context.caller()))
    }

    @Sendable func limits(_ request: Request, context: PaddockRequestContext) async throws -> LimitsBody {
        LimitsBody(try await service.limits())
    }

    @Sendable func setLimits(_ request: Request, context: PaddockRequestContext) async throws -> LimitsBody {
        let limits = try await request.decode(as: LimitsBody.self, context: context).limits()
        return LimitsBody(try await service.setLimits(limits, by: try context.caller()))
    }
}
