#if os(Linux)
    import Glibc
    import PaddockCore

    /// Which `runsc` the gvisor provider uses, and what its release can do. runsc releases are dated
    /// (`runsc version 0.0~20240729.0`, or `release-20240729.0` from gVisor's own builds), and what matters to
    /// Paddock changed with them: the sentry of 2022-12-19 (Debian 12) ignores RLIMIT_NPROC, so a fork bomb
    /// drives it into the host pids ceiling, where it panics and the whole sandbox dies; the sentry of
    /// 2024-07-29 (Debian 13) enforces RLIMIT_NPROC and runs on the systrap platform.
    public enum GVisorRuntime {
        /// The first release Paddock has seen contain a fork bomb (RLIMIT_NPROC enforced by the sentry).
        public static let firstContainingRelease = 20_240_729
        /// Where `scripts/install-runsc.sh` puts the pinned runsc, relative to the repository.
        public static let toolsPath = ".tools/bin/runsc"
        /// What to do when the runsc found is missing or too old to contain limits.
        public static let installHint =
            "run `make deps` (scripts/install-runsc.sh installs runsc 0.0~20240729 into .tools/bin) or pass --runsc PATH"

        /// `explicit` (the `--runsc` flag) when given; else the pinned runsc in the repository this executable was
        /// built in (`<repo>/.build/…/paddock` finds `<repo>/.tools/bin/runsc`); else `runsc` on PATH.
        public static func locate(explicit: String?) -> String? {
            if let explicit { return access(explicit, X_OK) == 0 ? explicit : nil }
            return besideBuild() ?? HostCommand.find("runsc")
        }

        /// The pinned runsc in an ancestor directory of this executable, if one holds it.
        static func besideBuild() -> String? {
            ThisExecutable.directories.map { "\($0)/\(toolsPath)" }.first { access($0, X_OK) == 0 }
        }

        /// The release date (yyyymmdd) in a `runsc --version` line, nil when it has none.
        public static func release(fromVersion version: String) -> Int? {
            let parts: [Substring] = version.split(whereSeparator: { !$0.isNumber })
            return parts.first { $0.count == 8 }.flatMap { Int(String($0)) }
        }

        /// Whether a runsc of this version contains a fork bomb and a memory hog inside the sandbox.
        public static func containsLimits(version: String?) -> Bool {
            guard let release = version.flatMap(release(fromVersion:)) else { return false }
            return release >= firstContainingRelease
        }

        /// How checkpoint images are written and read. Uncompressed: restoring a compressed image inflates every
        /// page first, which dominated a restore (a 200 MiB process: about 1.2 s compressed, 0.5–1 s not, by hand on
        /// a loaded host); the image is then as large as the memory in use. Direct I/O where the state directory's
        /// filesystem takes it: the image's pages would otherwise stay in the host's page cache, charged to the
        /// sandbox's memory cgroup, twice (written at checkpoint, read at restore; a restored 200 MiB sandbox held
        /// 445 MB instead of 231). Releases before the limits one get runsc's defaults (flags unknown to them).
        public static func imageFlags(version: String?, directIO: Bool) -> OCIRuntime.ImageFlags {
            guard containsLimits(version: version) else { return .init() }
            let direct = directIO ? ["--direct"] : []
            return .init(checkpoint: ["--compression", "none"] + direct, restore: direct)
        }

        /// systrap (the default since 2023, and the one that lives through a fork bomb) where the release has
        /// it; ptrace on older ones. Never KVM: it hangs under nested virtualisation.
        public static func platform(version: String?) -> String {
            containsLimits(version: version) ? "systrap" : "ptrace"
        }
    }
#endif
