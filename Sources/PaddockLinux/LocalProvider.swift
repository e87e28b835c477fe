#if os(Linux)
    import Foundation
    import Glibc
    import Logging
    import PaddockCore
    import PaddockInitProtocol
    import PaddockSandbox
    import Synchronization

    /// Runs sandboxes on this machine through an OCI runtime (runc by default; crun on pure cgroup v2).
    ///
    /// Per sandbox, under `<data>/sessions/<id>/`: `scratch/` (a size-capped tmpfs holding the overlay's
    /// writable upper — this is the `disk` limit), `rootfs/` (the overlay: template skeleton + upper), `run/`
    /// (the init's control socket, bind-mounted into the sandbox), `config.json` and logs. Everything a sandbox
    /// owns is found from its id alone, so cleanup after a crash needs no memory of what was created.
    public actor LocalProvider: SandboxProvider {
        public nonisolated let name: String
        nonisolated let layout: ProviderLayout
        public nonisolated let runtime: OCIRuntime
        /// The host's cgroup hierarchies, where sandboxes' cgroups live.
        nonisolated let cgroups: CgroupHierarchy
        let logger: Logger
        /// Prepared template bases by their text (`host`, `debian:bookworm`, `oci:/images/app`).
        var bases: [String: HostTemplate] = [:]
        /// Bases being prepared now: a second caller awaits the first's work instead of building the same
        /// skeleton into the same staging directory (which failed with "linking bin: File exists").
        var preparingBases: [String: Task<HostTemplate, any Error>] = [:]
        /// Each sandbox gets its own 65536-id range of host uids, so no two sandboxes share an identity.
        var slots: [SessionID: UInt32] = [:]
        /// Template-build sandboxes, whose ids map to the same host ids.
        var identityMapped: Set<SessionID> = []
        /// Sandboxes whose /workspace is layered on a snapshot layer (which must stay while they exist).
        var sharedLayers: [SessionID: String] = [:]
        /// Pre-started sandboxes of the host template, not yet handed to a session.
        /// Ready warm sandboxes per template version, oldest first.
        private var warm: [WarmTemplate: [SessionID]] = [:]
        /// Host files (agent CLIs) bind-mounted read-only into every sandbox this provider starts.
        var toolBinds: [SandboxSpecBuilder.ReadOnlyBind] = []
        static let firstHostID: UInt32 = 2_000_000

        /// Prepares the data directory and picks a runtime. Throws `unavailable` with what to install or enable
        /// when this host cannot run sandboxes.
        public static func make(
            dataDirectory: String, initBinary: String, capabilities: HostCapabilities, logger: Logger
        ) async throws -> LocalProvider {
            guard capabilities.canRunSandboxes, let runtimeName = capabilities.defaultRuntime,
                let runtimePath = capabilities.runtimes.first(where: { $0.name == runtimeName })?.path,
                let kind = OCIRuntime.Kind(rawValue: runtimeName)
            else {
                throw PaddockError.unavailable(
                    "this host cannot run sandboxes: \(capabilities.notes.joined(separator: "; ")); run `paddock doctor`"
                )
            }
            let layout = ProviderLayout(dataDirectory: dataDirectory)
            try layout.prepare()
            let installedInit = try await layout.installInit(from: initBinary)
            let runtime = OCIRuntime(kind: kind, binary: runtimePath, stateRoot: layout.runtimeState)
            return LocalProvider(
                name: "local", layout: layout, runtime: runtime, cgroups: .detect(),
                initBinary: installedInit, scratchDisk: await layout.detectScratchDisk(logger: logger),
                logger: logger)
        }

        /// The gVisor provider: the same sandboxes, run by `runsc` (a user-space kernel) for a stronger
        /// boundary. Its state lives in `<data>/gvisor`, so recovery of one provider never touches the other's
        /// sandboxes. The platform is systrap where the release has it, else ptrace (see `GVisorRuntime`).
        public static func makeGVisor(
            dataDirectory: String, initBinary: String, capabilities: HostCapabilities, logger: Logger
        ) async throws -> LocalProvider {
            guard let found = capabilities.runtimes.first(where: { $0.name == "runsc" && $0.usable }),
                let runsc = found.path
            else {
                throw PaddockError.unavailable("gVisor is not installed; \(GVisorRuntime.installHint)")
            }
            if !capabilities.gvisorContainsLimits {
                logger.warning(
                    "this runsc cannot contain a fork bomb or a memory hog: such a gVisor session dies whole",
                    metadata: [
                        "runsc.path": "\(runsc)", "runsc.version": "\(found.version ?? "unknown")",
                        "fix": "\(GVisorRuntime.installHint)",
                    ])
            }
            guard capabilities.isRoot, capabilities.overlayfs, capabilities.cgroupMode != .none else {
                throw PaddockError.unavailable(
                    "this host cannot run sandboxes: \(capabilities.notes.joined(separator: "; "))")
            }
            let layout = ProviderLayout(dataDirectory: dataDirectory + "/gvisor")
            try layout.prepare()
            let installedInit = try await layout.installInit(from: initBinary)
            // host-uds=all: paddock-init's control socket, created inside the sandbox in the bind-mounted
            // control directory, exists as a real socket on the host, where the server connects to it; and
            // paddock-init's egress relay connects out to the gateway's socket in that same directory. The
            // directory is the sandbox root's alone (0700), and the only other host paths a sandbox sees are
            // the read-only /usr and /opt, so no other host socket is within reach.
            // overlay2=none sends the sandbox's writes to the host overlay (whose upper is size-capped and
            // snapshotted) instead of a gVisor-internal memory overlay, whatever this runsc's default is.
            var runtime = OCIRuntime(
                kind: .runsc, binary: runsc, stateRoot: layout.runtimeState,
                globalFlags: [
                    "--platform=\(GVisorRuntime.platform(version: found.version))", "--network=none", "--host-uds=all",
                    "--overlay2=none",
                ])
            runtime.imageFlags = GVisorRuntime.imageFlags(version: found.version, directIO: layout.takesDirectIO())
            return LocalProvider(
                name: "gvisor", layout: layout, runtime: runtime, cgroups: .detect(),
                initBinary: installedInit, scratchDisk: await layout.detectScratchDisk(logger: logger),
                logger: logger, userNamespace: false)
        }

        nonisolated let initBinary: String
        /// Where writable layers live and how their size is enforced.
        nonisolated let scratchDisk: ScratchDisk
        /// Where this provider's writable layers live, for `paddock doctor` and the logs.
        public nonisolated var diskSummary: String { scratchDisk.summary }
        /// Whether sandboxes get an OCI user namespace. gVisor's own kernel provides the boundary instead,
        /// and its sandbox already runs in a user namespace of its own.
        nonisolated let userNamespace: Bool

        init(
            name: String, layout: ProviderLayout, runtime: OCIRuntime, cgroups: CgroupHierarchy,
            initBinary: String, scratchDisk: ScratchDisk, logger: Logger, userNamespace: Bool = true
        ) {
            self.scratchDisk = scratchDisk
            self.userNamespace = userNamespace
            self.name = name
            self.layout = layout
            self.runtime = runtime
            self.cgroups = cgroups
            self.initBinary = initBinary
            self.logger = logger
        }

        // MARK: Lifecycle

        public func create(_ request: SandboxRequest) async throws {
            let id = request.id
            guard slots[id] == nil, !Syscalls.exists(layout.sessionDirectory(id)) else {
                throw PaddockError.conflict("a sandbox with id \(id) already exists")
            }
            if request.guardrails.exec != nil && !userNamespace {
                throw PaddockError.invalidArgument(
                    "command guardrails are not enforced on the '\(name)' provider (gVisor's kernel does not hand "
                        + "exec decisions to the host); use --provider local, or a policy without guardrails.commands")
            }
            if request.restoresProcesses {
                guard let layer = request.layer else {
                    throw PaddockError.invalidArgument("a sandbox restoring a snapshot's processes needs its layer")
                }
                try checkProcessImage(of: layer)
            }
            let template = try await root(for: request.base)
            if let templateLayer = request.templateLayer {
                try Self.checkLayerID(templateLayer)
                guard Syscalls.isDirectory(layout.layer(templateLayer)) else {
                    throw PaddockError.notFound(
                        "the layer of template '\(request.template)' is missing on this host; rebuild the template")
                }
            }
            let slot = allocateSlot(for: id)
            do {
                try await start(id: id, slot: slot, request: request, template: template)
            } catch {
                logger.warning(
                    "sandbox start failed; cleaning up", metadata: ["session.id": "\(id)", "error": "\(error)"])
                await teardown(id)
                throw PaddockError.wrap(error, "starting the sandbox failed")
            }
        }

        private func allocateSlot(for id: SessionID) -> UInt32 {
            let used = Set(slots.values)
            var slot: UInt32 = 0
            while used.contains(slot) { slot += 1 }
            slots[id] = slot
            return slot
        }

        /// The sandboxes' open-file limit: 65536, or less when this process's hard limit is lower (raising a
        /// hard limit needs a privilege the runtime does not have inside the user namespace).
        public static func openFileLimit() -> UInt64 {
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
            return min(65536, UInt64(limit.rlim_max))
        }

        nonisolated func hostIDBase(slot: UInt32) -> UInt32 {
            userNamespace ? Self.firstHostID + slot * SandboxLayout.idRangeSize : 0
        }

        /// The first host id of a sandbox's range: 0 for template builds (identity-mapped), else its slot's.
        func hostIDBase(of id: SessionID, slot: UInt32) -> UInt32 {
            identityMapped.contains(id) ? 0 : hostIDBase(slot: slot)
        }

        private func start(id: SessionID, slot: UInt32, request: SandboxRequest, template: HostTemplate) async throws {
            let limits = request.limits
            let dir = layout.sessionDirectory(id)
            if request.templateBuild { identityMapped.insert(id) }
            let base = hostIDBase(of: id, slot: slot)
            let user = (uid_t(base + SandboxLayout.userID), gid_t(base + SandboxLayout.groupID))
            try Syscalls.makeDirectory(dir, mode: 0o711)
            try AtomicFile.write(Array(#"{"slot":\#(slot)}"#.utf8), to: "\(dir)/sandbox.json", mode: 0o600)

            // The writable layer lives on a filesystem of its own, whose size is the disk limit: a disk filler
            // gets ENOSPC inside its sandbox and nobody else notices.
            let scratch = "\(dir)/scratch"
            try Syscalls.makeDirectory(scratch, mode: 0o700)
            try await scratchDisk.mount(
                at: scratch, image: "\(dir)/\(ScratchDisk.imageName)", limit: limits.disk,
                capacity: request.diskCapacity, maxBytes: layout.dataFilesystemBytes)
            let upper = "\(scratch)/upper"
            try Syscalls.makeDirectory(upper, mode: 0o755)
            try Syscalls.makeDirectory("\(scratch)/work", mode: 0o700)
            for (path, mode, owner) in [
                ("workspace", mode_t(0o755), user), ("home", 0o755, (uid_t(0), gid_t(0))), ("home/user", 0o750, user),
                ("tmp", 0o1777, (0, 0)), ("var", 0o755, (0, 0)), ("var/tmp", 0o1777, (0, 0)),
            ] {
                try Syscalls.makeDirectory("\(upper)/\(path)", mode: mode, owner: owner)
            }

            try makeToolMountPoints(in: upper)
            let rootfs = "\(dir)/rootfs"
            try Syscalls.makeDirectory(rootfs, mode: 0o755)
            try Syscalls.mount(
                source: "paddock-\(id)", target: rootfs, type: "overlay", flags: UInt(MS_NOSUID | MS_NODEV),
                data: "lowerdir=\(lowerDirectories(request, template)),upperdir=\(upper),workdir=\(scratch)/work")
            if canShareLayers {
                // Shared, so that a layer mounted under it later reaches the sandbox (its copy is a slave).
                try Syscalls.mount(source: "none", target: rootfs, type: "none", flags: UInt(MS_SHARED), data: nil)
            }
            // A snapshot's files go in before anything runs, through the overlay like any write. A workspace layer is
            // shared once the sandbox runs (its user namespace is what the layer is mapped through) — unless
            // guardrail mounts sit under /workspace, which the shared overlay would hide.
            let sharing = request.sharesWorkspace && canShareLayers && request.guardrails.files.isEmpty
            if let layer = request.layer, !sharing { try await applyLayer(layer, to: id, hostBase: base) }

            // Only container root (paddock-init) may open the control socket; the sandbox user cannot.
            let control = "\(dir)/run"
            try Syscalls.makeDirectory(control, mode: 0o700, owner: (uid_t(base), gid_t(base)))

            var builder = SandboxSpecBuilder(
                id: id, rootfs: rootfs, initBinary: initBinary, controlDirectory: control, hostIDBase: base,
                limits: limits, readOnlyBinds: template.readOnlyBinds + toolBinds, cgroupParent: layout.cgroupParent,
                userNamespace: userNamespace)
            builder.userSpaceKernel = runtime.kind == .runsc
            builder.openFiles = Self.openFileLimit()
            builder.hostNetwork = request.templateBuild
            builder.receivesHostMounts = canShareLayers
            builder.guardMounts = try guardMounts(
                request.guardrails.files, rootfs: rootfs, sessionDirectory: dir, user: user)
            var listener: ExecGuardListener?
            if let guardrail = request.guardrails.exec {
                let shared = try ExecGuardListener.shared(logger: logger)
                shared.register(id, guardrail: guardrail)
                builder.execNotify = .init(listenerPath: shared.socketPath, metadata: id.rawValue)
                listener = shared
            }
            let spec = builder.build()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(spec)), to: "\(dir)/config.json", mode: 0o600)

            if let layer = request.layer, request.restoresProcesses {
                try await restoreProcesses(of: layer, into: id)
            } else {
                try await runtime.run(id: id, bundle: dir, log: "\(dir)/runtime.log", stderrFile: "\(dir)/init.log")
            }
            try await waitForInit(id)
            if userNamespace { try exemptInitFromOOMKiller(id) }
            if let layer = request.layer, sharing {
                // Held from before the mount, so collection never removes the layer halfway through it.
                sharedLayers[id] = layer
                if try await !applyLayerSharingWorkspace(layer, to: id, hostBase: base) { sharedLayers[id] = nil }
            }
            if let listener, !listener.isGuarding(id) {
                throw PaddockError.unavailable(
                    "the runtime did not hand the sandbox's exec notifications to the guard; `paddock doctor` "
                        + "says whether this host supports seccomp user notification")
            }
            logger.info("sandbox started", metadata: ["session.id": "\(id)", "sandbox.slot": "\(slot)"])
        }

        /// Makes paddock-init exempt from the OOM killer (oom_score_adj -1000), so that a memory hog in its
        /// sandbox is killed and reported while the session lives on; init resets the value to 0 in everything it
        /// spawns. Written from the host, which may lower it, unlike anything inside the user namespace. A host
        /// without CAP_SYS_RESOURCE (some container platforms) cannot: init then stays at 0 and gives what it
        /// spawns 1000, so they still go first. Not for gVisor: its sentry is the whole sandbox on the host, and a
        /// memory cgroup with nothing the kernel may kill hangs instead of failing.
        private nonisolated func exemptInitFromOOMKiller(_ id: SessionID) throws(PaddockError) {
            let members = cgroup(of: id).processes
            // Nothing else runs yet, but tell init by its pid inside the sandbox rather than trust that.
            let initPID = members.first { pid in
                Syscalls.readFile("/proc/\(pid)/status")?.split(separator: "\n")
                    .first { $0.hasPrefix("NSpid:") }?.split(whereSeparator: \.isWhitespace).last == "1"
            }
            guard let initPID else { throw .internal("the sandbox's init was not found in its cgroup") }
            do { try Syscalls.writeExisting("/proc/\(initPID)/oom_score_adj", "-1000") } catch {
                if !Self.warnedOOMAdjust.exchange(true, ordering: .relaxed) {
                    logger.notice(
                        """
                        this host does not let Paddock exempt sandbox inits from the OOM killer (no \
                        CAP_SYS_RESOURCE); commands get oom_score_adj 1000 instead, so they still go first
                        """, metadata: ["error": "\(error)"])
                }
            }
        }
        private static let warnedOOMAdjust = Atomic<Bool>(false)

        /// Waits until paddock-init listens and answers `hello`. The runtime returns as soon as init is exec'd,
        /// a moment before its socket exists, so poll briefly rather than sleep a fixed time. On a loaded host init
        /// can take seconds to get scheduled, so the wait goes on while the runtime still reports the container
        /// running, and ends at once when it has stopped (init died: its log says why).
        nonisolated func waitForInit(_ id: SessionID) async throws {
            let socket = layout.socket(id)
            let started = ContinuousClock.now
            let deadline = started + .seconds(60)
            var nextLivenessCheck = started + .seconds(2)
            var delay = Duration.microseconds(100)
            while ContinuousClock.now < deadline {
                if Syscalls.exists(socket), (try? await hello(socket)) != nil { return }
                if ContinuousClock.now >= nextLivenessCheck {
                    let status = await runtime.state(id: id.rawValue)?.status
                    guard status == "running" || status == "created" else { break }
                    nextLivenessCheck = ContinuousClock.now + .seconds(1)
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(20))
            }
            let initLog = Syscalls.readFile("\(layout.sessionDirectory(id))/init.log")?.trimmed ?? ""
            throw PaddockError.unavailable(
                "the sandbox started but its supervisor never answered\(initLog.isEmpty ? "" : ": \(initLog)")")
        }

        private nonisolated func hello(_ socket: String) async throws -> Int32 {
            try await InitClient(transport: UnixSocketInitTransport(socketPath: socket)).hello()
        }

        /// The gateway socket lives in the bind-mounted control directory, reachable by paddock-init only.
        /// gVisor's sandboxes cannot connect to host sockets that they did not create, so they get no egress.
        public nonisolated func egressSocketPath(_ id: SessionID) -> String? {
            "\(layout.sessionDirectory(id))/run/\(SandboxLayout.egressSocketName)"
        }

        // MARK: Warm pool

        /// Starts sandboxes until `size` are ready (or one fails); returns how many are ready. Warm sandboxes
        /// are ordinary running sandboxes with default limits: an idle one costs about a megabyte and no CPU
        /// (its init sleeps in poll), so they are kept running rather than frozen, and a claim is instant.
        public func fillPool(_ template: WarmTemplate, size: Int) async throws -> Int {
            // Sandboxes of an older version of the template (rebuilt since) are not handed out again.
            for stale in warm.keys where stale.name == template.name && stale != template {
                for id in warm.removeValue(forKey: stale) ?? [] { await teardown(id) }
            }
            while let ready = warm[template], ready.count > size, let extra = ready.last {
                warm[template]?.removeLast()
                await teardown(extra)
            }
            while warm[template, default: []].count < size {
                let id = SessionID.random()
                var request = SandboxRequest(
                    id: id, template: template.name, limits: Self.warmLimits, base: template.base,
                    templateLayer: template.layer)
                request.diskCapacity = Self.warmDiskCapacity
                try await create(request)
                warm[template, default: []].append(id)
            }
            if warm[template]?.isEmpty == true { warm[template] = nil }
            return warm[template]?.count ?? 0
        }

        public func readyCount(template: String) -> Int {
            warm.filter { $0.key.name == template }.reduce(0) { $0 + $1.value.count }
        }

        /// Removes this data directory's cgroup parent when no sandbox is left in it (rmdir fails on a cgroup
        /// that still has children, so live sessions keep theirs for the next server).
        public func shutdown() async { removeCgroupParent() }

        public func drainWarm() async {
            for (template, ids) in warm {
                warm[template] = nil
                for id in ids { await teardown(id) }
            }
        }

        /// Template layers warm sandboxes are mounted on (never removed under them).
        var warmLayers: Set<String> { Set(warm.keys.compactMap(\.layer)) }

        /// The limits warm sandboxes start with; a claim asking for these writes no cgroup file.
        static let warmLimits = ResourceLimits.default
        /// The disk warm sandboxes are made with (sparse, and held back to `warmLimits.disk` until claimed): a claim
        /// asking for up to this much disk is warm even where the host cannot grow a filesystem online.
        static let warmDiskCapacity = ByteSize.gibibytes(8)

        /// Hands over a warm sandbox with `limits` applied, or nil when none is ready. Limits are applied by
        /// writing the sandbox's cgroup files and remounting its writable layer's size cap: no runtime process
        /// is spawned on this path.
        public func claimWarm(template: WarmTemplate, limits: ResourceLimits, layer: String?) async -> SessionID? {
            guard layer == nil || canWriteRunningRoot else { return nil }
            // gVisor's limits inside are rlimits that init got when it started (`GVisorLimits`), which the host
            // cannot change in a running sandbox: other limits start cold.
            guard runtime.kind != .runsc || limits == Self.warmLimits else { return nil }
            // A larger disk than warm sandboxes have room for starts cold, unless the host grows disks online.
            guard scratchDisk.canApply(limits.disk, capacity: Self.warmDiskCapacity) else { return nil }
            while let id = warm[template]?.first {
                warm[template]?.removeFirst()
                if warm[template]?.isEmpty == true { warm[template] = nil }
                guard let slot = slots[id] else {
                    await teardown(id)
                    continue
                }
                do {
                    guard let layer else {
                        // Nothing to mount: a few file writes, not worth two hops off the actor and back.
                        if limits != Self.warmLimits { try applyLimits(id, limits) }
                        return id
                    }
                    // Held from before the mount, so collection never removes the layer halfway through it.
                    sharedLayers[id] = layer
                    let shared = try await prepareClaimed(
                        id, limits: limits, layer: layer, hostBase: hostIDBase(of: id, slot: slot))
                    if !shared { sharedLayers[id] = nil }
                    return id
                } catch {
                    logger.warning("discarding a warm sandbox", metadata: ["session.id": "\(id)", "error": "\(error)"])
                    await teardown(id)
                }
            }
            return nil
        }

        /// Off the actor: a fork claims many sandboxes at once, and their set-up runs side by side.
        private nonisolated func prepareClaimed(
            _ id: SessionID, limits: ResourceLimits, layer: String, hostBase: UInt32
        ) async throws -> Bool {
            if limits != Self.warmLimits { try applyLimits(id, limits) }
            return try await applyLayerSharingWorkspace(layer, to: id, hostBase: hostBase)
        }

        private nonisolated func applyLimits(_ id: SessionID, _ limits: ResourceLimits) throws {
            try cgroup(of: id).apply(runtime.kind == .runsc ? GVisorLimits.hostCeiling(limits) : limits)
            let dir = layout.sessionDirectory(id)
            try scratchDisk.setLimit(
                at: "\(dir)/scratch", image: "\(dir)/\(ScratchDisk.imageName)", limit: limits.disk)
        }

        public func destroy(_ id: SessionID) async throws {
            await teardown(id)
        }

        /// Removes everything a sandbox may own, in dependency order, and tolerates any piece being missing.
        private func teardown(_ id: SessionID) async {
            let dir = layout.sessionDirectory(id)
            ExecGuardListener.ifStarted?.unregister(id)
            do { try await runtime.delete(id: id.rawValue) } catch {
                logger.warning("runtime delete failed", metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
            // The runtime ends the sandbox's processes; those of a container it had lost track of end here.
            let killed = await cgroup(of: id).killAll(logger: logger).found
            if killed > 0 {
                logger.warning(
                    "killed processes the runtime no longer knew",
                    metadata: ["session.id": "\(id)", "processes": "\(killed)"])
            }
            for point in MountTable.mountPoints(under: dir) {
                do { try Syscalls.unmount(point) } catch {
                    logger.error("unmount failed", metadata: ["session.id": "\(id)", "error": "\(error)"])
                }
            }
            cgroup(of: id).remove()
            Syscalls.removeTree(dir)
            await ScratchDisk.waitUntilReleased(under: dir, logger: logger)
            slots[id] = nil
            identityMapped.remove(id)
            sharedLayers[id] = nil
            for (template, ids) in warm where ids.contains(id) { warm[template]?.removeAll { $0 == id } }
        }

        // MARK: Exec and files

        /// Commands, processes, ports and files go to the sandbox's init through its control socket.
        public nonisolated func initClient(_ id: SessionID) throws -> InitClient {
            guard Syscalls.isDirectory(layout.sessionDirectory(id)) else {
                throw PaddockError.notFound("sandbox \(id) does not exist on this host")
            }
            let sandbox = cgroup(of: id)
            return InitClient(
                transport: UnixSocketInitTransport(socketPath: layout.socket(id)),
                outOfMemoryKills: { sandbox.oomKills })
        }

        // MARK: Observation and recovery

        public nonisolated func stats(_ id: SessionID) async throws -> SandboxStats {
            let dir = layout.sessionDirectory(id)
            guard Syscalls.isDirectory(dir) else {
                throw PaddockError.notFound("sandbox \(id) does not exist on this host")
            }
            let cg = cgroup(of: id)
            let (used, total) = try scratchDisk.usage(at: "\(dir)/scratch")
            var stats = SandboxStats(
                memoryBytes: cg.memoryBytes, memoryLimitBytes: cg.memoryLimitBytes,
                cpuNanoseconds: cg.cpuNanoseconds, pids: cg.pids, diskUsedBytes: used, diskLimitBytes: total,
                oomEvents: cg.oomKills)
            stats.pidLimitHits = cg.pidLimitHits
            return stats
        }

        /// Running and answering, or frozen (a frozen init cannot answer, but it is there and will again).
        public nonisolated func isAlive(_ id: SessionID) async -> Bool {
            // Generous, because on a loaded host a live init can take seconds to answer, and a live sandbox taken
            // for dead loses its session.
            await liveness(id, answerWithin: .seconds(15)) != .dead
        }

        enum Liveness: Equatable {
            case answering, frozen, dead
            /// The runtime reports it running, but its init did not answer in time.
            case silent
        }

        /// Never talks to a frozen sandbox (its init cannot answer until thawed), and waits at most `limit` for
        /// a running one's init.
        nonisolated func liveness(_ id: SessionID, answerWithin limit: Duration) async -> Liveness {
            if freezer(id)?.isFrozen == true || isOnDisk(id) { return .frozen }
            switch await runtime.state(id: id.rawValue)?.status {
            case "paused": return .frozen
            case "running":
                let socket = layout.socket(id)
                do {
                    _ = try await withDeadline(limit, "init's hello") { try await self.hello(socket) }
                    return .answering
                } catch {
                    // The runtime says it runs: a slow or wedged init is not a dead sandbox. The caller keeps it
                    // and asks again (recovery's background check); it never decides "lost" from this alone.
                    logger.info(
                        "a sandbox's init did not answer in time",
                        metadata: ["session.id": "\(id)", "error": "\(error)"])
                    return .silent
                }
            default: return .dead
            }
        }

        /// The sandbox's cgroup freezer, where its processes run in the host's cgroups (runc, crun). gVisor's
        /// run inside its own kernel, and only `runsc pause` stops them.
        nonisolated func freezer(_ id: SessionID) -> Cgroup? {
            runtime.kind == .runsc ? nil : cgroup(of: id)
        }

        public nonisolated func isPaused(_ id: SessionID) async -> Bool {
            if isOnDisk(id) { return true }
            if let frozen = freezer(id)?.isFrozen { return frozen }
            return await runtime.state(id: id.rawValue)?.status == "paused"
        }

        public nonisolated func pause(_ id: SessionID) async throws {
            guard Syscalls.isDirectory(layout.sessionDirectory(id)) else {
                throw PaddockError.notFound("sandbox \(id) does not exist on this host")
            }
            if await isPaused(id) { return }
            try await freeze(id)
        }

        public nonisolated func resume(_ id: SessionID) async throws {
            guard Syscalls.isDirectory(layout.sessionDirectory(id)) else {
                throw PaddockError.notFound("sandbox \(id) does not exist on this host")
            }
            guard await isPaused(id) else { return }
            if isOnDisk(id) { return try await restoreFromDisk(id) }
            try await thaw(id)
        }

        nonisolated func freeze(_ id: SessionID) async throws(PaddockError) {
            if let freezer = freezer(id) {
                try await freezer.freeze()
            } else {
                try await runtime.pause(id: id.rawValue)
            }
        }

        nonisolated func thaw(_ id: SessionID) async throws(PaddockError) {
            if let freezer = freezer(id) { try freezer.thaw() } else { try await runtime.resume(id: id.rawValue) }
        }

        /// The host pid of a sandbox's init (for density and leak measurements).
        public nonisolated func initPID(_ id: SessionID) async -> Int32? {
            // A stopped container (a gVisor sandbox on disk) reports no pid, or -1.
            guard let state = await runtime.state(id: id.rawValue), state.status != "stopped",
                let pid = state.pid, pid > 0
            else { return nil }
            return pid
        }

        public func recover(live: Set<SessionID>) async -> RecoveryReport {
            var report = RecoveryReport()
            var seen = Set<SessionID>()
            let names = Syscalls.listDirectory(layout.sessions)
            // Every live sandbox is asked at once, briefly: the server must be listening within seconds whatever
            // it finds. One that is running but silent is kept, and the caller checks it again in the background.
            let states = await withTaskGroup(of: (SessionID, Liveness).self) { group in
                for name in names {
                    guard let id = SessionID(rawValue: name), live.contains(id) else { continue }
                    group.addTask { (id, await self.liveness(id, answerWithin: .seconds(2))) }
                }
                var states: [SessionID: Liveness] = [:]
                for await (id, state) in group { states[id] = state }
                return states
            }
            for name in names {
                guard let id = SessionID(rawValue: name) else { continue }
                seen.insert(id)
                if let state = states[id], state != .dead, let slot = readSlot(id) {
                    slots[id] = slot
                    if let layer = sharedLayer(of: id) { sharedLayers[id] = layer }
                    report.adopted.append(id)
                    if state == .silent { report.unanswered.append(id) }
                    if state == .frozen { report.frozen.append(id) }
                } else {
                    await teardown(id)
                    if live.contains(id) {
                        report.lost.append(id)
                    } else {
                        report.removedOrphans.append("sandbox \(id)")
                    }
                }
            }
            for id in live.subtracting(seen) { report.lost.append(id) }
            // Runtime state without a session directory (a crash between `run` and bookkeeping).
            for container in await runtime.list()
            where SessionID(rawValue: container.id).map({ !report.adopted.contains($0) }) ?? true {
                try? await runtime.delete(id: container.id)
                report.removedOrphans.append("runtime state \(container.id)")
            }
            // Cgroups of sandboxes that no longer exist, and whatever still runs in them.
            let orphanCgroups = Set(parentCgroup.childNames.compactMap(SessionID.init(rawValue:)))
                .subtracting(report.adopted)
            for id in orphanCgroups {
                let killed = await cgroup(of: id).killAll(logger: logger).found
                if killed > 0 { report.removedOrphans.append("\(killed) processes of sandbox \(id)") }
                report.removedOrphans += cgroup(of: id).remove().map { "cgroup \($0)" }
            }
            if !report.lost.isEmpty || !report.removedOrphans.isEmpty || !report.adopted.isEmpty {
                logger.info(
                    "recovered sandboxes",
                    metadata: [
                        "recovery.adopted": "\(report.adopted.count)", "recovery.lost": "\(report.lost.count)",
                        "recovery.orphans": "\(report.removedOrphans.count)",
                    ])
            }
            return report
        }

        /// This data directory's cgroup parent, which every sandbox's cgroup is in.
        nonisolated var parentCgroup: Cgroup { Cgroup(hierarchy: cgroups, path: layout.cgroupParent) }

        /// A sandbox's cgroup (the runtime's `cgroupsPath` for it).
        nonisolated func cgroup(of id: SessionID) -> Cgroup { parentCgroup.child(id.rawValue) }

        private func readSlot(_ id: SessionID) -> UInt32? {
            struct State: Decodable { var slot: UInt32 }
            guard let text = Syscalls.readFile("\(layout.sessionDirectory(id))/sandbox.json") else { return nil }
            return try? JSONDecoder().decode(State.self, from: Data(text.utf8)).slot
        }

        /// Everything of one sandbox still present on the host: its directory, mounts, runtime state, cgroups
        /// and processes. Empty after a destroy; tests and the density benchmark assert exactly that.
        public nonisolated func leftovers(of id: SessionID) async -> [String] {
            var found: [String] = []
            let dir = layout.sessionDirectory(id)
            if Syscalls.exists(dir) { found.append("directory \(dir)") }
            found += MountTable.mountPoints(under: dir).map { "mount \($0)" }
            if await runtime.state(id: id.rawValue) != nil { found.append("runtime state \(id)") }
            found += ScratchDisk.loopDevices(backedUnder: dir).map { "loop device \($0)" }
            let sandbox = cgroup(of: id)
            found += sandbox.directories.map { "cgroup \($0)" }
            for pid in Syscalls.listDirectory("/proc").compactMap({ Int32($0) }) {
                if let text = Syscalls.readFile("/proc/\(pid)/cgroup"),
                    text.contains(sandbox.path + "\n") || text.contains(sandbox.path + "/")
                {
                    found.append("process \(pid)")
                }
            }
            return found
        }

        /// Removes this data directory's (empty) cgroup parents; for tests and `bench`, which use throwaway
        /// data directories. A server keeps its parent for its whole life.
        public nonisolated func removeCgroupParent() {
            parentCgroup.remove()
        }

        /// What a sandbox leaves on the host, counted — used by leak checks in tests and `bench --density`.
        public nonisolated func footprint() async -> Footprint {
            Footprint(
                sessionDirectories: Syscalls.listDirectory(layout.sessions).count,
                mounts: MountTable.mountPoints(under: layout.sessions).count,
                loopDevices: ScratchDisk.loopDevices(backedUnder: layout.sessions).count,
                runtimeContainers: await runtime.list().count,
                cgroups: parentCgroup.childNames.filter { SessionID(rawValue: $0) != nil }.count)
        }
    }

    /// Host resources held by sandboxes of one provider.
    public struct Footprint: Sendable, Equatable, Codable, CustomStringConvertible {
        public var sessionDirectories: Int
        public var mounts: Int
        /// Loop devices still bound to a sandbox's disk image.
        public var loopDevices: Int
        public var runtimeContainers: Int
        public var cgroups: Int
        public init(
            sessionDirectories: Int = 0, mounts: Int = 0, loopDevices: Int = 0, runtimeContainers: Int = 0,
            cgroups: Int = 0
        ) {
            self.loopDevices = loopDevices
            self.sessionDirectories = sessionDirectories
            self.mounts = mounts
            self.runtimeContainers = runtimeContainers
            self.cgroups = cgroups
        }
        public var isEmpty: Bool {
            sessionDirectories == 0 && mounts == 0 && loopDevices == 0 && runtimeContainers == 0 && cgroups == 0
        }
        public var description: String {
            "dirs=\(sessionDirectories) mounts=\(mounts) loops=\(loopDevices) runtime=\(runtimeContainers) "
                + "cgroups=\(cgroups)"
        }
    }
#endif
