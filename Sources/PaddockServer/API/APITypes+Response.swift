import Hummingbird
import PaddockCore
import PaddockServices

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
extension TemplateBody: ResponseEncodable {}
extension TemplateListBody: ResponseEncodable {}
