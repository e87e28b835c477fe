import Foundation
import Logging
import PaddockCore
import PaddockSandbox

/// `git status` in a session without stating every file.
///
/// A session's /workspace is a copy-on-write view of a sealed layer whose index matches its files, so what can
/// differ from the index is exactly what the view's upper directory holds — which the sandbox sees, read-only,
/// at `SandboxLayout.workspaceChanges`. The layer's git asks its fsmonitor hook (protocol 2) what changed, and the
/// hook answers with that directory's paths (directories as prefixes, deletions both ways) plus every path it
/// answered before in this session (a file created, added and then deleted leaves the upper directory without a
/// trace). Git then stats only those: a first `git status` on 100,000 files costs what one on a few does, and
/// the sandbox's memory holds no inode for the files it did not touch. Where the directory is missing (a copied
/// workspace) or cannot be read whole, the hook fails, and git stats every file as it would without one.
extension RepositoryCache {
    /// The hook's token: constant, because its answer is always "everything that differs from the layer".
    static let fsmonitorToken = "paddock"
    static let fsmonitorHookName = "paddock-fsmonitor"

    /// The hook, run by git at the top of the worktree as whoever runs git in the sandbox.
    static let fsmonitorHook = """
        #!/bin/sh
        # Paddock: git's fsmonitor hook for a session on a repository layer (see core.fsmonitor).
        # Prints what may differ from the sealed layer: the session's changes, and everything printed before.
        exec 2>/dev/null
        set -e
        state="$PWD/.git/\(fsmonitorHookName)"
        changes=\(SandboxLayout.workspaceChanges)
        # Nothing changed and nothing answered before: answered by the shell alone. `.git` is not the worktree: git's
        # own writes there (the index lock every git status takes, this hook's state) are never reported.
        if [ ! -e "$state-seen" ] && [ -d "$changes" ]; then
            for entry in "$changes"/* "$changes"/.[!.]* "$changes"/..?*; do
                [ "$entry" != "$changes/.git" ] || continue
                if [ -e "$entry" ] || [ -L "$entry" ]; then changed=1; break; fi
            done
            if [ -z "${changed-}" ]; then printf '\(fsmonitorToken)\\0'; exit 0; fi
        fi
        cd "$changes"
        find . -mindepth 1 -path ./.git -prune -o \\( -type d -printf '%P/\\0' \\) \\
            -o \\( -type c -printf '%P\\0%P/\\0' \\) -o -printf '%P\\0' > "$state-new"
        if [ -f "$state-seen" ]; then cat "$state-seen" >> "$state-new"; fi
        sort -zu "$state-new" > "$state-sorted"
        mv -f "$state-sorted" "$state-seen"
        rm -f "$state-new"
        printf '\(fsmonitorToken)\\0'
        cat "$state-seen"

        """

    /// Writes the hook into the checkout's `.git`, points git at it, and records the token in the index with every
    /// entry valid (two `git status` runs with a hook that reports nothing: the first makes the index's fsmonitor
    /// extension and untracked cache, the second sets its token and marks every directory valid), so a session's
    /// first `git status` asks the hook instead of stating files or reading directories.
    static func installFSMonitor(_ workspace: String) async throws {
        let dotGit = "\(workspace)/.git"
        let git = HostGit(workspace, safeDirectory: true)
        let hook = "\(dotGit)/\(fsmonitorHookName)"
        // Atomically: in a layer made from another, the old hook is a link to that layer's.
        try Data(fsmonitorHook.utf8).write(to: URL(fileURLWithPath: hook), options: .atomic)
        try executable(hook)
        let sealing = try writeSealingHook(dotGit)
        for _ in 0..<2 {
            try await git.check(
                await sealingOptions(sealing) + ["status", "--porcelain"], trust: .content,
                "recording the checkout's state for git's fsmonitor")
        }
        try FileManager.default.removeItem(atPath: sealing)
        try relocateUntrackedCache(workspace, to: SandboxLayout.workspace)
        for setting in [
            ["core.fsmonitor", "\(SandboxLayout.workspace)/.git/\(fsmonitorHookName)"],
            ["core.fsmonitorHookVersion", "2"],
        ] {
            try await git.check(["config"] + setting, trust: .content, "configuring the checkout")
        }
        try own(hook)
    }

