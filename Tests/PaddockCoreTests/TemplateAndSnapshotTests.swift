import PaddockCore
import Testing

struct TemplateAndSnapshotTests {
    @Test(arguments: [
        ("host", TemplateSpec.Base.host), ("debian:bookworm", .debian(suite: "bookworm")),
        ("oci:/images/app", .oci(path: "/images/app")), ("oci:/images/app:v1", .oci(path: "/images/app:v1")),
    ])
    func basesParse(_ text: String, _ expected: TemplateSpec.Base) throws {
        let base = try TemplateSpec.Base(parsing: text)
        #expect(base == expected)
        #expect(base.text == text)
    }

    @Test(arguments: [
        ("ubuntu", "debian:SUITE"), ("debian:", "debian:bookworm"), ("debian:a/b", "debian:bookworm"),
        ("oci:relative/path", "absolute path"),
    ])
    func badBasesSayWhatToWrite(_ text: String, _ hint: String) {
        let error = #expect(throws: PaddockError.self) { try TemplateSpec.Base(parsing: text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(hint) == true, "\(error?.message ?? "")")
    }

    @Test func templateNamesAndStepsAreValidated() {
        #expect((try? TemplateSpec(name: "py-3.11", install: ["pip --version"]).validate()) != nil)
        for bad in ["", "Py", "1abc", "a b", String(repeating: "a", count: 64)] {
            #expect(throws: PaddockError.self) { try TemplateSpec(name: bad).validate() }
        }
        #expect(throws: PaddockError.self) { try TemplateSpec(name: "ok", install: ["  "]).validate() }
    }

    @Test func snapshotNamesNeverLookLikeIDs() {
        let id = Snapshot.newID()
        #expect(Snapshot.looksLikeID(id))
        #expect(throws: PaddockError.self) { try Snapshot.validate(name: id) }
        #expect((try? Snapshot.validate(name: "before-refactor")) != nil)
        #expect(throws: PaddockError.self) { try Snapshot.validate(name: "has space") }
    }
}
