import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

@testable import PaddockCLI

/// Files the install steps name travel with the build, are hashed into its digest (editing one rebuilds),
/// and are not left in the template.
extension TemplateTests {
    @Test func contextFilesAreHashedIntoTheDigestAndLeftOutOfTheLayer() async throws {
        try await withTestStack("template-context") { stack in
            let steps = ["mkdir -p /srv && cat requirements.txt > /srv/req && sh scripts/setup.sh"]
            func spec(_ requirements: String) -> TemplateSpec {
                TemplateSpec(
                    name: "ctx", install: steps,
                    context: [
                        TemplateContextFile(path: "requirements.txt", data: Data(requirements.utf8)),
                        TemplateContextFile(
                            path: "scripts/setup.sh", mode: 0o755, data: Data("echo setup ran > /srv/setup\n".utf8)),
                    ])
            }
            let first = try await stack.sessions.buildTemplate(spec("alpha\n"), progress: Progress().callback)
            #expect(!first.cached)
            let same = try await stack.sessions.buildTemplate(spec("alpha\n"), progress: Progress().callback)
            #expect(same.cached, "same steps and same files: nothing to build")
            let changed = try await stack.sessions.buildTemplate(spec("beta\n"), progress: Progress().callback)
            #expect(!changed.cached, "an edited requirements file rebuilds the template")
            #expect(changed.template.digest != first.template.digest)

            let s = try await stack.sessions.create(SessionSpec(template: "ctx"))
            let r = try await stack.sessions.sh(
                s.id,
                "cat /srv/req /srv/setup; test -e \(TemplateService.buildContextPath) && echo leaked || echo clean"
            )
            #expect(r.stdout == "beta\nsetup ran\nclean\n", "\(r.stdout) \(r.stderr)")
        }
    }

    @Test func theCLISendsTheFilesStepsName() throws {
        let dir = TestHost.makeDataDirectory("context-cli")
        defer { TestHost.removeDataDirectory(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/ctx/scripts", withIntermediateDirectories: true)
        try "flask\n".write(toFile: dir + "/ctx/requirements.txt", atomically: true, encoding: .utf8)
        try "echo hi\n".write(toFile: dir + "/ctx/scripts/setup.sh", atomically: true, encoding: .utf8)
        try "secret\n".write(toFile: dir + "/outside.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/ctx/escape.txt", withDestinationPath: dir + "/outside.txt")
        let files = try BuildContext.referencedFiles(
            steps: [
                "pip install -r requirements.txt", "sh ./scripts/setup.sh && cat escape.txt ../outside.txt",
                "pip install --requirement=requirements.txt", "echo nothing-here",
            ],
            directory: dir + "/ctx")
        #expect(files.map(\.path) == ["requirements.txt", "scripts/setup.sh"])
        #expect(files.first?.data == Data("flask\n".utf8))
    }
}
