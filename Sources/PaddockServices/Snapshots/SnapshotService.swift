import Foundation
import PaddockCore
import PaddockSandbox

/// Snapshots of a session's files and forks of a running session: sealing a layer (the session frozen only for
/// the copy, under its lifecycle lock), starting sessions over one, listing and removing them, and collecting
/// the layers nothing needs any more. Snapshots belong to their session's team; each one taken, removed or
/// forked is in that session's trail.
public struct SnapshotService: Sendable {
    let sessions: SessionService

    public init(sessions: SessionService) { self.sessions = sessions }

    /// The most children one fork makes.
    public static let maxForkCount = 100

    /// Seals a running or paused session's files as a snapshot. A running session is frozen only for the
    /// copy; a paused one stays paused. With `keeps: .files` processes are not kept: sessions started from it start
    /// fresh; with `.processes` (gVisor) they are, and sessions started from it continue them.
    public func take(_ id: SessionID, name: String?, keeps: Snapshot.Keeps = .files, by caller: Caller) async throws
        -> Snapshot
    {
        if let name { try Snapshot.validate(name: name) }
        _ = try await sessions.get(id, for: caller, needs: .write)
        return try await sessions.lifecycle.withLock(id) {
            try await takeHoldingLock(id, name: name, keeps: keeps, by: caller)
        }
    }

    /// `take` with the session's lifecycle lock already held (also a destroy that keeps the files for previews).
    func takeHoldingLock(_ id: SessionID, name: String?, keeps: Snapshot.Keeps, by caller: Caller)
        async throws -> Snapshot
    {
        let session = try await sessions.get(id)
        guard session.state == .running || session.state == .paused else {
            throw PaddockError.conflict(
                "session \(id) is \(session.state.rawValue); only a running or paused session can be snapshotted")
        }
        guard let provider = sessions.providers[session.spec.provider] else {
            throw PaddockError.unavailable("provider '\(session.spec.provider)' is not configured on this server")
        }
        if let name, try await sessions.store.snapshot(name) != nil {
            throw PaddockError(
                .alreadyExists, "a snapshot named '\(name)' already exists; choose another name or remove it first")
        }
        let snapshotID = Snapshot.newID()
        // Pinned from before the layer exists until its record is stored, so collection never sees it unowned.
        sessions.layerPins.pin(snapshotID)
        defer { sessions.layerPins.unpin(snapshotID) }
        let layer = try await seal(id, layer: snapshotID, keeps: keeps, provider: provider)
        let snapshot = Snapshot(
            id: snapshotID, name: name, session: id, provider: session.spec.provider, template: session.spec.template,
            layer: layer.id, bytes: layer.bytes, entries: layer.entries, createdAt: sessions.clock(), keeps: keeps)
        do {
            try await sessions.store.insertSnapshot(snapshot)
            try await sessions.record(
                id, "snapshot.create",
                [
                    "snapshot": .string(snapshotID), "name": .optional(name), "bytes": .int(Int64(layer.bytes)),
                    "keeps": .string(keeps.rawValue),
                ],
                by: caller)
        } catch {
            // A snapshot the trail does not show is not kept.
            do { try await sessions.store.deleteSnapshot(id: snapshotID) } catch let cleanup {
                sessions.logger.warning(
                    "could not remove the record of an unrecorded snapshot",
                    metadata: ["snapshot.id": "\(snapshotID)", "error": "\(cleanup)"])
            }
            await provider.removeLayer(layer.id)
            throw error
        }
        sessions.logger.info(
            "snapshot taken",
            metadata: ["session.id": "\(id)", "snapshot.id": "\(snapshotID)", "snapshot.bytes": "\(layer.bytes)"])
        return snapshot
    }

    /// The provider's layer of the session's files, and its processes too when asked (never while a client stream
    /// is attached: the checkpoint closes init's connections, which would end the command).
    private func seal(_ id: SessionID, layer: String, keeps: Snapshot.Keeps, provider: any SandboxProvider)
        async throws -> LayerInfo
    {
        switch keeps {
        case .files: return try await provider.snapshot(id, layer: layer)
        case .processes:
            // A provider that cannot keep processes says so itself, whatever is attached.
            if provider.keepsProcesses {
                try await sessions.checkNothingAttached(id, before: "snapshot its processes")
            }
            return try await provider.snapshotKeepingProcesses(id, layer: layer)
        }
    }

    public func all() async throws -> [Snapshot] { try await sessions.store.snapshots() }

