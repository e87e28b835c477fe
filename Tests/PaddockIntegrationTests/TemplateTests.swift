import Foundation
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Synchronization
import Testing

/// Templates: a base plus install steps run once in a build sandbox, sealed as a shared read-only layer.
@Suite(.needsSandboxes, .serialized)
struct TemplateTests {
    /// Collects a build's progress lines.
    final class Progress: Sendable {
        let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
        var callback: @Sendable (String) async -> Void { { line in self.lines.withLock { $0.append(line) } } }
    }

    static let steps = [
        "mkdir -p /srv/tools && echo v1 > /srv/tools/version",
        "printf '#!/bin/sh\\necho tool ran\\n' > /srv/tools/run && chmod 755 /srv/tools/run && echo built",
        // Steps may delete and replace the base's files: the layer records whiteouts and opaque directories.
        "rm /etc/hostname && rm -r /etc/apt && mkdir /etc/apt && echo only > /etc/apt/only",
    ]

    @Test func installStepsRunOnceAndEverySessionSharesTheResult() async throws {
        try await withTestStack("template") { stack in
            let progress = Progress()
            let first = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "tools", install: Self.steps), progress: progress.callback)
            #expect(!first.cached)
            #expect(first.template.layer != nil)
            #expect(progress.text.contains("step 2/3: printf"), "\(progress.text)")
            #expect(progress.text.contains("  built"), "step output is shown as it runs: \(progress.text)")

