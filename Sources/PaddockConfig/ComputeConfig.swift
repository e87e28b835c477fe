import PaddockCore

/// `compute:` — resources and lifetimes of each session. Every field is optional; an unset field keeps the
/// server's default. Each value remembers where it was written, so layering can say which layer capped it.
public struct ComputeConfig: Sendable, Equatable, Codable {
    /// CPU time as a number of cores (0.5, 2).
    public var cpu: Sourced<Double>?
    public var memory: Sourced<ByteSize>?
    /// Size cap of the session's writable layer.
    public var disk: Sourced<ByteSize>?
    /// Most processes and threads at once.
    public var pids: Sourced<Int>?
    /// Longest lifetime of a session.
    public var timeout: Sourced<Duration>?
    /// A session idle this long is paused.
    public var idle: Sourced<Duration>?

    public init(
        cpu: Sourced<Double>? = nil, memory: Sourced<ByteSize>? = nil, disk: Sourced<ByteSize>? = nil,
        pids: Sourced<Int>? = nil, timeout: Sourced<Duration>? = nil, idle: Sourced<Duration>? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.disk = disk
        self.pids = pids
        self.timeout = timeout
        self.idle = idle
    }

    /// The cgroup limits for a session: these values where set, `base` elsewhere.
    public func resourceLimits(base: ResourceLimits = .default) -> ResourceLimits {
        ResourceLimits(
            memory: memory?.value ?? base.memory, cpus: cpu?.value ?? base.cpus, pids: pids?.value ?? base.pids,
            disk: disk?.value ?? base.disk)
    }
}
