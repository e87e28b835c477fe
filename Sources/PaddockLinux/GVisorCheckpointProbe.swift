#if os(Linux)
    import Foundation
    import Glibc
    import PaddockCore

    /// Whether gVisor can stop a sandbox to disk on this host, found by doing it: a throwaway sandbox running
    /// `sleep` (the host's /usr bound read-only) is checkpointed, restored and checked running. For `paddock
    /// doctor` only: it takes a second or two, too long for every server start.
    public enum GVisorCheckpointProbe {
        public struct Outcome: Codable, Sendable {
            public var works: Bool
            public var detail: String
        }

        public static func run(runsc: String, version: String?) async -> Outcome {
            var template = Array("/tmp/paddock-doctor-checkpoint-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                return Outcome(works: false, detail: "could not make a scratch directory: \(Syscalls.errnoText())")
            }
            let scratch = String(cString: made)
            defer { Syscalls.removeTree(scratch) }
            let runtime = OCIRuntime(
                kind: .runsc, binary: runsc, stateRoot: "\(scratch)/state",
                globalFlags: [
                    "--platform=\(GVisorRuntime.platform(version: version))", "--network=none", "--ignore-cgroups",
                ])
            let id = SessionID.random()
            do {
                try writeBundle(at: "\(scratch)/bundle", runsc: runsc)
                try await runtime.run(
                    id: id, bundle: "\(scratch)/bundle", log: "\(scratch)/runtime.log", stderrFile: "\(scratch)/err")
                try Syscalls.makeDirectory("\(scratch)/image", mode: 0o700)
                let checkpointStarted = ContinuousClock.now
                try await runtime.checkpoint(
                    id: id.rawValue, imagePath: "\(scratch)/image", log: "\(scratch)/runtime.log")
                let checkpointTook = ContinuousClock.now - checkpointStarted
                try await runtime.delete(id: id.rawValue)
                let restoreStarted = ContinuousClock.now
                try await runtime.restore(
                    id: id, bundle: "\(scratch)/bundle", imagePath: "\(scratch)/image", log: "\(scratch)/runtime.log",
                    stderrFile: "\(scratch)/err")
                let restoreTook = ContinuousClock.now - restoreStarted
                let status = await runtime.state(id: id.rawValue)?.status
                let leftover = await remove(id, runtime)
                guard status == "running" else {
                    return Outcome(
                        works: false, detail: "a restored sandbox was \(status ?? "gone"), not running\(leftover)")
                }
                return Outcome(
                    works: true,
                    detail: "`paddock session stop --to-disk` works for gVisor sessions (a tiny sandbox: checkpoint "
                        + "\(milliseconds(checkpointTook)), restore \(milliseconds(restoreTook)))\(leftover)")
            } catch {
                let leftover = await remove(id, runtime)
                return Outcome(works: false, detail: "gVisor cannot checkpoint and restore here: \(error)\(leftover)")
            }
        }

        static func milliseconds(_ d: Duration) -> String { "\(Int((d / .milliseconds(1)).rounded())) ms" }

        /// Removes the probe's sandbox; what could not be removed is said in the outcome (it would keep running).
        private static func remove(_ id: SessionID, _ runtime: OCIRuntime) async -> String {
            do {
                try await runtime.delete(id: id.rawValue)
                return ""
            } catch {
                return "; the probe's sandbox \(id) could not be removed (\(error)): `runsc --root` lists it"
            }
        }

        /// A minimal bundle: `runsc spec`'s default, running `sleep`, with the host's userland bound read-only.
        private static func writeBundle(at bundle: String, runsc: String) throws {
            let rootfs = "\(bundle)/rootfs"
            try Syscalls.makeDirectory(bundle, mode: 0o700)
            try Syscalls.makeDirectory(rootfs, mode: 0o755)
            var mounts: [[String: Any]] = [
                ["destination": "/proc", "type": "proc", "source": "proc"],
                ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs"],
            ]
            try HostTemplate.mirrorLegacyDirectories(in: rootfs)
            for bind in HostTemplate.userlandBinds() {
                try Syscalls.makeDirectory(rootfs + bind.destination, mode: 0o755)
                mounts.append([
                    "destination": bind.destination, "type": "bind", "source": bind.source, "options": ["rbind", "ro"],
                ])
            }
            for name in ["proc", "tmp", "dev"] { try Syscalls.makeDirectory("\(rootfs)/\(name)", mode: 0o755) }
            let spec: [String: Any] = [
                "ociVersion": "1.0.0",
                "process": [
                    "terminal": false, "user": ["uid": 0, "gid": 0], "args": ["sleep", "600"],
                    "env": ["PATH=/usr/bin:/bin"], "cwd": "/",
                ],
                "root": ["path": "rootfs", "readonly": true],
                "hostname": "paddock-doctor",
                "mounts": mounts,
                "linux": ["namespaces": [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]],
            ]
            let data = try JSONSerialization.data(withJSONObject: spec)
            try AtomicFile.write(Array(data), to: "\(bundle)/config.json", mode: 0o600)
        }
    }
#endif
