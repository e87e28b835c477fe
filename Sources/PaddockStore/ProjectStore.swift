import Foundation
import PaddockCore

/// Durable records of projects. A separate protocol from `Store`, like `AccessStore`: `SQLiteStore` implements
/// both, and a store without projects simply has no such conformance.
public protocol ProjectStore: Sendable {
    /// `alreadyExists` if a project of that name exists.
    func insertProject(_ project: Project) async throws
    /// Replaces the stored project if it still has `revision` (compare-and-set, so of two changes made at once
    /// one is refused with `conflict` rather than silently lost); `notFound` if there is none of that name.
    func updateProject(_ project: Project, expecting revision: Int) async throws
    func project(_ name: String) async throws -> Project?
    /// Every project, by name.
    func projects() async throws -> [Project]
    /// `notFound` if there is none of that name.
    func deleteProject(_ name: String) async throws
}
