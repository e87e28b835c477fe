import PaddockCore

/// How `ResourceLimits` translate into cgroup values. Used by the spec builder (the runtime applies them at
/// start) and by warm-pool claims (written straight into a running sandbox's cgroups), so both agree.
extension ResourceLimits {
    /// CFS period, in microseconds.
    public static let cpuPeriod: UInt64 = 100_000

    /// CFS quota per period: `cpus` cores' worth of time.
    public var cpuQuota: Int64 { Int64((cpus * Double(Self.cpuPeriod)).rounded()) }

    /// Relative CPU weight (cgroup v1 shares; 1024 per core, at least the kernel's minimum of 2).
    public var cpuShares: UInt64 { UInt64(max(2, (cpus * 1024).rounded())) }
}
