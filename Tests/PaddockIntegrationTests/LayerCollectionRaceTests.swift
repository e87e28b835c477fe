import Foundation
import PaddockCore
import PaddockTestSupport
import Testing

@testable import PaddockServices

/// Layer collection against operations that make layers, interleaved deterministically with the fake provider's
/// holds: a layer whose owner is being stored must never be collected.
@Suite struct LayerCollectionRaceTests {
    /// A collection that has started (it may have read the store already) when a snapshot is taken, stored and
    /// unpinned, and lists the layers only after that: the snapshot keeps its layer, and a session starts from it.
    /// Before the fix, collection read the store first and removed the layer ("snapshot layer … is missing").
    @Test func aSnapshotTakenDuringACollectionKeepsItsLayer() async throws {
        let s = try LifecycleRaceTests.stack()
        let source = try await s.sessions.create(SessionSpec())
        let listing = await s.fake.hold(.layers)
        let collecting = Task { await SnapshotService(sessions: s.sessions).collectLayers() }
        await listing.reached()
        let snapshot = try await s.sessions.snapshot(source.id, name: "during-collection")
        await listing.open()
        await collecting.value
        #expect(await s.fake.layers().contains(snapshot.layer))
        var spec = SessionSpec()
        spec.snapshot = snapshot.id
        let started = try await s.sessions.create(spec)
        #expect(started.spec.snapshot == snapshot.id)
    }

    /// A layer that is no snapshot's and not pinned is still collected: the fix keeps only what is owned.
    @Test func anUnownedLayerIsStillCollected() async throws {
        let s = try LifecycleRaceTests.stack()
        let source = try await s.sessions.create(SessionSpec())
        let snapshot = try await s.sessions.snapshot(source.id, name: "to-delete")
        try await s.store.deleteSnapshot(id: snapshot.id)
        await SnapshotService(sessions: s.sessions).collectLayers()
        #expect(await !s.fake.layers().contains(snapshot.layer))
    }
}
