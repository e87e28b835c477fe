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
    /// The peers' cgroup parent, apart from any data directory's.
    static let cgroupParent = "/paddock-bench"

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
                limits: .default, readOnlyBinds: template.readOnlyBinds, cgroupParent: Self.cgroupParent,
                userNamespace: userns,
                openFiles: LocalProvider.openFileLimit()
            ).build()
            spec.root.readonly = true
            spec.process.args = ["/usr/bin/true"]
            spec.process.user = .init(uid: SandboxLayout.userID, gid: SandboxLayout.groupID)
            spec.process.capabilities = .init([])
            spec.mounts.removeAll {
                $0.destination == SandboxLayout.initPath || $0.destination == SandboxLayout.controlDirectory
            }
            if !userns { spec.linux.seccomp = nil }
            try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        }
        return bundles
    }

    /// Removes the bundles and the peers' (empty) cgroup parent in every hierarchy.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        Cgroup(hierarchy: .detect(), path: Self.cgroupParent).remove()
    }
}
