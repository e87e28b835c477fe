import ArgumentParser
import Foundation
import PaddockAPI
import PaddockConfig
import PaddockCore

struct TemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template", abstract: "Build, list and remove templates (what sessions start from).",
        discussion: """
            A template is a base (host, debian:SUITE built with debootstrap, or oci:/PATH — an OCI image layout
            or a docker save tarball) plus install steps run once, as root, in a build sandbox with network
            access. The result is sealed read-only and shared by every session of the template; a rebuild with
            the same base and steps is instant.
            """,
        subcommands: [Build.self, List.self, Remove.self])

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a template (or reuse the last build with the same inputs), showing its progress.")
        @Argument(help: "Template name (lowercase letters, digits, - _ .).") var name: String
        @Option(help: "Base: host (default), debian:SUITE or oci:/PATH[:TAG].") var base: String?
        @Option(help: "An install step (repeatable), run with sh -c as root.") var install: [String] = []
        @Option(help: "Take the base and steps from the template: section of this runtime.yml.") var file: String?
        @Option(help: "Directory of the files the steps name (default: the --file's directory).")
        var context: String?
        @Flag(help: "Print only the result (as JSON).") var json = false

        func run() async throws {
            var body = BuildTemplateBody(name: name, base: base, install: install)
            if let file {
                guard base == nil, install.isEmpty else {
                    throw ValidationError("pass either --file or --base/--install, not both")
                }
                let config = try RuntimeConfig.load(path: file)
                guard let template = config.template else {
                    throw ValidationError("\(file) has no template: section; add one or pass --base/--install")
                }
                body.base = template.base
                body.install = template.install
                body.pool = template.poolSize
            }
            if let directory = context ?? file.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
                    isDirectory.boolValue
                else { throw ValidationError("--context \(directory) is not a directory") }
                let files = try BuildContext.referencedFiles(steps: body.install ?? [], directory: directory)
                if !files.isEmpty {
                    body.context = files
                    if !json {
                        FileHandle.standardError.write(
                            Data("build context: \(files.map(\.path).joined(separator: ", "))\n".utf8))
                    }
                }
            }
            _ = try body.spec()
            var result: TemplateBuildEvent?
            try await APIClient.fromEnvironment().streamLines(.POST, "/v1/templates", json: body) { line in
                let event = try APICoding.decoder().decode(TemplateBuildEvent.self, from: line)
                if let progress = event.progress, !json {
                    FileHandle.standardError.write(Data((progress + "\n").utf8))
                }
                if event.template != nil || event.error != nil { result = event }
            }
            if let error = result?.error { throw PaddockError(PaddockError.Code(rawValue: error.code), error.message) }
            guard let template = result?.template else {
                throw PaddockError.unavailable("the server ended the build without a result; see its log")
            }
            if json { return try printJSON(template) }
            print(
                "\(template.name): \(result?.cached == true ? "up to date" : "built") from \(template.base), "
                    + "\(template.install.count) step(s), \(template.bytes) bytes, digest \(template.digest.prefix(12))"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List templates.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await APIClient.fromEnvironment().call(.GET, "/v1/templates", as: TemplateListBody.self)
            if output.json { return try printJSON(list) }
            print("NAME              BASE                     STEPS  BYTES        DIGEST        BUILT")
            for t in list.templates {
                print(
                    [
                        t.name.padding(16), t.base.padding(23), "\(t.install.count)".padding(5),
                        "\(t.bytes)".padding(11), String(t.digest.prefix(12)).padding(12), format(t.createdAt),
                    ].joined(separator: "  "))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove templates (their files go when the last session on them ends).")
        @Argument(help: "Template names.") var names: [String]

        func run() async throws {
            let client = try APIClient.fromEnvironment()
            for name in names {
                let t = try await client.call(.DELETE, "/v1/templates/\(name)", as: TemplateBody.self)
                print("removed \(t.name)")
            }
        }
    }
}