    /// The team a snapshot belongs to: its session's (sessions stay in the store after they end).
    public func team(of snapshot: Snapshot) async throws -> String? {
        try await sessions.store.session(snapshot.session)?.team
    }

    /// The snapshot with this id or name, if the caller may do `permission` on its session's team; other teams'
    /// snapshots are not found.
    public func get(_ idOrName: String, for caller: Caller, needs permission: Permission) async throws
        -> Snapshot
    {
        let snapshot = try await get(idOrName)
        try caller.authorize(
            permission, team: try await team(of: snapshot),
            hidden: PaddockError.notFound(
                "snapshot '\(idOrName)' does not exist; `paddock snapshot list` shows them"))
        return snapshot
    }

    /// The snapshots the caller may see.
    public func list(for caller: Caller) async throws -> [Snapshot] {
        var visible: [Snapshot] = []
        for snapshot in try await sessions.store.snapshots() {
            guard caller.principal?.canSee(team: try await team(of: snapshot)) ?? true else { continue }
            visible.append(snapshot)
        }
        return visible
    }

    /// The snapshot with this id or name.
    public func get(_ idOrName: String) async throws -> Snapshot {
        guard let s = try await sessions.store.snapshot(idOrName) else {
            throw PaddockError.notFound("snapshot '\(idOrName)' does not exist; `paddock snapshot list` shows them")
        }
        return s
    }

    /// Deletes a snapshot and its files. Sessions started from it keep theirs: they hold their own copies.
    @discardableResult
    public func delete(_ idOrName: String, by caller: Caller) async throws -> Snapshot {
        let snapshot = try await get(idOrName, for: caller, needs: .write)
        try await sessions.store.deleteSnapshot(id: snapshot.id)
        try await sessions.record(snapshot.session, "snapshot.delete", ["snapshot": .string(snapshot.id)], by: caller)
        await collectLayers()
        sessions.logger.info("snapshot removed", metadata: ["snapshot.id": "\(snapshot.id)"])
        return snapshot
    }

    /// Starts `count` new sessions with the session's current files (and its settings), each with its own
    /// writable copy: what a child changes, neither its siblings nor the parent see. The parent keeps running.
    /// `keeps: .processes` (gVisor): each child continues the parent's processes from the moment of the fork.
    public func fork(_ id: SessionID, count: Int, keeps: Snapshot.Keeps = .files, by caller: Caller) async throws
        -> [Session]
    {
        guard (1...Self.maxForkCount).contains(count) else {
            throw PaddockError.invalidArgument("count must be 1 to \(Self.maxForkCount), not \(count)")
        }
        _ = try await sessions.get(id, for: caller, needs: .write)
        let layerID = Snapshot.newID()
        sessions.layerPins.pin(layerID)
        let result: Result<[Session], any Error>
        do {
            // The parent is held only while its files are copied; its children start without it.
            let parent = try await sessions.lifecycle.withLock(id) {
                let parent = try await sessions.get(id)
                guard parent.state == .running || parent.state == .paused else {
                    throw PaddockError.conflict(
                        "session \(id) is \(parent.state.rawValue); only a running or paused session can be forked")
                }
                guard let provider = sessions.providers[parent.spec.provider] else {
                    throw PaddockError.unavailable(
                        "provider '\(parent.spec.provider)' is not configured on this server")
                }
                _ = try await seal(id, layer: layerID, keeps: keeps, provider: provider)
                return parent
            }
            var spec = parent.spec
            spec.name = nil
            spec.snapshot = nil
            spec.forkOf = id
            // Children belong to the parent's team and to whoever forked it.
            let owner = SessionOwner(
                team: parent.team, user: caller.principal?.user ?? parent.createdBy ?? caller.user)
            let children = try await startChildren(
                spec, count: count, layer: layerID, restoresProcesses: keeps == .processes, owner: owner, by: caller)
            try await sessions.record(
                id, "session.fork",
                ["children": .strings(children.map(\.id.rawValue)), "keeps": .string(keeps.rawValue)], by: caller)
            result = .success(children)
        } catch {
            result = .failure(error)
        }
        // The children copied the layer as they started; it is not kept.
        sessions.layerPins.unpin(layerID)
        await collectLayers()
        let children = try result.get()
        sessions.logger.info("session forked", metadata: ["session.id": "\(id)", "fork.count": "\(count)"])
        return children
    }

