import Hummingbird
import PaddockCore
import PaddockServices
import PaddockStore

extension UserBody: ResponseEncodable {}
extension UserListBody: ResponseEncodable {}
extension TeamBody: ResponseEncodable {}
extension TeamListBody: ResponseEncodable {}
extension TokenBody: ResponseEncodable {}
extension TokenListBody: ResponseEncodable {}
extension MeBody: ResponseEncodable {}
extension LimitsBody: ResponseEncodable {}
extension EmergencyStopListBody: ResponseEncodable {}
extension LiftBody: ResponseEncodable {}
extension AuditVerification: ResponseEncodable {}
extension EmergencyStopService.StopAllReport: ResponseEncodable {}
extension TeamBudgetStatus: ResponseEncodable {}
