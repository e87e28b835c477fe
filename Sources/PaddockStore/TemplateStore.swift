import PaddockCore

/// Durable records of built templates.
public protocol TemplateStore: Sendable {
    /// Inserts or replaces the template with this name.
    func putTemplate(_ template: Template) async throws
    func template(_ name: String) async throws -> Template?
    func templates() async throws -> [Template]
    func deleteTemplate(_ name: String) async throws
}
