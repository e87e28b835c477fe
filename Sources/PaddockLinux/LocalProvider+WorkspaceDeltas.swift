#if os(Linux)
    import CPaddockShim
    import Glibc
    import PaddockCore
    import PaddockSandbox

    /// Workspace layers sealed as deltas over another: the layer's `workspace/` holds only what differs from its
    /// base's, in overlay's own format (changed files, whiteouts for deletions, opaque directories), and a sandbox
    /// sees the two stacked. A new commit of a large repository then costs the files it changed, not a tree of
    /// links as large as the repository.
    ///
    /// A delta is made by the kernel, not by hand: the base's `/workspace` is mounted on the host as the lower layer
    /// of an overlay whose upper is the new layer's `workspace/`, git works in the merged view as it would in a
    /// checkout, and whatever it writes, renames or deletes lands in the upper. Deltas are one level deep (a base is
    /// never a delta), so a sandbox mounts at most two layers and a base's life is tied only to its deltas'. The
    /// base is named by an extended attribute of the layer's directory, which survives a restart and which no
    /// layer copy reads.
    extension LocalProvider {
        /// The attribute of a delta layer's directory that names its base.
        static let deltaBaseAttribute = "trusted.paddock.base"

        /// Where a delta is made: its upper (the future layer's `workspace/`), overlay's work directory and the
        /// merged view, all inside the staging directory so a crash leaves them where the next start sweeps.
        private struct DeltaStaging {
            let root: String
            let upper: String
            let work: String
            let view: String
            /// The view's name in the staging directory, where a crash may leave it mounted.
            static let viewName = ".paddock-view"

            init(_ staging: String, workspace: String) {
                root = staging
                upper = "\(staging)/\(workspace)"
                work = "\(staging)/.paddock-work"
                view = "\(staging)/\(Self.viewName)"
            }
        }

        public nonisolated func sealWorkspaceDelta(
            _ layer: String, over base: String, fill: @Sendable (String) async throws -> Void,
            finish: @Sendable (String) async throws -> Void
        ) async throws {
            try Self.checkLayerID(layer)
            try Self.checkLayerID(base)
            let final = layout.layer(layer)
            guard !Syscalls.exists(final) else { throw PaddockError.conflict("layer \(layer) already exists") }
            let lower = "\(layout.layer(base))/\(Self.workspaceName)"
            var st = Glibc.stat()
            guard lstat(lower, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PaddockError.notFound("layer \(base) has no \(SandboxLayout.workspace) to start from")
            }
            guard deltaBase(of: base) == nil else {
                throw PaddockError.invalidArgument("layer \(base) is itself a delta; a delta's base must be whole")
            }
            let staging = DeltaStaging("\(layout.layers)/\(Self.stagingPrefix)\(layer)", workspace: Self.workspaceName)
            // Left by a crash while this layer was written before; the caller holds the layer's id now.
            removeStaging(staging.root)
            do {
                try Syscalls.makeDirectory(staging.root, mode: 0o755)
                // The view's root is the upper's: it takes the base's owner and mode.
                try Syscalls.makeDirectory(staging.upper, mode: st.st_mode & 0o7777, owner: (st.st_uid, st.st_gid))
                try Syscalls.makeDirectory(staging.work, mode: 0o700)
                try Syscalls.makeDirectory(staging.view, mode: 0o700)
                // Every copy-up whole and every rename a plain one (no metacopy, no redirects, no index): the upper
                // must read the same as a lower of another overlay, with nothing pointing back at this mount.
                try Syscalls.mount(
                    source: "paddock-delta-\(layer)", target: staging.view, type: "overlay",
                    flags: UInt(MS_NOSUID | MS_NODEV),
                    data: "lowerdir=\(lower),upperdir=\(staging.upper),workdir=\(staging.work),"
                        + "redirect_dir=off,metacopy=off,index=off,xino=off")
                do { try await fill(staging.view) } catch {
                    unmountView(staging.view)
                    throw error
                }
                try Syscalls.unmount(staging.view)
                Syscalls.removeTree(staging.work)
                Syscalls.removeTree(staging.view)
                try await finish(staging.upper)
                try Syscalls.check("marking layer \(layer) as a delta over \(base)") {
                    pk_lsetxattr(staging.root, Self.deltaBaseAttribute, base, base.utf8.count)
                }
                try Syscalls.publish(staging.root, as: final, flushing: .eachEntry, "layer \(layer)")
            } catch {
                removeStaging(staging.root)
                throw error
            }
        }

        /// The base a layer is a delta over; nil for a whole layer (or one that is not there).
        public nonisolated func deltaBase(of layer: String) -> String? {
            guard Self.isLayerID(layer) else { return nil }
            var buffer = [UInt8](repeating: 0, count: 128)
            let count = pk_lgetxattr(layout.layer(layer), Self.deltaBaseAttribute, &buffer, buffer.count)
            guard count > 0 else { return nil }
            let base = String(decoding: buffer[0..<count], as: UTF8.self)
            return Self.isLayerID(base) ? base : nil
        }

        /// The layers on disk that are deltas over `base`.
        nonisolated func deltas(over base: String) -> [String] {
            Syscalls.listDirectory(layout.layers).filter { Self.isLayerID($0) && deltaBase(of: $0) == base }
        }

        /// Removes a staging directory, unmounting a delta's view in it first (one a crash left mounted): removing
        /// through the view would walk the base's files.
        nonisolated func removeStaging(_ staging: String) {
            unmountView("\(staging)/\(DeltaStaging.viewName)")
            LayerCopy.removeLayer(staging)
        }

        private nonisolated func unmountView(_ view: String) {
            do { try Syscalls.unmount(view) } catch {
                logger.warning(
                    "could not unmount a delta layer's staging view; it is swept at the next start",
                    metadata: ["path": "\(view)", "error": "\(error)"])
            }
        }

        static func isLayerID(_ layer: String) -> Bool {
            !layer.isEmpty && layer.count <= 64 && layer.utf8.allSatisfy { $0 < 0x80 && isalnum(Int32($0)) != 0 }
        }
    }
#endif
