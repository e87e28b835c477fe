import Foundation
import PaddockCore
import PaddockLinux
import PaddockServer
import PaddockServices
import PaddockTestSupport
import Testing

/// Snapshots seal a session's files; sessions start from them and forks copy them, each child on its own
/// writable layer.
@Suite(.needsSandboxes, .serialized)
struct SnapshotTests {
    /// Changes of every kind a session can make: files, modes, links, owners, a replaced directory. (Whiteouts
    /// and opaque directories come from template builds, which can delete base files: TemplateTests.)
    static let changes = """
        mkdir -p /workspace/src/deep && echo 'print(1)' > /workspace/src/deep/main.py
        printf '#!/bin/sh\\necho tool ran\\n' > /workspace/tool && chmod 0751 /workspace/tool
        ln -s src/deep/main.py /workspace/link
        echo secret-ish > /home/user/.notes && chmod 0600 /home/user/.notes
        """
    static let rootChanges = """
        set -e
        echo root-file > /workspace/rootowned
        mkdir -p /home/user/app && echo v1 > /home/user/app/old
        rm -r /home/user/app && mkdir /home/user/app && echo only > /home/user/app/new
        """
    static let check = """
        cat /workspace/src/deep/main.py; /workspace/tool; readlink /workspace/link
        stat -c '%a %U' /workspace/tool /home/user/.notes /workspace/rootowned; cat /home/user/.notes
        ls /home/user/app
        """
    static let expected = """
        print(1)
        tool ran
        src/deep/main.py
        751 user
        600 user
        644 root
        secret-ish
        new

        """

    static func prepare(_ stack: TestStack, _ spec: SessionSpec = SessionSpec()) async throws -> Session {
        let s = try await stack.sessions.create(spec)
        let r = try await stack.sessions.sh(s.id, changes)
        try #require(r.status.code == 0, "\(r.stderr)")
        let root = try await stack.sessions.sh(s.id, rootChanges, user: "root")
        try #require(root.status.code == 0, "\(root.stderr)")
        return s
    }

