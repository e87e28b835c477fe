#if os(Linux)
    import PaddockCore
    import PaddockSandbox

    /// Stopping a gVisor sandbox to disk: its sentry writes every process, its memory and open files to a
    /// checkpoint image, and the sandbox stops, holding no memory; a resume restores it where it was. Init first
    /// lets go of its host sockets (a checkpoint cannot hold them) and listens again on SIGUSR2 after the restore.
    extension LocalProvider {
        public nonisolated var pausesToDisk: Bool { runtime.kind == .runsc }

        /// `<session>/checkpoint`: the image, and `complete` once the checkpoint finished (a half-written image is
        /// never taken for a paused sandbox).
        nonisolated func checkpointDirectory(_ id: SessionID) -> String {
            "\(layout.sessionDirectory(id))/checkpoint"
        }

        nonisolated func isOnDisk(_ id: SessionID) -> Bool {
            runtime.kind == .runsc && Syscalls.exists("\(checkpointDirectory(id))/complete")
        }

        public nonisolated func pauseToDisk(_ id: SessionID) async throws {
            guard pausesToDisk else {
                throw PaddockError.unavailable(
                    "only gVisor sessions can stop to disk; `paddock session stop` without --to-disk pauses this one "
                        + "in memory")
            }
            guard Syscalls.isDirectory(layout.sessionDirectory(id)) else {
                throw PaddockError.notFound("sandbox \(id) does not exist on this host")
            }
            if isOnDisk(id) { return }
            // A sandbox paused in memory runs again for the moment its init needs to let go of its sockets.
            if await runtime.state(id: id.rawValue)?.status == "paused" { try await thaw(id) }
            try await initClient(id).quiesce()
            let image = checkpointDirectory(id)
            Syscalls.removeTree(image)
            try Syscalls.makeDirectory(image, mode: 0o700)
            do {
                try await runtime.checkpoint(
                    id: id.rawValue, imagePath: image, log: "\(layout.sessionDirectory(id))/runtime.log")
                try AtomicFile.write([], to: "\(image)/complete", mode: 0o600)
            } catch {
                Syscalls.removeTree(image)
                await listenAgain(id, after: error)
                throw error
            }
            // runsc returns once the image is written; the sandbox's process takes a moment more to exit, and its
            // memory is released only then.
            if !(await exited(id, within: .seconds(60))) {
                logger.warning(
                    "a sandbox stopped to disk still runs a minute after its checkpoint",
                    metadata: ["session.id": "\(id)"])
            }
            do { try cgroup(of: id).reclaimMemory() } catch {
                logger.warning(
                    "the page cache of a sandbox stopped to disk could not be reclaimed; the kernel frees it when needed",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
            // The stopped container's state goes now rather than at the resume: `runsc delete` of a checkpointed
            // sandbox took 1.2–2 s of a 2.1–2.6 s restore (debug bench, loaded host), and nobody waits for it here.
            do { try await runtime.delete(id: id.rawValue) } catch {
                logger.warning(
                    "the runtime state of a sandbox stopped to disk could not be removed; the resume removes it",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
            logger.info("sandbox stopped to disk", metadata: ["session.id": "\(id)"])
        }

        /// After a failed checkpoint the sandbox may still run: init is told to listen again, so the session keeps
        /// working (or is found lost, when the checkpoint took it down).
        private nonisolated func listenAgain(_ id: SessionID, after error: any Error) async {
            do { try await runtime.kill(id: id.rawValue, signal: "USR2") } catch let signalError {
                logger.error(
                    "a checkpoint failed and the sandbox's init could not be told to listen again",
                    metadata: ["session.id": "\(id)", "error": "\(error)", "signal.error": "\(signalError)"])
            }
        }

        /// Starts the sandbox again from its image; its processes continue where they were.
        nonisolated func restoreFromDisk(_ id: SessionID) async throws {
            let dir = layout.sessionDirectory(id)
            let image = checkpointDirectory(id)
            // Restore creates the container anew under the same id: state the stop could not remove goes first.
            if await runtime.state(id: id.rawValue) != nil { try await runtime.delete(id: id.rawValue) }
            try await runtime.restore(
                id: id, bundle: dir, imagePath: image, log: "\(dir)/runtime.log", stderrFile: "\(dir)/init.log")
            try await runtime.kill(id: id.rawValue, signal: "USR2")
            try await waitForInit(id)
            // The image described that moment only; the sandbox has moved on.
            Syscalls.removeTree(image)
            logger.info("sandbox restored from disk", metadata: ["session.id": "\(id)"])
        }
    }
#endif
