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

    /// Checks the limits are usable; the message says which value to change.
    public func validate() throws(PaddockError) {
        guard memory >= .mebibytes(16) else {
            throw .invalidArgument("memory \(memory) is too small; give a sandbox at least 16MiB")
        }
        guard cpus > 0, cpus <= 1024 else { throw .invalidArgument("cpus must be between 0.01 and 1024, not \(cpus)") }
        guard pids >= 8, pids <= 4_194_304 else {
            throw .invalidArgument("pids must be at least 8 (the shell and its tools need a few), not \(pids)")
        }
        guard disk >= .mebibytes(1) else { throw .invalidArgument("disk \(disk) is too small; use at least 1MiB") }
    }
}
