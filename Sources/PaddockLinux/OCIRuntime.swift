#if os(Linux)
    import Foundation
    import PaddockCore

    /// Drives an OCI runtime binary (runc, crun or runsc) with its own state directory, so Paddock's
    /// containers never mix with anyone else's.
    public struct OCIRuntime: Sendable {
        public enum Kind: String, Sendable, Codable { case runc, crun, runsc }

        public var kind: Kind
        public var binary: String
        /// `--root`: where the runtime keeps container state.
        public var stateRoot: String
        /// Extra global flags (runsc: `--platform=ptrace`, `--network=none`).
        public var globalFlags: [String]
        /// gVisor: how checkpoint images are written and read back (`GVisorRuntime.imageFlags`).
        public var imageFlags = ImageFlags()

        /// Flags of `runsc checkpoint` and `runsc restore`.
        public struct ImageFlags: Sendable {
            public var checkpoint: [String] = []
            public var restore: [String] = []
            public init(checkpoint: [String] = [], restore: [String] = []) {
                self.checkpoint = checkpoint
                self.restore = restore
            }
        }

        public init(kind: Kind, binary: String, stateRoot: String, globalFlags: [String] = []) {
            self.kind = kind
            self.binary = binary
            self.stateRoot = stateRoot
            self.globalFlags = globalFlags
        }

        private func args(_ rest: [String], log: String? = nil) -> [String] {
            var a = ["--root", stateRoot]
            if let log { a += ["--log", log, "--log-format", "json"] }
            return a + globalFlags + rest
        }

        /// Creates and starts the container detached; returns when its first process is running.
        public func run(id: SessionID, bundle: String, log: String, stderrFile: String) async throws(PaddockError) {
            try await detached(
                ["run", "--detach", "--bundle", bundle, id.rawValue], log: log, stderrFile: stderrFile,
                failing: "start the sandbox")
        }

        /// Runs a runtime command whose sandbox outlives it (`run -d`, `restore -d`); its failure names the runtime's
        /// own last error.
        private func detached(_ rest: [String], log: String, stderrFile: String, failing what: String)
            async throws(PaddockError)
        {
            let status = try await HostCommand.runDetached(binary, args(rest, log: log), stderrFile: stderrFile)
            guard status == 0 else {
                let reason = Self.lastError(inLog: log) ?? Syscalls.readFile(stderrFile)?.trimmed ?? "no output"
                throw .unavailable("\(kind.rawValue) could not \(what): \(reason)")
            }
        }

        /// Freezes every process of the container (cgroup freezer): memory and open files stay, CPU stops.
        public func pause(id: String) async throws(PaddockError) {
            let r = try await HostCommand.run(binary, args(["pause", id]))
            guard r.succeeded else { throw .internal("\(kind.rawValue) pause \(id) failed: \(r.stderr.trimmed)") }
        }

        /// Thaws a paused container; its processes continue where they stopped.
        public func resume(id: String) async throws(PaddockError) {
            let r = try await HostCommand.run(binary, args(["resume", id]))
            guard r.succeeded else { throw .internal("\(kind.rawValue) resume \(id) failed: \(r.stderr.trimmed)") }
        }

        /// gVisor only: writes the whole sandbox (memory, processes, open files) to `imagePath`; the container
        /// stops and its memory is released, unless `leaveRunning` (a snapshot that keeps processes): then it goes on
        /// as it was (running, or paused).
        public func checkpoint(id: String, imagePath: String, log: String, leaveRunning: Bool = false)
            async throws(PaddockError)
        {
            let options = (leaveRunning ? ["--leave-running"] : []) + imageFlags.checkpoint
            let r = try await HostCommand.run(
                binary, args(["checkpoint"] + options + ["--image-path", imagePath, id], log: log))
            guard r.succeeded else {
                let reason = Self.lastError(inLog: log) ?? r.stderr.trimmed
                throw .internal("\(kind.rawValue) checkpoint \(id) failed: \(reason)")
            }
        }

        /// gVisor only: starts the container again from a checkpoint, detached; its processes continue.
        public func restore(id: SessionID, bundle: String, imagePath: String, log: String, stderrFile: String)
            async throws(PaddockError)
        {
            let rest = ["--image-path", imagePath, "--bundle", bundle, id.rawValue]
            try await detached(
                ["restore", "--detach"] + imageFlags.restore + rest, log: log, stderrFile: stderrFile,
                failing: "restore the sandbox")
        }

        /// Sends `signal` (a name such as `USR2`) to the container's first process.
        public func kill(id: String, signal: String) async throws(PaddockError) {
            let r = try await HostCommand.run(binary, args(["kill", id, signal]))
            guard r.succeeded else {
                throw .internal("\(kind.rawValue) kill \(id) \(signal) failed: \(r.stderr.trimmed)")
            }
        }

        /// Kills and removes the container. Succeeds when it does not exist.
        public func delete(id: String) async throws(PaddockError) {
            let r = try await HostCommand.run(binary, args(["delete", "--force", id]))
            if !r.succeeded && !r.stderr.contains("does not exist") && !r.stderr.contains("not exist") {
                throw .internal("\(kind.rawValue) delete \(id) failed: \(r.stderr.trimmed)")
            }
        }

        public struct ContainerState: Decodable, Sendable {
            public var id: String
            public var pid: Int32?
            public var status: String
        }

        /// The runtime's view of one container, nil when it does not exist.
        public func state(id: String) async -> ContainerState? {
            guard let r = try? await HostCommand.run(binary, args(["state", id])), r.succeeded else { return nil }
            return try? JSONDecoder().decode(ContainerState.self, from: Data(r.stdout.utf8))
        }

        /// Every container in this state root.
        public func list() async -> [ContainerState] {
            guard let r = try? await HostCommand.run(binary, args(["list", "--format", "json"])), r.succeeded else {
                return []
            }
            // runc prints `null` for an empty list.
            let decoded = try? JSONDecoder().decode([ContainerState]?.self, from: Data(r.stdout.utf8))
            return decoded.flatMap { $0 } ?? []
        }

        /// The last error message in a runtime's JSON log.
        static func lastError(inLog path: String) -> String? {
            guard let text = Syscalls.readFile(path) else { return nil }
            struct Line: Decodable {
                var level: String?
                var msg: String?
            }
            for line in text.split(separator: "\n").reversed() {
                if let l = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)), l.level == "error",
                    let msg = l.msg
                {
                    return msg
                }
            }
            return nil
        }
    }

    extension String {
        var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
    }
#endif
