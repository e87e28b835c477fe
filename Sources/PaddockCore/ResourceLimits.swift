/// What one sandbox may use. Enforced by the OCI runtime (cgroups) and the size-capped writable layer.
public struct ResourceLimits: Codable, Sendable, Equatable {
    public var memory: ByteSize
    /// CPU time as a number of cores (1.5 = one and a half cores' worth of CPU time).
    public var cpus: Double
    public var pids: Int
    /// Size cap of the session's writable layer (everything it writes: /workspace, /home, /tmp…).
    public var disk: ByteSize

    public static let `default` = ResourceLimits(memory: .gibibytes(1), cpus: 1, pids: 512, disk: .gibibytes(1))

    public init(memory: ByteSize, cpus: Double, pids: Int, disk: ByteSize) {
        self.memory = memory
        self.cpus = cpus
        self.pids = pids
        self.disk = disk
    }

    /// The most memory or disk one sandbox may be given; far above any host, far below what overflows a kernel
    /// interface.
    public static let maxBytes = ByteSize(bytes: 64 << 40)
    /// The fewest cores a sandbox may be given: the kernel refuses a CFS quota under 1ms per 100ms period.
    public static let minCPUs = 0.01
    public static let maxCPUs = 1024.0
    public static let pidRange = 8...4_194_304

    /// Checks the limits are usable; the message says which value to change.
    public func validate() throws(PaddockError) {
        guard memory >= .mebibytes(16) else {
            throw .invalidArgument("memory \(memory) is too small; give a sandbox at least 16MiB")
        }
        guard memory <= Self.maxBytes else {
            throw .invalidArgument("memory \(memory) is more than the maximum of \(Self.maxBytes)")
        }
        guard cpus.isFinite, cpus >= Self.minCPUs, cpus <= Self.maxCPUs else {
            throw .invalidArgument("cpus must be between \(Self.minCPUs) and \(Int(Self.maxCPUs)), not \(cpus)")
        }
        guard Self.pidRange.contains(pids) else {
            throw .invalidArgument(
                "pids must be between \(Self.pidRange.lowerBound) (the shell and its tools need a few) and "
                    + "\(Self.pidRange.upperBound), not \(pids)")
        }
        guard disk >= .mebibytes(1) else { throw .invalidArgument("disk \(disk) is too small; use at least 1MiB") }
        guard disk <= Self.maxBytes else {
            throw .invalidArgument("disk \(disk) is more than the maximum of \(Self.maxBytes)")
        }
    }
}
