import Foundation
import PaddockCore

/// Bodies of E2B's template-build API (`Template.build`, `build_in_background`, `get_build_status`).
extension E2B {
    /// `POST /v3/templates`: reserve a build of a template named `name` (`name:tag` names a tag too).
    struct TemplateBuildRequest: Decodable, Sendable {
        var name: String?
        var alias: String?
        var tags: [String]?
        var cpuCount: Int?
        var memoryMB: Int?
    }

    struct TemplateBuildReserved: Encodable, Sendable {
        var templateID: String
        var buildID: String
        var `public` = false
        var names: [String]
        var tags: [String]
        var aliases: [String]
    }

    /// `GET /templates/{id}/files/{hash}`: where to upload the archive of one COPY step's files.
    struct TemplateFileUpload: Encodable, Sendable {
        var present: Bool
        var url: String?
    }

    /// `POST /v2/templates/{id}/builds/{build}`: the template's base and steps, as the SDK serializes them.
    struct TemplateBuildStart: Decodable, Sendable {
        var fromImage: String?
        var fromTemplate: String?
        var fromImageRegistry: JSONIgnored?
        var force: Bool?
        var steps: [TemplateStep]?
        var startCmd: String?
        var readyCmd: String?
    }

    /// One instruction: `RUN [cmd, user?]`, `COPY [src, dest, user?, mode?]` (with `filesHash`), `ENV [k, v, …]`,
    /// `WORKDIR [path]`, `USER [name]`. The type is read as a string: an unknown one is refused by name.
    struct TemplateStep: Decodable, Sendable {
        var type: String
        var args: [String]?
        var filesHash: String?
        var force: Bool?
    }

    /// `GET /templates/{id}/builds/{build}/status?logsOffset=N`.
    struct TemplateBuildInfo: Encodable, Sendable {
        var templateID: String
        var buildID: String
        /// `waiting` (reserved, not started), `building`, `ready` or `error`.
        var status: String
        var logs: [String]
        var logEntries: [BuildLogEntry]
        var reason: BuildStatusReason?
    }

    struct BuildLogEntry: Encodable, Sendable, Equatable {
        var timestamp: String
        /// `debug`, `info`, `warn` or `error`.
        var level: String
        var message: String
    }

    struct BuildStatusReason: Encodable, Sendable {
        var message: String
        /// The failed step as the SDK counts them: `base`, `1`… for the instructions, `finalize`.
        var step: String?
    }

    /// `POST /templates/tags`: name the build `target` (`name:tag`) with more tags.
    struct AssignTags: Decodable, Sendable {
        var target: String
        var tags: [String]
    }

    /// `DELETE /templates/tags`.
    struct RemoveTags: Decodable, Sendable {
        var name: String
        var tags: [String]
    }

    struct AssignedTags: Encodable, Sendable {
        var buildID: String
        var tags: [String]
    }

    struct TemplateTag: Encodable, Sendable {
        var tag: String
        var buildID: String
        var createdAt: String
    }

    /// The build id of a template's one version, as E2B's UUID: from its digest, so it names that version.
    static func buildID(_ template: Template) -> String {
        let hex = Array(template.digest.filter(\.isHexDigit).prefix(32))
        guard hex.count == 32 else { return "00000000-0000-0000-0000-000000000000" }
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }
}
