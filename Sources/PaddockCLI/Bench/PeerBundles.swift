import Foundation
import PaddockCore
import PaddockLinux
import PaddockSandbox

/// OCI bundles for the raw-runtime peers: the same namespaces, limits, seccomp profile and userland as a
/// Paddock sandbox, running `true` as the sandbox user, with no Paddock in the loop.
struct PeerBundles {
    let directory: String
    let runcBundle: String
    let runcRoot: String
    let runscBundle: String
    let runscRoot: String

    static func prepare(dataDirectory: String, provider: LocalProvider) async throws -> PeerBundles {
        let template = try await HostTemplate.prepare(templatesDirectory: dataDirectory + "/templates")
        let dir = dataDirectory + "/peers"
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        let bundles = PeerBundles(
            directory: dir, runcBundle: dir + "/runc", runcRoot: dir + "/runc-state", runscBundle: dir + "/runsc",
            runscRoot: dir + "/runsc-state")
        for d in [bundles.runcBundle, bundles.runcRoot, bundles.runscBundle, bundles.runscRoot] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        for (bundle, userns) in [(bundles.runcBundle, true), (bundles.runscBundle, false)] {
            var spec = SandboxSpecBuilder(
                id: try SessionID(validating: userns ? "benchrunc" : "benchrunsc"), rootfs: template.rootfs,
                initBinary: "/usr/bin/true", controlDirectory: bundle, hostIDBase: 4_000_000_000 - 65536 * 2,
                limits: .default, readOnlyBinds: template.readOnlyBinds, cgroupParent: "/paddock-bench",
                userNamespace: userns,
                openFiles: openFileLimit()
            ).build()
            spec.root.readonly = true
            spec.process.args = ["/usr/bin/true"]
            spec.process.user = .init(uid: SandboxLayout.userID, gid: SandboxLayout.groupID)
            spec.process.capabilities = .init([])
            spec.mounts.removeAll {
                $0.destination == SandboxLayout.initPath || $0.destination == SandboxLayout.controlDirectory
            }
            if !userns { spec.linux.seccomp = nil }
            try APICodingForBench.encode(spec).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        }
        return bundles
    }

    /// The sandboxes' open-file limit, as the provider sets it (never above this process's hard limit).
    static func openFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return min(65536, UInt64(limit.rlim_max))
    }

    /// Removes the bundles and the peers' (empty) cgroup parent in every hierarchy.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        let root = "/sys/fs/cgroup"
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for h in hierarchies + [""] { rmdir("\(root)/\(h)/paddock-bench") }
    }
}

enum APICodingForBench {
    static func encode(_ spec: OCISpec) throws -> Data { try JSONEncoder().encode(spec) }
}