    @Test func aSessionStartedFromASnapshotHasItsFiles() async throws {
        try await withTestStack("snap") { stack in
            let source = try await Self.prepare(stack)
            let before = try await stack.sessions.sh(source.id, Self.check)
            #expect(before.stdout == Self.expected, "\(before.stdout) \(before.stderr)")
            // A process that runs through the snapshot keeps running: the freeze is only for the copy.
            _ = try await stack.sessions.sh(source.id, "sleep 1000 >/dev/null 2>&1 &")
            let snapshot = try await stack.sessions.snapshot(source.id, name: "prepared")
            #expect(snapshot.bytes > 0 && snapshot.entries >= 8)
            #expect(try await stack.sessions.get(source.id).state == .running)
            #expect(try await stack.sessions.sh(source.id, "pgrep -c sleep").stdout == "1\n")

            var spec = SessionSpec()
            spec.snapshot = "prepared"
            let restored = try await stack.sessions.create(spec)
            #expect(restored.spec.snapshot == snapshot.id)
            #expect(try await stack.sessions.sh(restored.id, Self.check).stdout == Self.expected)
            #expect(
                try await stack.sessions.sh(restored.id, "pgrep -c sleep || true").stdout == "0\n",
                "processes are not part of a snapshot")
            // The restored files belong to the session's user: it can change and remove them.
            let w = try await stack.sessions.sh(restored.id, "echo more >> /workspace/tool && rm -r /workspace/src")
            #expect(w.status.code == 0, "\(w.stderr)")
        }
    }

    @Test func forkedChildrenAreIsolatedFromEachOtherAndTheParent() async throws {
        try await withTestStack("fork") { stack in
            let parent = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(parent.id, "echo base > /workspace/shared")
            let children = try await stack.sessions.fork(parent.id, count: 3)
            #expect(children.count == 3)
            #expect(Set(children.map(\.id)).count == 3)
            for (i, child) in children.enumerated() {
                #expect(child.spec.forkOf == parent.id)
                _ = try await stack.sessions.sh(
                    child.id, "echo child\(i) > /workspace/mine; echo c\(i) >> /workspace/shared")
            }
            _ = try await stack.sessions.sh(parent.id, "echo after > /workspace/late")
            for (i, child) in children.enumerated() {
                let r = try await stack.sessions.sh(child.id, "cat /workspace/mine /workspace/shared; ls /workspace")
                #expect(r.stdout == "child\(i)\nbase\nc\(i)\nmine\nshared\n", "child \(i) sees only its own changes")
            }
            let p = try await stack.sessions.sh(parent.id, "cat /workspace/shared; ls /workspace")
            #expect(p.stdout == "base\nlate\nshared\n", "the parent sees none of its children's changes")
            // The fork's layer is not kept once the children have their copies.
            await stack.sessions.collectLayers()
            #expect(await stack.provider.layers() == [])
        }
    }

    @Test func forkClaimsWarmSandboxesWhenThePoolHasThem() async throws {
        try await withTestStack("fork-warm") { stack in
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 2)
            let parent = try await stack.sessions.create(SessionSpec())
            await stack.sessions.refillPools()
            _ = try await stack.sessions.sh(parent.id, "mkdir -p /workspace/a/b && echo hi > /workspace/a/b/c")
            let children = try await stack.sessions.fork(parent.id, count: 2)
            #expect(children.allSatisfy { $0.start == "warm" }, "\(children.map(\.start))")
            for child in children {
                #expect(try await stack.sessions.sh(child.id, "cat /workspace/a/b/c").stdout == "hi\n")
            }
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 0)
        }
    }

    /// Warm fork children share the sealed /workspace copy-on-write: each sees the parent's files with their
    /// owners, writes only to its own layer, a fork of a child carries both, the shared layer outlives a
    /// garbage collection while a child uses it, and a restart that finds the children gone cleans up.
    @Test func warmForkChildrenShareTheWorkspaceCopyOnWrite() async throws {
        try await withTestStack("fork-share") { stack in
            try #require(stack.provider.canShareLayers, "runc sandboxes with a user namespace share layers")
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 3)
            let parent = try await stack.sessions.create(SessionSpec())
            await stack.sessions.refillPools()
            _ = try await stack.sessions.sh(
                parent.id,
                "mkdir -p /workspace/d && echo parent > /workspace/d/f && echo gone > /workspace/t && echo h > ~/h")
            let children = try await stack.sessions.fork(parent.id, count: 2)
            #expect(children.allSatisfy { $0.start == "warm" }, "\(children.map(\.start))")
            let (one, two) = (children[0].id, children[1].id)
            let layer = try #require(stack.provider.sharedLayer(of: one))
            #expect(stack.provider.sharedLayer(of: two) == layer)
            let seen = try await stack.sessions.sh(
                one, "stat -c '%U %a' /workspace /workspace/d/f; cat /workspace/d/f ~/h")
            #expect(seen.stdout == "user 755\nuser 644\nparent\nh\n", "\(seen)")
            _ = try await stack.sessions.sh(
                one, "echo one >> /workspace/d/f && rm /workspace/t && echo n > /workspace/n")
            #expect(try await stack.sessions.sh(two, "cat /workspace/d/f; ls /workspace").stdout == "parent\nd\nt\n")
            #expect(try await stack.sessions.sh(parent.id, "cat /workspace/d/f").stdout == "parent\n")

            // The layer stays while children stand on it, whatever the collector is asked.
            await stack.sessions.collectLayers()
            #expect(await stack.provider.layers().contains(layer))

            // A fork of a child carries the snapshot and the child's own changes.
            let grandchild = try #require(try await stack.sessions.fork(one, count: 1).first)
            let carried = try await stack.sessions.sh(grandchild.id, "cat /workspace/d/f; ls /workspace; cat ~/h")
            #expect(carried.stdout == "parent\none\nd\nn\nh\n", "\(carried)")

            // A restart that finds the children's sessions gone tears them down, mounts and all.
            let restarted = try await TestStack.make("fork-share-restart", dataDirectory: stack.dataDirectory)
            let report = await restarted.provider.recover(live: [parent.id])
            #expect(Set(report.removedOrphans).isSuperset(of: children.map { "sandbox \($0.id)" }))
            for child in children + [grandchild] {
                #expect(MountTable.mountPoints(under: "\(stack.dataDirectory)/sessions/\(child.id.rawValue)").isEmpty)
            }
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 0)
        }
    }

    /// A tree of more entries than a seal copies at once (its batches flush mid-walk): every file arrives,
    /// and directories keep their modes and times, whether restored from a snapshot or shared by a fork.
    @Test func largeTreesKeepEveryFileAndTheirAttributes() async throws {
        try await withTestStack("snap-large") { stack in
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 1)
            let source = try await stack.sessions.create(SessionSpec())
            await stack.sessions.refillPools()
            let build = """
                set -e
                for d in $(seq 1 30); do
                  mkdir -p /workspace/tree/d$d/inner
                  for f in $(seq 1 12); do echo "$d/$f" > /workspace/tree/d$d/f$f; done
                  echo "$d" > /workspace/tree/d$d/inner/leaf
                done
                chmod 0710 /workspace/tree/d7
                touch -d @1700000000 /workspace/tree/d7/f3 /workspace/tree/d7 /workspace/tree/d30/inner
                """
            let built = try await stack.sessions.sh(source.id, build)
            try #require(built.status.code == 0, "\(built.stderr)")
            let survey = """
                cd /workspace/tree && find . -type f | wc -l && cat $(find . -type f | sort) | md5sum
                stat -c '%n %a %Y' d7 d7/f3 d30/inner
                """
            let expected = try await stack.sessions.sh(source.id, survey)
            #expect(expected.stdout.hasPrefix("390\n"), "\(expected.stdout)")
            #expect(expected.stdout.contains("d7 710 1700000000\n"), "\(expected.stdout)")

            _ = try await stack.sessions.snapshot(source.id, name: "large")
            var spec = SessionSpec()
            spec.snapshot = "large"
            let restored = try await stack.sessions.create(spec)
            #expect(try await stack.sessions.sh(restored.id, survey).stdout == expected.stdout)

            await stack.sessions.refillPools()
            let child = try #require(try await stack.sessions.fork(source.id, count: 1).first)
            #expect(child.start == "warm")
            #expect(try await stack.sessions.sh(child.id, survey).stdout == expected.stdout)
            _ = try await stack.sessions.setPool(provider: "local", template: "host", size: 0)
        }
    }

    @Test func aPausedSessionStaysPausedAndKeepsItsProcesses() async throws {
        try await withTestStack("snap-paused") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "echo v1 > /workspace/f; sleep 1000 >/dev/null 2>&1 &")
            try await stack.sessions.pause(s.id)
            let snapshot = try await stack.sessions.snapshot(s.id, name: nil)
            #expect(try await stack.sessions.get(s.id).state == .paused)
            #expect(try await stack.sessions.sh(s.id, "pgrep -c sleep").stdout == "1\n")
            var spec = SessionSpec()
            spec.snapshot = snapshot.id
            let restored = try await stack.sessions.create(spec)
            #expect(try await stack.sessions.sh(restored.id, "cat /workspace/f").stdout == "v1\n")
        }
    }

    @Test func layersAreCollectedOnlyWhenNothingNeedsThem() async throws {
        try await withTestStack("snap-gc") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.sh(s.id, "echo kept > /workspace/f")
            let a = try await stack.sessions.snapshot(s.id, name: "a")
            let b = try await stack.sessions.snapshot(s.id, name: "b")
            // A half-written layer from a crash is removed; published, referenced ones stay.
            let staging = "\(stack.dataDirectory)/layers/.staging-snapcrashed"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            await stack.sessions.collectLayers()
            #expect(Set(await stack.provider.layers()) == [a.layer, b.layer])
            #expect(!FileManager.default.fileExists(atPath: staging))

            var spec = SessionSpec()
            spec.snapshot = "a"
            let restored = try await stack.sessions.create(spec)
            try await stack.sessions.deleteSnapshot("a")
            #expect(await stack.provider.layers() == [b.layer])
            #expect(
                try await stack.sessions.sh(restored.id, "cat /workspace/f").stdout == "kept\n",
                "a session keeps its files when its snapshot is removed")
            await #expect(throws: PaddockError.self) { try await stack.sessions.snapshotRecord("a") }
        }
    }

    @Test func badRequestsFailClearlyAndCreateNothing() async throws {
        try await withTestStack("snap-errors") { stack in
            let s = try await stack.sessions.create(SessionSpec())
            _ = try await stack.sessions.snapshot(s.id, name: "taken")
            let dup = await #expect(throws: PaddockError.self) {
                try await stack.sessions.snapshot(s.id, name: "taken")
            }
            #expect(dup?.code == .alreadyExists)
            let badName = await #expect(throws: PaddockError.self) {
                try await stack.sessions.snapshot(s.id, name: "no spaces")
            }
            #expect(badName?.code == .invalidArgument)
            var spec = SessionSpec()
            spec.snapshot = "missing"
            let missing = await #expect(throws: PaddockError.self) { try await stack.sessions.create(spec) }
            #expect(missing?.code == .notFound)
            let zero = await #expect(throws: PaddockError.self) { try await stack.sessions.fork(s.id, count: 0) }
            #expect(zero?.code == .invalidArgument)
            #expect(try await stack.sessions.list(includeEnded: true).count == 1, "nothing half-created")
            #expect(await stack.provider.layers().count == 1)
            try await stack.sessions.destroy(s.id)
            let gone = await #expect(throws: PaddockError.self) { try await stack.sessions.snapshot(s.id, name: nil) }
            #expect(gone != nil)
        }
    }

    @Test func snapshotsSurviveARestart() async throws {
        let dir = TestHost.makeDataDirectory("snap-restart")
        defer { TestHost.removeDataDirectory(dir) }
        let first = try await TestStack.make("snap-restart", dataDirectory: dir)
        let s = try await first.sessions.create(SessionSpec())
        _ = try await first.sessions.sh(s.id, "echo durable > /workspace/f")
        _ = try await first.sessions.snapshot(s.id, name: "durable")
        try await first.sessions.destroy(s.id)

        let second = try await TestStack.make("snap-restart", dataDirectory: dir)
        try await second.sessions.recover()
        await second.sessions.collectLayers()
        var spec = SessionSpec()
        spec.snapshot = "durable"
        let restored = try await second.sessions.create(spec)
        #expect(try await second.sessions.sh(restored.id, "cat /workspace/f").stdout == "durable\n")
        try await second.tearDown()
    }

    @Test(.enabled("needs runsc (apt-get install runsc)") { await GVisorTests.runscInstalled })
    func gvisorSessionsStartFromSnapshotsToo() async throws {
        try await withTestStack("snap-gvisor") { stack in
            var spec = SessionSpec()
            spec.provider = "gvisor"
            let source = try await Self.prepare(stack, spec)
            // This runsc answers statx with EINVAL (so stat and ls -l fail there): check without them.
            let check = """
                cat /workspace/src/deep/main.py; /workspace/tool; readlink /workspace/link; cat /home/user/.notes
                cat /home/user/app/new; test -e /home/user/app/old || echo old-gone; test -x /workspace/tool && echo x
                """
            let expected = "print(1)\ntool ran\nsrc/deep/main.py\nsecret-ish\nonly\nold-gone\nx\n"
            #expect(try await stack.sessions.sh(source.id, check).stdout == expected)
            _ = try await stack.sessions.snapshot(source.id, name: "gv")
            spec.snapshot = "gv"
            let restored = try await stack.sessions.create(spec)
            let r = try await stack.sessions.sh(restored.id, check)
            #expect(r.stdout == expected, "\(r.stdout) \(r.stderr)")
        }
    }
}
