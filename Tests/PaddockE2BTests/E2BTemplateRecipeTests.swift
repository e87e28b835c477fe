import Foundation
import PaddockCore
import Testing

@testable import PaddockServer

/// E2B's template instructions as Paddock install steps, without a build: what each becomes, and what is refused.
@Suite struct E2BTemplateRecipeTests {
    static func start(_ steps: [E2B.TemplateStep], image: String? = nil, template: String? = nil)
        -> E2B.TemplateBuildStart
    {
        E2B.TemplateBuildStart(fromImage: image, fromTemplate: template, steps: steps)
    }

    @Test(arguments: [
        (nil as String?, nil as String?, E2BTemplateRecipe.Base.host),
        ("e2bdev/base", nil, .host), ("e2bdev/base:latest", nil, .host), (nil, "base", .host),
        (nil, "code-interpreter-v1", .host), (nil, "tools", .template("tools")), (nil, "tools:v1", .template("tools")),
    ])
    func basesAreE2BsBaseOrATemplateBuiltHere(image: String?, template: String?, base: E2BTemplateRecipe.Base) throws {
        #expect(try E2BTemplateRecipe.base(Self.start([], image: image, template: template)) == base)
    }

    @Test(arguments: ["ubuntu:22.04", "node:24", "registry.example.com/x:1"])
    func registryImagesAreRefusedSayingWhy(image: String) {
        let failure = #expect(throws: E2BTemplateRecipe.Failure.self) {
            try E2BTemplateRecipe.base(Self.start([], image: image))
        }
        #expect(failure?.step == "base")
        #expect(failure?.message.contains("pulls no images") == true)
    }

    @Test func eachInstructionThatDoesSomethingIsOneStepNamedAsE2BCountsIt() throws {
        let recipe = try E2BTemplateRecipe(
            name: "tools",
            start: Self.start([
                .init(type: "ENV", args: ["A", "it's"]),
                .init(type: "RUN", args: ["echo $A"]),
                .init(type: "COPY", args: ["dir/*.txt", "out/", "", "0755"], filesHash: "ab12"),
                .init(type: "WORKDIR", args: ["app"]),
                .init(type: "RUN", args: ["id", "root"]),
            ]),
            base: "host", inherited: ["true"], uploads: ["ab12": Data("tar".utf8)])
        #expect(recipe.stepLabels == ["base", "2", "3", "4", "5"])
        #expect(recipe.stepSummaries[1] == "RUN echo $A")
        #expect(recipe.spec.install[1].contains(#"'A=it'\''s'"#))
        #expect(recipe.spec.install[1].contains("setpriv"))
        #expect(recipe.spec.install[2].contains(#""$x"/dir/\*.txt"#) == false)
        #expect(recipe.spec.install[2].contains(#""$x"/dir/*.txt"#))
        #expect(recipe.spec.install[2].contains("chmod -R 0755"))
        #expect(recipe.spec.install[3].contains("'/home/user/app'"))
        #expect(!recipe.spec.install[4].contains("setpriv"))
        #expect(recipe.spec.context.map(\.path) == ["e2b-files/ab12.tar"])
    }

    @Test func aCopyWithoutItsUploadOrAnUnknownInstructionIsRefusedAtItsStep() {
        let missing = #expect(throws: E2BTemplateRecipe.Failure.self) {
            try E2BTemplateRecipe(
                name: "tools", start: Self.start([.init(type: "COPY", args: ["a", "b"], filesHash: "ff")]),
                base: "host", inherited: [], uploads: [:])
        }
        #expect(missing?.step == "1")
        let unknown = #expect(throws: E2BTemplateRecipe.Failure.self) {
            try E2BTemplateRecipe(
                name: "tools", start: Self.start([.init(type: "RUN", args: ["true"]), .init(type: "HEALTHCHECK")]),
                base: "host", inherited: [], uploads: [:])
        }
        #expect(unknown?.step == "2")
    }

    @Test func globsKeepTheirWildcardsAndNothingElse() {
        #expect(E2BTemplateRecipe.glob("a b/*.t?t") == #"a\ b/*.t?t"#)
        #expect(E2BTemplateRecipe.glob("$(x);`y`") == #"\$\(x\)\;\`y\`"#)
    }
}
