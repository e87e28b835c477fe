import PaddockCore

/// Durable records of snapshots. The files live in the provider's layers; these rows say which layers are
/// wanted, so everything else can be collected.
public protocol SnapshotStore: Sendable {
    /// Inserts a snapshot; `alreadyExists` when its name is taken.
    func insertSnapshot(_ snapshot: Snapshot) async throws
    /// The snapshot with this id or name.
    func snapshot(_ idOrName: String) async throws -> Snapshot?
    /// All snapshots, newest first.
    func snapshots() async throws -> [Snapshot]
    func deleteSnapshot(id: String) async throws
}
