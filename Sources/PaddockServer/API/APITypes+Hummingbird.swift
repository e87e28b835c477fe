import Hummingbird
import PaddockAPI
import PaddockCore
import PaddockServices

// The wire types (PaddockAPI) and the domain values the `/v1` routes answer with directly, as Hummingbird
// responses. The context's encoder writes them (snake_case keys, ISO 8601 dates).

extension SessionBody: ResponseEncodable {}
extension SessionListBody: ResponseEncodable {}
extension FileInfoBody: ResponseEncodable {}
extension FileListBody: ResponseEncodable {}
extension StatsBody: ResponseEncodable {}
extension HealthBody: ResponseEncodable {}
extension PoolListBody: ResponseEncodable {}
extension PoolStatus: ResponseEncodable {}
extension SnapshotBody: ResponseEncodable {}
extension SnapshotListBody: ResponseEncodable {}
extension RepoBody: ResponseEncodable {}
extension RepoListBody: ResponseEncodable {}
extension RepoRemovedBody: ResponseEncodable {}
extension PreviewListBody: ResponseEncodable {}
extension PreviewShareBody: ResponseEncodable {}
extension PreviewShareListBody: ResponseEncodable {}
extension TemplateBody: ResponseEncodable {}
extension TemplateListBody: ResponseEncodable {}
extension ProjectBody: ResponseEncodable {}
extension ProjectListBody: ResponseEncodable {}
extension ProjectStartedBody: ResponseEncodable {}

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
extension StopAllReportBody: ResponseEncodable {}
extension AuditVerification: ResponseEncodable {}
extension TeamBudgetStatus: ResponseEncodable {}

extension ApprovalBody: ResponseEncodable {}
extension ApprovalListBody: ResponseEncodable {}
/// `GET /v1/sessions/{id}/diff`: the session's change and what the policy says about it.
extension ChangeDiff: ResponseEncodable {}

extension SubmitBody: ResponseEncodable {}
extension ReviewBody: ResponseEncodable {}
extension ReviewListBody: ResponseEncodable {}
extension ReviewDetailBody: ResponseEncodable {}
extension AutomationBody: ResponseEncodable {}
extension AutomationListBody: ResponseEncodable {}
extension AutomationTestBody: ResponseEncodable {}
extension InvocationBody: ResponseEncodable {}
extension InvocationListBody: ResponseEncodable {}
extension HookAcceptedBody: ResponseEncodable {}
extension JSONDocument: ResponseEncodable {}
extension IdentityLinkListBody: ResponseEncodable {}
extension AppliedAutomationsBody: ResponseEncodable {}
