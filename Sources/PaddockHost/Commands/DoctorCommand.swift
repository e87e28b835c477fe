import ArgumentParser
import Foundation
import PaddockCLI
import PaddockLinux

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Report what this host supports for sandboxes, and what that means.")
    @OptionGroup var output: OutputOptions
    @Option(help: "The runsc to check (default: .tools/bin/runsc of this build's repository, else PATH).")
    var runsc: String?

    func run() async throws {
        var c = await HostCapabilities.probe(runsc: runsc)
        if let gvisor = c.runtimes.first(where: { $0.name == "runsc" && $0.usable }), let path = gvisor.path {
            c.gvisorToDisk = await GVisorCheckpointProbe.run(runsc: path, version: gvisor.version)
        }
        if output.json { return try printJSON(c) }
        func mark(_ ok: Bool) -> String { ok ? "ok " : "NO " }
        print("kernel            \(c.kernel)")
        print("\(mark(c.isRoot))root              sandboxes are created by root (rootless mode is not supported yet)")
        print("\(mark(c.userNamespaces))user namespaces   sandbox root maps to an unprivileged host uid range")
        print("\(mark(c.cgroupMode != .none))cgroups           \(c.cgroupMode.rawValue)")
        print("\(mark(c.overlayfs))overlayfs         template layer + per-session writable layer")
        print("\(mark(c.seccomp))seccomp           syscall filter (Docker-default-or-stricter allowlist)")
        print(
            "\(c.kvm ? "ok " : "-- ")kvm               \(c.kvm ? "/dev/kvm usable" : "no /dev/kvm: VM-based runtimes unavailable")"
        )
        for r in c.runtimes {
            // Which binary matters most for runsc: a pinned one in .tools and an older one on PATH differ.
            let location = r.name == "runsc" ? r.path.map { " at \($0)" } ?? "" : ""
            let ok = r.usable && (r.name != "runsc" || c.gvisorContainsLimits)
            print("\(mark(ok))\(r.name.padding(17)) \(r.version ?? "-")\(location) — \(r.note)")
        }
        print("runtime in use     \(c.defaultRuntime ?? "none")")
        print("pause, snapshots   \(c.checkpoint)")
        if let toDisk = c.gvisorToDisk { print("\(mark(toDisk.works))gVisor to disk    \(toDisk.detail)") }
        print("\(mark(c.execGuardSupported))exec guardrails   \(c.execGuard)")
        print("\(mark(c.sandboxDiskOnDisk))sandbox disks     \(c.sandboxDisk)")
        for n in c.notes { print("note: \(n)") }
        print(
            c.canRunSandboxes
                ? "This host can run Paddock sandboxes."
                : "This host cannot run sandboxes yet; fix the items marked NO.")
    }
}