    /// Options of the server's git runs that record a checkout's state: the sealing hook, and an untracked cache
    /// made as a sandbox's git would make it. Git drops the cache's ignore rules when its excludes file differs from
    /// the one they were made with, so the host's own system-wide one is used, as sandboxes on the host's files see
    /// it (an `/etc/gitconfig` naming `core.excludesFile`); none otherwise, as in most images.
    static func sealingOptions(_ sealing: String) async -> [String] {
        [
            "-c", "core.fsmonitor=\(sealing)", "-c", "core.fsmonitorHookVersion=2", "-c", "core.untrackedCache=true",
            "-c", "core.excludesFile=\(await systemExcludesFile() ?? "/nonexistent/paddock-no-excludes")",
        ]
    }

    /// The host's system-wide `core.excludesFile` when it is an absolute path (a `~` would be another home in a
    /// sandbox); nil when there is none or it cannot be read, which only costs a first `git status` its speed.
    private static func systemExcludesFile() async -> String? {
        do {
            let out = try await HostGit(nil).run(["config", "--system", "--get", "core.excludesFile"], trust: .remote)
            let path = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return out.succeeded && path.hasPrefix("/") ? path : nil
        } catch {
            Logger(label: "paddock.repos").notice(
                "cannot read the host's git configuration; layers are sealed without an excludes file",
                metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Points the checkout's untracked cache at `worktree` (see `GitIndexUntrackedCache`). When it cannot, the
    /// sessions' git reads every directory at its first `git status`: slower, as correct, so that is logged only.
    /// Not `durable` for an index that git rewrites before the layer is published.
    static func relocateUntrackedCache(_ workspace: String, to worktree: String, durable: Bool = true) throws {
        let index = "\(workspace)/.git/index"
        if try !GitIndexUntrackedCache.relocate(index: index, to: worktree, durable: durable) {
            Logger(label: "paddock.repos").notice(
                "the checkout's index has no untracked cache this server can move; git status reads every directory",
                metadata: ["path": "\(index)"])
        }
    }

    /// A hook for the server's own git runs on a checkout being sealed, which nothing else writes: nothing changed
    /// but the `changed` paths (which git then states, instead of trusting its index for them).
    static func writeSealingHook(_ dotGit: String, reporting changed: [String] = []) throws -> String {
        guard !changed.isEmpty else {
            let sealing = "\(dotGit)/\(fsmonitorHookName)-sealing"
            try Data("#!/bin/sh\nprintf '\(fsmonitorToken)\\0'\n".utf8).write(
                to: URL(fileURLWithPath: sealing), options: .atomic)
            try executable(sealing)
            return sealing
        }
        let sealing = "\(dotGit)/\(fsmonitorHookName)-sealing-changes"
        // The answer is a file the hook prints, so no path passes through the shell.
        let answer = ([fsmonitorToken] + changed).map { "\($0)\0" }.joined()
        try Data(answer.utf8).write(to: URL(fileURLWithPath: sealing + ".answer"), options: .atomic)
        let quoted = "'" + (sealing + ".answer").replacingOccurrences(of: "'", with: "'\\''") + "'"
        try Data("#!/bin/sh\nexec cat \(quoted)\n".utf8).write(to: URL(fileURLWithPath: sealing), options: .atomic)
        try executable(sealing)
        return sealing
    }

    private static func executable(_ path: String) throws {
        guard chmod(path, 0o755) == 0 else {
            throw PaddockError.internal("making git's fsmonitor hook executable failed (errno \(errno))")
        }
    }
}