            let again = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "tools", install: Self.steps), progress: Progress().callback)
            #expect(again.cached, "the same base and steps are not built twice")
            #expect(again.template == first.template)

            let a = try await stack.sessions.create(SessionSpec(template: "tools"))
            let b = try await stack.sessions.create(SessionSpec(template: "tools"))
            for s in [a, b] {
                let r = try await stack.sessions.sh(
                    s.id, "cat /srv/tools/version; /srv/tools/run; ls /etc/apt; test -e /etc/hostname || echo gone")
                #expect(r.stdout == "v1\ntool ran\nonly\ngone\n", "\(r.stderr)")
            }
            // The template is read-only system content for the session user; the session's own layer is not.
            let w = try await stack.sessions.sh(a.id, "echo x > /srv/tools/version")
            #expect(w.status.code != 0 && w.stderr.contains("Permission denied"), "\(w.stderr)")
            #expect(
                try await stack.sessions.sh(a.id, "echo mine > /workspace/f && cat /workspace/f").stdout == "mine\n")
            #expect(try await stack.sessions.sh(b.id, "cat /srv/tools/version").stdout == "v1\n")
        }
    }

    @Test func aRebuildKeepsRunningSessionsOnTheirVersion() async throws {
        try await withTestStack("template-rebuild") { stack in
            let v1 = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "app", install: ["echo v1 > /srv/version"]), progress: Progress().callback)
            let old = try await stack.sessions.create(SessionSpec(template: "app"))
            let v2 = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "app", install: ["echo v2 > /srv/version"]), progress: Progress().callback)
            #expect(v1.template.layer != v2.template.layer)
            let new = try await stack.sessions.create(SessionSpec(template: "app"))
            #expect(try await stack.sessions.sh(old.id, "cat /srv/version").stdout == "v1\n")
            #expect(try await stack.sessions.sh(new.id, "cat /srv/version").stdout == "v2\n")
            await stack.sessions.collectLayers()
            let layers = Set(await stack.provider.layers())
            #expect(layers.contains(v1.template.layer ?? "") && layers.contains(v2.template.layer ?? ""))
            try await stack.sessions.destroy(old.id)
            await stack.sessions.collectLayers()
            #expect(await stack.provider.layers() == [v2.template.layer ?? ""], "v1 goes with its last session")

            try await stack.sessions.removeTemplate("app")
            #expect(
                try await stack.sessions.sh(new.id, "cat /srv/version").stdout == "v2\n",
                "a removed template stays mounted under the sessions running on it")
            await stack.sessions.collectLayers()
            #expect(await stack.provider.layers() == [v2.template.layer ?? ""])
            try await stack.sessions.destroy(new.id)
            await stack.sessions.collectLayers()
            #expect(await stack.provider.layers() == [])
            let gone = await #expect(throws: PaddockError.self) {
                try await stack.sessions.create(SessionSpec(template: "app"))
            }
            #expect(gone?.code == .notFound)
        }
    }

    @Test func aFailedStepShowsItsOutputAndKeepsNothing() async throws {
        try await withTestStack("template-fail") { stack in
            _ = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "app", install: ["echo good > /srv/version"]), progress: Progress().callback)
            let layersBefore = await stack.provider.layers()
            let failure = await #expect(throws: PaddockError.self) {
                try await stack.sessions.buildTemplate(
                    TemplateSpec(name: "app", install: ["echo before", "echo broken-dependency >&2; exit 3"]),
                    progress: Progress().callback)
            }
            #expect(failure?.message.contains("install step 2") == true)
            #expect(failure?.message.contains("exit 3") == true)
            #expect(failure?.message.contains("broken-dependency") == true, "\(failure?.message ?? "")")
            #expect(await stack.provider.layers() == layersBefore, "nothing of the failed build is kept")
            #expect(await stack.provider.footprint().sessionDirectories == 0, "the build sandbox is gone")
            let s = try await stack.sessions.create(SessionSpec(template: "app"))
            #expect(
                try await stack.sessions.sh(s.id, "cat /srv/version").stdout == "good\n", "the last good build stays")

            let bad = await #expect(throws: PaddockError.self) {
                try await stack.sessions.buildTemplate(TemplateSpec(name: "Bad Name"), progress: Progress().callback)
            }
            #expect(bad?.code == .invalidArgument)
            let base = await #expect(throws: PaddockError.self) {
                try await stack.sessions.buildTemplate(
                    TemplateSpec(name: "x", base: "ubuntu"), progress: Progress().callback)
            }
            #expect(base?.message.contains("debian:SUITE") == true)
        }
    }

    /// Install steps have the network (to download packages); the template's sessions do not.
    @Test func buildsHaveNetworkAndSessionsDoNot() async throws {
        let listener = try TCPListener()
        defer { listener.close() }
        let probe = "exec 3<>/dev/tcp/127.0.0.1/\(listener.port) && echo reached"
        try await withTestStack("template-net") { stack in
            let progress = Progress()
            _ = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "net", install: ["bash -c '\(probe)' && touch /srv/built-online"]),
                progress: progress.callback)
            #expect(progress.text.contains("reached"), "\(progress.text)")
            let s = try await stack.sessions.create(SessionSpec(template: "net"))
            let r = try await stack.sessions.run(s.id, ["bash", "-c", "ls /srv; \(probe)"])
            #expect(r.stdout == "built-online\n")
            #expect(r.status.code != 0, "the session's network is its own loopback only")
        }
    }

    @Test(.enabled("needs umoci and busybox-static (apt-get install umoci busybox-static)") { ociToolsInstalled })
    func ociImagesAreBases() async throws {
        let image = TestHost.makeDataDirectory("oci-image")
        defer { TestHost.removeDataDirectory(image) }
        try await Self.makeBusyboxImage(at: "\(image)/layout")
        try await withTestStack("template-oci") { stack in
            let progress = Progress()
            let built = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "tiny", base: "oci:\(image)/layout:latest", install: ["echo built > /marker"]),
                progress: progress.callback)
            #expect(built.template.base == "oci:\(image)/layout:latest")
            let s = try await stack.sessions.create(SessionSpec(template: "tiny"))
            let r = try await stack.sessions.run(
                s.id, ["/bin/sh", "-c", "cat /marker /image-file; id -u; ls /usr 2>&1"])
            #expect(r.stdout.hasPrefix("built\nfrom the image\n1000\n"), "\(r.stdout) \(r.stderr)")
            #expect(!r.stdout.contains("lib"), "the image's own userland, not the host's /usr")
        }
    }

    /// debootstrap downloads a minimal Debian from the host's mirror (a few minutes): the slowest test here.
    @Test(
        .enabled("needs debootstrap (apt-get install debootstrap)") {
            FileManager.default.fileExists(atPath: "/usr/sbin/debootstrap")
        })
    func debianSuitesAreBases() async throws {
        try await withTestStack("template-debian") { stack in
            let progress = Progress()
            let built = try await stack.sessions.buildTemplate(
                TemplateSpec(name: "deb", base: "debian:bookworm", install: ["apt-get --version | head -1 > /srv/apt"]),
                progress: progress.callback)
            #expect(progress.text.contains("debootstrap bookworm"), "\(progress.text)")
            #expect(built.template.layer != nil)
            let s = try await stack.sessions.create(SessionSpec(template: "deb"))
            let r = try await stack.sessions.sh(
                s.id,
                "cut -d. -f1 /etc/debian_version; cat /srv/apt; id -un; "
                    + "test -e /usr/bin/python3 || echo no-python; test -e /opt/swift || echo no-swift")
            #expect(r.stdout.hasPrefix("12\napt "), "\(r.stdout) \(r.stderr)")
            // Its own minimal userland, not the host's (which has python3 and the Swift toolchain).
            #expect(r.stdout.hasSuffix("user\nno-python\nno-swift\n"), "\(r.stdout)")
        }
    }

    static var ociToolsInstalled: Bool {
        ["/usr/bin/umoci", "/usr/bin/busybox"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A one-binary OCI image (busybox) built with umoci, so the test needs no registry.
    static func makeBusyboxImage(at layout: String) async throws {
        let bundle = layout + "-bundle"
        try await sh("umoci init --layout \(layout) && umoci new --image \(layout):latest")
        try await sh("umoci unpack --image \(layout):latest \(bundle)")
        try await sh(
            "mkdir -p \(bundle)/rootfs/bin && cp /usr/bin/busybox \(bundle)/rootfs/bin/ && "
                + "for t in sh cat id ls echo; do ln -s busybox \(bundle)/rootfs/bin/$t; done && "
                + "echo 'from the image' > \(bundle)/rootfs/image-file")
        try await sh("umoci repack --image \(layout):latest \(bundle) && rm -rf \(bundle)")
    }

    static func sh(_ script: String) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(p.terminationStatus == 0, "\(script): \(message)")
    }
}
