import Foundation

/// What a running session's sandbox uses right now (`GET /v1/resources`, `paddock top`): CPU as a share of one
/// core over the last interval, memory, disk, and the bytes it moved through the egress gateway.
public struct SessionResources: Codable, Sendable, Equatable {
    public var session: SessionID
    public var name: String?
    public var team: String?
    public var provider: String
    /// Percent of one CPU over the time since the previous reading (200 = two cores busy); nil on the first
    /// reading of a session, which has nothing to compare with.
    public var cpuPercent: Double?
    public var cpuSeconds: Double
    public var memoryBytes: UInt64
    public var memoryLimitBytes: UInt64
    public var diskUsedBytes: UInt64
    public var diskLimitBytes: UInt64
    public var pids: Int
    public var networkUpBytes: Int
    public var networkDownBytes: Int

    public init(
        session: SessionID, name: String?, team: String?, provider: String, cpuPercent: Double?, cpuSeconds: Double,
        memoryBytes: UInt64, memoryLimitBytes: UInt64, diskUsedBytes: UInt64, diskLimitBytes: UInt64, pids: Int,
        networkUpBytes: Int, networkDownBytes: Int
    ) {
        self.session = session
        self.name = name
        self.team = team
        self.provider = provider
        self.cpuPercent = cpuPercent
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.diskUsedBytes = diskUsedBytes
        self.diskLimitBytes = diskLimitBytes
        self.pids = pids
        self.networkUpBytes = networkUpBytes
        self.networkDownBytes = networkDownBytes
    }
}

/// Every running session the caller can see, read at one moment.
public struct ResourceSnapshot: Codable, Sendable, Equatable {
    public var at: Date
    public var sessions: [SessionResources]

    public init(at: Date, sessions: [SessionResources]) {
        self.at = at
        self.sessions = sessions
    }
}
