#if os(Linux)
    import CPaddockShim
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// Fork children that share their snapshot's /workspace copy-on-write instead of copying it.
    ///
    /// A warm sandbox claimed for a snapshot gets an overlay mounted over its /workspace from the host: the
    /// layer's `workspace/` as the lower layer (an idmapped, read-only mount, so the sandbox sees the owners it
    /// saw when the snapshot was taken), its own /workspace beneath, and an upper in its size-capped scratch
    /// space. The sandbox's root is a shared mount whose copy in the sandbox is a slave, so the mount reaches
    /// it; nothing the sandbox mounts reaches the host. The rest of the layer (outside /workspace, usually small)
    /// is copied as before. Warm sandboxes have no guardrail mounts (guarded sessions start cold), so the
    /// overlay hides none.
    extension LocalProvider {
        /// runc sandboxes with a user namespace: gVisor serves its root from its own file cache, and an
        /// identity-mapped sandbox has no namespace to map the layer's owners through.
        public nonisolated var canShareLayers: Bool { canWriteRunningRoot && userNamespace }

        /// The workspace overlay's source names its layer, so the mount table itself says which layer a
        /// sandbox shares (also after a restart) without a file written on every claim.
        static let sharedLayerSourcePrefix = "paddock-layer-"
        /// The name of a layer's directory that holds its `/workspace`.
        static let workspaceName = String(SandboxLayout.workspace.dropFirst())

        private struct SharedWorkspace {
            let lower: String
            /// The base's `workspace/`, mapped as `lower` is, when the layer is a delta.
            let baseLower: String
            let upper: String
            let work: String
            let mountPoint: String
            /// Where the sandbox sees `upper`, read-only (`SandboxLayout.workspaceChanges`).
            let changes: String

            init(_ sessionDirectory: String) {
                lower = "\(sessionDirectory)/scratch/shared-layer"
                baseLower = "\(sessionDirectory)/scratch/shared-layer-base"
                upper = "\(sessionDirectory)/scratch/workspace-upper"
                work = "\(sessionDirectory)/scratch/workspace-work"
                mountPoint = "\(sessionDirectory)/rootfs\(SandboxLayout.workspace)"
                changes = "\(sessionDirectory)/rootfs\(SandboxLayout.workspaceChanges)"
            }
        }

        /// The layer a sandbox's /workspace is layered on, if it is.
        public nonisolated func sharedLayer(of id: SessionID) -> String? {
            let source = MountTable.source(at: SharedWorkspace(layout.sessionDirectory(id)).mountPoint)
            guard let source, source.hasPrefix(Self.sharedLayerSourcePrefix) else { return nil }
            return String(source.dropFirst(Self.sharedLayerSourcePrefix.count))
        }

        /// Gives a running sandbox a snapshot layer, sharing its /workspace where it can; returns whether it
        /// did (the layer must then stay until the sandbox is gone).
        nonisolated func applyLayerSharingWorkspace(_ layer: String, to id: SessionID, hostBase: UInt32)
            async throws(PaddockError) -> Bool
        {
            try Self.checkLayerID(layer)
            let path = layout.layer(layer)
            let source = "\(path)/\(Self.workspaceName)"
            let base = deltaBase(of: layer)
            let baseSource = base.map { "\(layout.layer($0))/\(Self.workspaceName)" }
            var st = Glibc.stat()
            // lstat: the layer's content came from a sandbox; a symlink named workspace must not be followed.
            guard canShareLayers, lstat(source, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR,
                baseSource.map({ Syscalls.isDirectory($0) }) ?? true, let member = memberProcess(id)
            else {
                try await applyLayer(layer, to: id, hostBase: hostBase)
                return false
            }
            let dir = layout.sessionDirectory(id)
            let shared = SharedWorkspace(dir)
            do {
                var below = Glibc.stat()
                guard lstat(shared.mountPoint, &below) == 0, (below.st_mode & S_IFMT) == S_IFDIR else {
                    throw PaddockError.internal("the sandbox has no \(SandboxLayout.workspace) directory")
                }
                try Syscalls.makeDirectory(shared.lower, mode: 0o700)
                try Syscalls.makeDirectory(shared.work, mode: 0o700)
                // The overlay's root takes the upper's owner and mode: those of the snapshot's /workspace.
                let shift = LayerCopy.IDShift(hostBase: hostBase, rangeSize: SandboxLayout.idRangeSize)
                try Syscalls.makeDirectory(
                    shared.upper, mode: st.st_mode & 0o7777, owner: (shift.toHost(st.st_uid), shift.toHost(st.st_gid)))
                try Syscalls.check("mapping layer \(layer) into the sandbox's user namespace") {
                    pk_mount_idmapped(source, "/proc/\(member)/ns/user", shared.lower)
                }
                var lowers = [shared.lower]
                if let base, let baseSource {
                    try Syscalls.makeDirectory(shared.baseLower, mode: 0o700)
                    try Syscalls.check("mapping layer \(base) into the sandbox's user namespace") {
                        pk_mount_idmapped(baseSource, "/proc/\(member)/ns/user", shared.baseLower)
                    }
                    lowers.append(shared.baseLower)
                }
                lowers.append(shared.mountPoint)
                try Syscalls.mount(
                    source: Self.sharedLayerSourcePrefix + layer, target: shared.mountPoint, type: "overlay",
                    flags: UInt(MS_NOSUID | MS_NODEV),
                    data:
                        "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(shared.upper),workdir=\(shared.work)")
                for whole in [base.map(layout.layer), path].compactMap({ $0 }) {
                    _ = try LayerCopy.apply(
                        layer: whole, onto: "\(dir)/rootfs", shift: shift, skipping: [Self.workspaceName])
                }
                showChanges(shared, of: id)
                return true
            } catch {
                // The caller tears the sandbox down; the mounts go first so the layer is free again.
                for point in [shared.changes, shared.mountPoint, shared.baseLower, shared.lower] {
                    do { try Syscalls.unmount(point) } catch {
                        // Best effort: a point never mounted fails here too; the teardown unmounts what is left.
                        logger.debug(
                            "could not unmount after a failed layer share",
                            metadata: ["session.id": "\(id)", "path": "\(point)", "error": "\(error)"])
                    }
                }
                throw PaddockError.wrap(error, "sharing snapshot layer \(layer) with the sandbox failed")
            }
        }

        /// Shows the sandbox its workspace's upper directory, read-only: what differs from the layer. Without it
        /// a repository's fsmonitor hook fails and git falls back to stating every file, so a failure here costs
        /// speed, not correctness, and is logged rather than failing the session.
        private nonisolated func showChanges(_ shared: SharedWorkspace, of id: SessionID) {
            do {
                // Only a warm sandbox, which has run nothing yet, gets here; still, the mount must not follow a
                // link the sandbox could have made to a host path.
                let parent = String(shared.changes[..<(shared.changes.lastIndex(of: "/") ?? shared.changes.endIndex)])
                for (path, create) in [(parent, false), (shared.changes, true)] {
                    var st = Glibc.stat()
                    if lstat(path, &st) != 0, create { try Syscalls.makeDirectory(path, mode: 0o755) }
                    guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                        throw PaddockError.internal("\(path) is not a directory")
                    }
                }
                try Syscalls.mount(
                    source: shared.upper, target: shared.changes, type: "none", flags: UInt(MS_BIND), data: nil)
                try Syscalls.mount(
                    source: "none", target: shared.changes, type: "none",
                    flags: UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), data: nil)
            } catch {
                logger.warning(
                    "the sandbox cannot see its workspace's changes; git status in it stats every file",
                    metadata: ["session.id": "\(id)", "error": "\(error)"])
            }
        }

        public nonisolated var sharesWorkspaceLayers: Bool { canShareLayers }

        /// Writes a workspace layer (a repository commit's checkout) in a staging directory beside the other
        /// layers and publishes it by one rename, so a crash or a failed `fill` leaves no half layer under its id.
        public nonisolated func sealWorkspaceLayer(
            _ layer: String, from base: String?, fill: @Sendable (String) async throws -> Void
        ) async throws {
            try Self.checkLayerID(layer)
            if let base {
                try Self.checkLayerID(base)
                // Links to a delta's files would be a tree missing everything the delta shares with its base.
                guard deltaBase(of: base) == nil else {
                    throw PaddockError.invalidArgument("layer \(base) is a delta; a layer is linked from a whole one")
                }
            }
            let final = layout.layer(layer)
            guard !Syscalls.exists(final) else { throw PaddockError.conflict("layer \(layer) already exists") }
            let staging = "\(layout.layers)/\(Self.stagingPrefix)\(layer)"
            // Left by a crash while this layer was written before; the caller holds the layer's id now.
            LayerCopy.removeLayer(staging)
            do {
                try Syscalls.makeDirectory(staging, mode: 0o755)
                let user = (uid_t(SandboxLayout.userID), gid_t(SandboxLayout.groupID))
                let workspace = "\(staging)/\(Self.workspaceName)"
                if let base {
                    let source = "\(layout.layer(base))/\(Self.workspaceName)"
                    guard Syscalls.isDirectory(source) else {
                        throw PaddockError.notFound("layer \(base) has no \(SandboxLayout.workspace) to start from")
                    }
                    _ = try LayerCopy.link(source, into: workspace)
                } else {
                    try Syscalls.makeDirectory(workspace, mode: 0o755, owner: user)
                }
                try await fill(workspace)
                try Syscalls.publish(staging, as: final, "layer \(layer)")
            } catch {
                LayerCopy.removeLayer(staging)
                throw error
            }
        }

        /// After sealing a sandbox's upper into `staging`: adds what its /workspace holds when that is layered
        /// on the snapshot `layer` — the snapshot's files, then the sandbox's own changes on top.
        nonisolated func sealSharedWorkspace(_ id: SessionID, layer: String, into staging: String, hostBase: UInt32)
            throws(PaddockError)
        {
            let shared = SharedWorkspace(layout.sessionDirectory(id))
            let target = "\(staging)/\(Self.workspaceName)"
            // A delta's base first: the delta says what differs from it.
            for whole in [deltaBase(of: layer), layer].compactMap({ $0 }) {
                _ = try LayerCopy.merge(layer: "\(layout.layer(whole))/\(Self.workspaceName)", into: target) {
                    ($0, $1)
                }
            }
            let shift = LayerCopy.IDShift(hostBase: hostBase, rangeSize: SandboxLayout.idRangeSize)
            _ = try LayerCopy.merge(layer: shared.upper, into: target) { (shift.toLayer($0), shift.toLayer($1)) }
        }

        /// A process of the sandbox (its user namespace is the one to map through); nil when none is found.
        private nonisolated func memberProcess(_ id: SessionID) -> Int32? {
            cgroup(of: id).processes.first
        }
    }
#endif
