#if os(Linux)
    import Glibc
    import PaddockCore
    import PaddockSandbox

    extension LocalProvider {
        /// Whether files can be written into a sandbox's root after it started. runc runs the sandbox on the
        /// host's overlay mount, so a write through it is seen inside at once; gVisor serves the root through
        /// its own file cache, so layers are written before it starts instead.
        nonisolated var canWriteRunningRoot: Bool { runtime.kind != .runsc }

        public func snapshot(_ id: SessionID, layer: String) async throws -> LayerInfo {
            guard let slot = slots[id] else { throw PaddockError.notFound("sandbox \(id) does not exist on this host") }
            return try await seal(
                id, layer: layer, hostBase: hostIDBase(of: id, slot: slot), sharedLayer: sharedLayers[id])
        }

        /// Freezes the sandbox, copies its writable layer into a new layer and thaws it. Off the actor, so other
        /// sandboxes' operations go on during the copy.
        /// `sharedLayer`: the layer the sandbox's /workspace is layered on, if any (from the actor's record, not the
        /// mount table, whose text grows with every sandbox on the host).
        nonisolated func seal(_ id: SessionID, layer: String, hostBase: UInt32, sharedLayer: String?)
            async throws -> LayerInfo
        {
            try Self.checkLayerID(layer)
            let final = layout.layer(layer)
            guard !Syscalls.exists(final) else { throw PaddockError.conflict("layer \(layer) already exists") }
            let staging = "\(layout.layers)/\(Self.stagingPrefix)\(layer)"
            let wasPaused = await isPaused(id)
            // Frozen, the sandbox cannot change a file halfway through the copy.
            if !wasPaused { try await freeze(id) }
            let copied: Result<LayerCopy.Totals, PaddockError>
            do {
                let totals = try LayerCopy.seal(
                    upper: "\(layout.sessionDirectory(id))/scratch/upper", into: staging,
                    shift: .init(hostBase: hostBase, rangeSize: SandboxLayout.idRangeSize))
                if let sharedLayer {
                    try sealSharedWorkspace(id, layer: sharedLayer, into: staging, hostBase: hostBase)
                }
                copied = .success(totals)
            } catch {
                copied = .failure(PaddockError.wrap(error, "sealing the snapshot failed"))
            }
            if !wasPaused {
                do { try await thaw(id) } catch {
                    logger.error(
                        "could not thaw a sandbox after a snapshot",
                        metadata: ["session.id": "\(id)", "error": "\(error)"])
                }
            }
            switch copied {
            case .failure(let error):
                LayerCopy.removeLayer(staging)
                throw PaddockError.wrap(error, "sealing the snapshot failed")
            case .success(let totals):
                do {
                    try Syscalls.check("publishing layer \(layer)") { Glibc.rename(staging, final) }
                } catch {
                    LayerCopy.removeLayer(staging)
                    throw error
                }
                logger.info(
                    "snapshot sealed",
                    metadata: ["session.id": "\(id)", "layer.id": "\(layer)", "layer.bytes": "\(totals.bytes)"])
                return LayerInfo(id: layer, bytes: totals.bytes, entries: totals.entries)
            }
        }

        /// Writes a layer's files into the sandbox's merged root (before it starts, or while it runs on runc).
        nonisolated func applyLayer(_ layer: String, to id: SessionID, hostBase: UInt32) async throws(PaddockError) {
            try Self.checkLayerID(layer)
            let path = layout.layer(layer)
            guard Syscalls.isDirectory(path) else {
                throw PaddockError.notFound("snapshot layer \(layer) is missing on this host; the snapshot is unusable")
            }
            let shift = LayerCopy.IDShift(hostBase: hostBase, rangeSize: SandboxLayout.idRangeSize)
            let root = "\(layout.sessionDirectory(id))/rootfs"
            // A delta says what differs from its base: the base's files first, then the delta's over them.
            if let base = deltaBase(of: layer) {
                guard Syscalls.isDirectory(layout.layer(base)) else {
                    throw PaddockError.notFound("layer \(base), which layer \(layer) is a delta over, is missing")
                }
                _ = try LayerCopy.apply(layer: layout.layer(base), onto: root, shift: shift)
            }
            _ = try LayerCopy.apply(layer: path, onto: root, shift: shift)
        }

        public func removeLayer(_ layer: String) async {
            let id = layer.hasPrefix(Self.stagingPrefix) ? String(layer.dropFirst(Self.stagingPrefix.count)) : layer
            // A layer under a warm pool, or under a running fork child's /workspace, stays.
            guard (try? Self.checkLayerID(id)) != nil, !warmLayers.contains(id), !sharedLayers.values.contains(id)
            else { return }
            if layer.hasPrefix(Self.stagingPrefix) {
                removeStaging("\(layout.layers)/\(layer)")
            } else {
                // A base stays while a delta over it does: the delta is unusable without it.
                guard deltas(over: id).isEmpty else { return }
                LayerCopy.removeLayer("\(layout.layers)/\(layer)")
            }
            // The processes kept with it, if it kept any (root's files, no sandbox ids to care about).
            Syscalls.removeTree(layout.processImage(layer))
        }

        /// Layers on disk: published ones by id, and half-written ones as `.staging-<id>` — being written now,
        /// or left by a crash. The caller decides which are unused (it knows which ids are being written). A process
        /// image counts as its layer, so one whose files are gone is collected too.
        public func layers() async -> [String] {
            Array(Set(Syscalls.listDirectory(layout.layers) + Syscalls.listDirectory(layout.processImages)))
        }

        static let stagingPrefix = ".staging-"

        /// Layer ids become directory names: nothing but letters and digits.
        static func checkLayerID(_ layer: String) throws(PaddockError) {
            guard !layer.isEmpty, layer.count <= 64, layer.utf8.allSatisfy({ $0 < 0x80 && isalnum(Int32($0)) != 0 })
            else { throw .invalidArgument("'\(layer)' is not a layer id") }
        }
    }
#endif