    /// A new session in place of the destroyed `id`, from its newest snapshot, with its template, limits, TTL,
    /// team, owner and policy (as a fork runs under its parent's): what `previews: {restart: true}` does when a
    /// share link is visited after the session ended.
    func restart(_ id: SessionID, by caller: Caller) async throws -> (session: Session, snapshot: Snapshot) {
        guard let ended = try await sessions.store.session(id) else { throw SessionService.missing(id) }
        let newest = try await sessions.store.snapshots().filter { $0.session == id }.max {
            $0.createdAt < $1.createdAt
        }
        guard let snapshot = newest else {
            throw PaddockError.notFound("session \(id) left no snapshot to restart from")
        }
        var spec = ended.spec
        spec.name = nil
        spec.snapshot = snapshot.id
        spec.forkOf = id
        let owner = SessionOwner(team: ended.team, user: ended.createdBy ?? caller.user)
        // A snapshot that kept processes (gVisor) restarts with them: the app runs on where it was.
        let session = try await sessions.layerPins.holding(snapshot.layer) {
            try await sessions.create(
                spec, layer: snapshot.layer, restoresProcesses: snapshot.keeps == .processes, owner: owner,
                by: caller)
        }
        return (session, snapshot)
    }

    /// Starts `count` sessions over `layer` concurrently; all or nothing.
    private func startChildren(
        _ spec: SessionSpec, count: Int, layer: String, restoresProcesses: Bool, owner: SessionOwner,
        by caller: Caller
    ) async throws -> [Session] {
        var children: [Session] = []
        var firstError: (any Error)?
        await withTaskGroup(of: Result<Session, any Error>.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        return .success(
                            try await sessions.create(
                                spec, layer: layer, restoresProcesses: restoresProcesses, owner: owner, by: caller))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            for await result in group {
                switch result {
                case .success(let child): children.append(child)
                case .failure(let error): firstError = firstError ?? error
                }
            }
        }
        if let firstError {
            // A fork that could not make every child leaves none behind.
            for child in children {
                do { try await sessions.destroy(child.id, reason: "fork failed", by: caller) } catch {
                    sessions.logger.warning(
                        "could not remove a child of a failed fork",
                        metadata: ["session.id": "\(child.id)", "error": "\(error)"])
                }
            }
            throw PaddockError.wrap(firstError, "forking failed")
        }
        return children.sorted { $0.createdAt < $1.createdAt }
    }

    /// Removes every layer that no snapshot needs and no operation holds. Called by the reaper, after a
    /// snapshot is removed, and after a fork.
    ///
    /// The order is what makes it safe against a snapshot, fork or build finishing meanwhile: the layers on disk
    /// are listed first, then the pins are read, then the store. Every operation pins its layer before writing it
    /// and stores its record before unpinning, so a listed layer is either still pinned at the pin read, or
    /// already in the store at the store read after it. (Reading the store first let a snapshot stored and
    /// unpinned between the two reads lose its layer: "snapshot layer … is missing on this host".)
    public func collectLayers() async {
        var onDisk: [(provider: String, layers: [String])] = []
        for (name, provider) in sessions.providers { onDisk.append((name, await provider.layers())) }
        let pinned = sessions.layerPins.all
        let wanted: [Snapshot]
        let templates: [Template]
        let live: [Session]
        do {
            wanted = try await sessions.store.snapshots()
            templates = try await sessions.store.templates()
            live = try await sessions.store.sessions(includeTerminal: false)
        } catch {
            // Nothing is removed without knowing what is still needed; the next pass tries again.
            sessions.logger.warning("could not collect unused layers", metadata: ["error": "\(error)"])
            return
        }
        // Template layers are mounted by the sessions on them: kept while any such session holds resources.
        let mounted = live.filter { $0.state.holdsResources }.compactMap { $0.spec.templateLayer }
        // Repository commit layers are the cache's to collect (`paddock repos`).
        let repositoryLayers = await sessions.repositories?.cache.layerIDs() ?? []
        let templateLayers = templates.compactMap(\.layer) + mounted + repositoryLayers
        for (name, layers) in onDisk {
            guard let provider = sessions.providers[name] else { continue }
            let keep = Set(wanted.filter { $0.provider == name }.map(\.layer) + templateLayers).union(pinned)
            for layer in layers {
                // A half-written layer (`.staging-<id>`) is still being written while its id is pinned.
                let id = layer.hasPrefix(".staging-") ? String(layer.dropFirst(".staging-".count)) : layer
                guard !keep.contains(id), !sessions.layerPins.isPinned(id) else { continue }
                await provider.removeLayer(layer)
                sessions.logger.debug("removed an unused layer", metadata: ["layer.id": "\(layer)"])
            }
        }
    }
}
