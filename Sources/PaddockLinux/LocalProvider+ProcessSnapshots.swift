#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// Snapshots that keep processes (gVisor): beside the files, `runsc checkpoint --leave-running` writes the
    /// sandbox's processes, memory and open files to `<state>/processes/<layer>`, and the sandbox goes on. A sandbox
    /// started from the layer is restored from that image into its own bundle (its own id, cgroup, control socket and
    /// copy of the files) and continues the processes from the snapshot's moment; what it changes, the parent never
    /// sees. Init lets go of its host sockets for the checkpoint and listens again on SIGUSR2, as for a stop to disk.
    extension LocalProvider {
        public nonisolated var keepsProcesses: Bool { runtime.kind == .runsc }

        public func snapshotKeepingProcesses(_ id: SessionID, layer: String) async throws -> LayerInfo {
            guard keepsProcesses else {
                throw PaddockError.unavailable(
                    "only gVisor sessions' snapshots can keep processes (runc cannot checkpoint on this kernel); take "
                        + "one that keeps files (`--keeps files`)")
            }
            guard let slot = slots[id] else { throw PaddockError.notFound("sandbox \(id) does not exist on this host") }
            guard !isOnDisk(id) else {
                throw PaddockError.conflict(
                    "session \(id) is stopped to disk; resume it (`paddock session resume`), then snapshot it")
            }
            try Self.checkLayerID(layer)
            return try await sealKeepingProcesses(
                id, layer: layer, hostBase: hostIDBase(of: id, slot: slot), sharedLayer: sharedLayers[id])
        }

        /// Off the actor, like `seal`: the sandbox is frozen once, and its processes and its files are written from
        /// that same moment, so a restored process never finds files from another time.
        private nonisolated func sealKeepingProcesses(
            _ id: SessionID, layer: String, hostBase: UInt32, sharedLayer: String?
        ) async throws -> LayerInfo {
            let image = layout.processImage(layer)
            let staging = layout.processImage(Self.stagingPrefix + layer)
            guard !Syscalls.exists(image) else { throw PaddockError.conflict("layer \(layer) already exists") }
            let wasPaused = await isPaused(id)
            // A sandbox paused in memory runs again for the moment its init needs to let go of its sockets.
            if wasPaused { try await thaw(id) }
            let result: Result<LayerInfo, any Error>
            do {
                try await initClient(id).quiesce()
                try await freeze(id)
                Syscalls.removeTree(staging)
                try Syscalls.makeDirectory(staging, mode: 0o700)
                try await checkpoint(id, into: staging)
                let info = try await seal(id, layer: layer, hostBase: hostBase, sharedLayer: sharedLayer)
                do {
                    try Syscalls.check("publishing the process image of \(layer)") { Glibc.rename(staging, image) }
                } catch {
                    LayerCopy.removeLayer(layout.layer(layer))
                    throw error
                }
                result = .success(info)
            } catch {
                Syscalls.removeTree(staging)
                result = .failure(error)
            }
            await listenAgain(id, thenFreeze: wasPaused)
            let info = try result.get()
            logger.info(
                "snapshot sealed with its processes",
                metadata: ["session.id": "\(id)", "layer.id": "\(layer)", "layer.bytes": "\(info.bytes)"])
            return info
        }

        private nonisolated func checkpoint(_ id: SessionID, into image: String) async throws {
            do {
                try await runtime.checkpoint(
                    id: id.rawValue, imagePath: image, log: "\(layout.sessionDirectory(id))/runtime.log",
                    leaveRunning: true)
            } catch {
                throw PaddockError(
                    .unavailable,
                    "gVisor could not checkpoint this session's processes (\(error.message)); `paddock doctor` says "
                        + "whether checkpoint works on this host, and `--keeps files` snapshots the files alone",
                    underlying: error)
            }
        }

        /// The parent goes on after its snapshot: thawed, its init told to listen again and answering, and frozen
        /// again if it was paused before. A failure here leaves a sandbox that may not answer, which the session's
        /// next call or the reaper finds; the snapshot itself is kept or dropped by its own outcome.
        private nonisolated func listenAgain(_ id: SessionID, thenFreeze: Bool) async {
            do {
                if await isPaused(id) { try await thaw(id) }
                try await runtime.kill(id: id.rawValue, signal: "USR2")
                try await waitForInit(id)
                if thenFreeze { try await freeze(id) }
            } catch {
                logger.error(
                    "a sandbox did not take up its work again after a snapshot of its processes",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }

        /// Checks, before anything is made, that a sandbox can be restored from `layer`'s processes.
        nonisolated func checkProcessImage(of layer: String) throws(PaddockError) {
            guard keepsProcesses else {
                throw .invalidArgument(
                    "the '\(name)' provider cannot continue a snapshot's processes; use the provider it was taken on")
            }
            try Self.checkLayerID(layer)
            guard Syscalls.isDirectory(layout.processImage(layer)) else {
                throw .notFound(
                    "the processes of snapshot layer \(layer) are missing on this host; the snapshot is unusable")
            }
        }

        /// Starts the new sandbox from `layer`'s processes instead of a fresh init: its bundle is written like any
        /// other (files of the layer already copied into its root), then runsc restores the image into it, and init
        /// listens again, on the new sandbox's own control socket.
        nonisolated func restoreProcesses(of layer: String, into id: SessionID) async throws {
            let dir = layout.sessionDirectory(id)
            try await runtime.restore(
                id: id, bundle: dir, imagePath: layout.processImage(layer), log: "\(dir)/runtime.log",
                stderrFile: "\(dir)/init.log")
            try await runtime.kill(id: id.rawValue, signal: "USR2")
        }
    }
#endif
